"""OCI image layouts between our store and skopeo: each reads what the other writes, as a
directory and as a tar. skopeo only ever sees local transports (oci:, oci-archive:, dir:)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from oras.content.layout import LayoutStore, open_layout
from oras.content.layout_tar import LayoutTarStore
from oras.content.memory import MemoryStore
from oras.copy import copy
from oras.descriptor import Descriptor
from tests.harness.skopeo import Skopeo, skopeo_runner

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def compact(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


@pytest.fixture
def skopeo(tmp_path: Path) -> Skopeo:
    """`run(*args)`: skopeo with an accept-anything policy, no registries.d, a private TMPDIR,
    and only local transports allowed in its arguments."""
    return skopeo_runner(tmp_path / "skopeo-home", text=False, local_only=True)


def _layer(files: dict[str, bytes]) -> bytes:
    """A gzip-compressed tar of `files`, reproducible."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _push_image(store: MemoryStore, architecture: str, text: bytes) -> Descriptor:
    layer = _layer({"etc/motd": text})
    diff_id = sha256(gzip.decompress(layer))
    config = compact(
        {
            "architecture": architecture,
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    )
    config_desc = store.push_bytes(OCI_CONFIG, config)
    layer_desc = store.push_bytes(OCI_LAYER_GZIP, layer)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config_desc.to_dict(),
        "layers": [layer_desc.to_dict()],
    }
    return store.push_bytes(OCI_MANIFEST, compact(manifest))


@pytest.fixture
def images() -> tuple[MemoryStore, Descriptor, Descriptor]:
    """A memory store with an image tagged `v1` and a two-platform index tagged `multi`."""
    store = MemoryStore()
    single = _push_image(store, "amd64", b"single image\n")
    arm64 = _push_image(store, "arm64", b"arm64 image\n")
    entries = [
        {**single.to_dict(), "platform": {"os": "linux", "architecture": "amd64"}},
        {**arm64.to_dict(), "platform": {"os": "linux", "architecture": "arm64"}},
    ]
    index = store.push_bytes(
        OCI_INDEX, compact({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    )
    store.tag(single, "v1")
    store.tag(index, "multi")
    return store, single, index


def _graph(store: Any, root: Descriptor) -> dict[str, bytes]:
    """digest -> bytes of everything under `root` in `store`."""
    found: dict[str, bytes] = {}
    pending = [root]
    while pending:
        node = pending.pop()
        if node.digest in found:
            continue
        with store.fetch(node) as stream:
            data = stream.read()
        assert sha256(data) == node.digest
        found[node.digest] = data
        if node.media_type in (OCI_MANIFEST, OCI_INDEX):
            document = json.loads(data)
            children = document.get("manifests", []) + document.get("layers", [])
            children += [document["config"]] if "config" in document else []
            pending += [Descriptor.from_dict(child) for child in children]
    return found


def _write_ours(path: Path, source: MemoryStore) -> None:
    with open_layout(path, "w") as layout:
        copy(source, "v1", layout)
        copy(source, "multi", layout)


@pytest.mark.parametrize("kind", ["directory", "tar"])
def test_skopeo_reads_the_layouts_we_write(
    tmp_path: Path, skopeo: Skopeo, images: tuple[MemoryStore, Descriptor, Descriptor], kind: str
) -> None:
    source, single, index = images
    if kind == "directory":
        ours = tmp_path / "ours"
        transport = f"oci:{ours}"
    else:
        ours = tmp_path / "ours.tar"
        transport = f"oci-archive:{ours}"
    _write_ours(ours, source)

    raw = skopeo("inspect", "--raw", f"{transport}:v1").stdout
    assert raw == source.fetch(single).read()
    raw = skopeo("inspect", "--raw", f"{transport}:multi").stdout
    assert raw == source.fetch(index).read()

    # skopeo copies the image out to a plain directory, and the index to a layout of its own.
    skopeo("copy", "--preserve-digests", f"{transport}:v1", f"dir:{tmp_path / 'plain'}")
    assert (tmp_path / "plain" / "manifest.json").read_bytes() == source.fetch(single).read()
    for digest, data in _graph(source, single).items():
        if digest != single.digest:
            assert (tmp_path / "plain" / digest.split(":")[1]).read_bytes() == data
    copied = tmp_path / "copied"
    skopeo("copy", "--all", "--preserve-digests", f"{transport}:multi", f"oci:{copied}:multi")
    [entry] = json.loads((copied / "index.json").read_bytes())["manifests"]
    assert entry["digest"] == index.digest
    for digest, data in _graph(source, index).items():
        assert (copied / "blobs" / "sha256" / digest.split(":")[1]).read_bytes() == data


def test_we_read_the_layouts_skopeo_writes(
    tmp_path: Path, skopeo: Skopeo, images: tuple[MemoryStore, Descriptor, Descriptor]
) -> None:
    source, single, index = images
    ours = tmp_path / "ours"
    _write_ours(ours, source)
    theirs_dir = tmp_path / "theirs"
    theirs_tar = tmp_path / "theirs.tar"
    for transport in (f"oci:{theirs_dir}", f"oci-archive:{theirs_tar}"):
        skopeo("copy", "--preserve-digests", f"oci:{ours}:v1", f"{transport}:v2")
    skopeo("copy", "--all", "--preserve-digests", f"oci:{ours}:multi", f"oci:{theirs_dir}:m")
    # From skopeo's own `dir:` copy, too: a source that is not an OCI layout at all.
    skopeo("copy", "--preserve-digests", f"oci:{ours}:v1", f"dir:{tmp_path / 'plain'}")
    skopeo("copy", "--preserve-digests", f"dir:{tmp_path / 'plain'}", f"oci:{theirs_dir}:v3")

    layout = LayoutStore(theirs_dir, read_only=True)
    layout.validate()
    assert list(layout.tags()) == ["m", "v2", "v3"]
    for tag, root in (("v2", single), ("v3", single), ("m", index)):
        assert layout.resolve(tag).digest == root.digest
        back = MemoryStore()
        assert copy(layout, tag, back).digest == root.digest
        assert _graph(back, root) == _graph(source, root)

    with LayoutTarStore(theirs_tar) as archive:
        archive.validate()
        assert list(archive.tags()) == ["v2"]
        back = MemoryStore()
        assert copy(archive, "v2", back).digest == single.digest
        assert _graph(back, single) == _graph(source, single)
        # And the tar can be written to: our tag on skopeo's archive, read back by skopeo.
    with LayoutTarStore(theirs_tar, "w") as archive:
        archive.tag(archive.resolve("v2"), "ours-too")
    raw = skopeo("inspect", "--raw", f"oci-archive:{theirs_tar}:ours-too").stdout
    assert raw == source.fetch(single).read()
