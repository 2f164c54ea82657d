"""Interoperability with skopeo, an independent client: each side reads what the other wrote."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import oras.client
import oras.utils
from tests.harness.registry import RegistryServer
from tests.harness.skopeo import TIMEOUT, Skopeo, skopeo_runner

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
REF_NAME = "org.opencontainers.image.ref.name"
TITLE = "org.opencontainers.image.title"


def sha256(data: bytes) -> str:
    """The OCI digest of `data`."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_path(layout: Path, digest: str) -> Path:
    """Where an OCI image layout keeps the blob `digest`."""
    algorithm, _, encoded = digest.partition(":")
    return layout / "blobs" / algorithm / encoded


def canonical_json(obj: Any) -> bytes:
    """Compact, key-sorted JSON bytes, as Go clients write manifests."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


@pytest.fixture
def skopeo(tmp_path: Path) -> Skopeo:
    """Return `run(*args)`: skopeo with an accept-anything policy and no system registries.d."""
    return skopeo_runner(tmp_path / "skopeo")


def registry_manifest(
    registry: RegistryServer, repo: str, ref: str, accept: str
) -> requests.Response:
    """The manifest exactly as the registry serves it, fetched without our library."""
    response = requests.get(
        f"{registry.url}/v2/{repo}/manifests/{ref}", headers={"Accept": accept}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response


# -- oras pushes, skopeo copies out --------------------------------------------------------


def test_skopeo_copies_artifact_pushed_by_oras(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, skopeo: Skopeo
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    files = {
        "rocket.tar": (
            b"\x00\x01 rocket parts \xff" * 100,
            "application/vnd.acme.rocket.parts.v1.tar",
        ),
        "docs.md": (b"# Rocket\n\nLaunch it.\n", "application/vnd.acme.rocket.docs.v1+markdown"),
    }
    for name, (data, _) in files.items():
        (src / name).write_bytes(data)
    config_bytes = b'{"rocket": "saturn-v", "stages": 3}'
    (src / "config.json").write_bytes(config_bytes)
    config_type = "application/vnd.acme.rocket.config.v1+json"

    target = f"{registry.host}/{unique_repo}:v1"
    client = oras.client.OrasClient(insecure=True)
    with oras.utils.workdir(src):
        pushed = client.push(
            target=target,
            files=[f"{name}:{media_type}" for name, (_, media_type) in files.items()],
            manifest_config=f"config.json:{config_type}",
            manifest_annotations={"org.opencontainers.image.description": "a rocket"},
        )
    assert pushed.status_code == 201
    served = registry_manifest(registry, unique_repo, "v1", OCI_MANIFEST)
    manifest_digest = sha256(served.content)
    assert pushed.headers["Docker-Content-Digest"] == manifest_digest
    assert served.headers["Docker-Content-Digest"] == manifest_digest

    layout = tmp_path / "layout"
    skopeo(
        "copy",
        "--src-tls-verify=false",
        f"docker://{target}",
        f"oci:{layout}:v1",
    )

    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    assert index["schemaVersion"] == 2
    [entry] = index["manifests"]
    assert entry["annotations"][REF_NAME] == "v1"
    assert entry["mediaType"] == OCI_MANIFEST
    assert entry["digest"] == manifest_digest
    assert entry["size"] == len(served.content)
    # skopeo stored the very bytes the registry serves: nothing was re-serialised on either side.
    assert blob_path(layout, manifest_digest).read_bytes() == served.content

    manifest = json.loads(served.content)
    assert manifest["config"]["mediaType"] == config_type
    assert manifest["config"]["digest"] == sha256(config_bytes)
    assert blob_path(layout, manifest["config"]["digest"]).read_bytes() == config_bytes
    assert [layer["annotations"][TITLE] for layer in manifest["layers"]] == list(files)
    for layer in manifest["layers"]:
        data, media_type = files[layer["annotations"][TITLE]]
        assert layer["mediaType"] == media_type
        assert layer["digest"] == sha256(data)
        assert layer["size"] == len(data)
        assert blob_path(layout, layer["digest"]).read_bytes() == data
    stored = {p.name for p in (layout / "blobs" / "sha256").iterdir()}
    expected = {d.partition(":")[2] for d in [manifest_digest, manifest["config"]["digest"]]}
    expected |= {layer["digest"].partition(":")[2] for layer in manifest["layers"]}
    assert stored == expected
    # And our own reader agrees with what skopeo saw.
    assert client.get_manifest(target) == json.loads(
        blob_path(layout, manifest_digest).read_bytes()
    )


# -- skopeo pushes, oras reads ----------------------------------------------------------


@dataclass
class Image:
    """A one-layer OCI image written as an OCI image layout."""

    layout: Path
    tag: str
    layer: bytes
    config: bytes
    manifest: bytes

    @property
    def manifest_digest(self) -> str:
        return sha256(self.manifest)


#: The layer's regular files (path -> content, mode), as a small root filesystem has them.
IMAGE_FILES = {
    "etc/motd": (b"hello from a skopeo-pushed image\n", 0o644),
    "usr/bin/hello": (b"#!/bin/sh\ncat /etc/motd\n", 0o755),
}
#: Symbolic links (path -> target) and hard links (path -> linked member) in the layer.
IMAGE_SYMLINKS = {"bin": "usr/bin", "etc/motd.link": "motd"}
IMAGE_HARDLINKS = {"usr/bin/hi": "usr/bin/hello"}


def _image_tar(motd: bytes) -> bytes:
    """The layer's uncompressed tar: directories, files, links, owned by root as in real images."""
    buffer = io.BytesIO()
    files = {**IMAGE_FILES, "etc/motd": (motd, IMAGE_FILES["etc/motd"][1])}

    def add(tar: tarfile.TarFile, info: tarfile.TarInfo, data: bytes = b"") -> None:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = 1700000000
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data) if data else None)

    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("etc", "usr", "usr/bin"):
            info = tarfile.TarInfo(directory + "/")
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            add(tar, info)
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.mode = mode
            add(tar, info, data)
        for name, target in IMAGE_SYMLINKS.items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
            add(tar, info)
        for name, target in IMAGE_HARDLINKS.items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode = tarfile.LNKTYPE, target, 0o755
            add(tar, info)
    return buffer.getvalue()


def _write_blob(layout: Path, data: bytes) -> dict[str, Any]:
    """Store `data` under the layout's blobs/; returns its digest and size."""
    path = blob_path(layout, sha256(data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": sha256(data), "size": len(data)}


def _write_image(layout: Path, architecture: str, motd: bytes) -> Image:
    """A real image's blobs: gzip'd tar layer, config with its rootfs diff_ids, manifest."""
    tar_bytes = _image_tar(motd)
    layer = gzip.compress(tar_bytes, mtime=0)
    config = canonical_json(
        {
            "architecture": architecture,
            "os": "linux",
            "config": {"Cmd": ["/usr/bin/hello"]},
            "created": "2024-01-01T00:00:00Z",
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "test_skopeo.py"}],
            "rootfs": {"type": "layers", "diff_ids": [sha256(tar_bytes)]},
        }
    )
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, **_write_blob(layout, config)},
            "layers": [{"mediaType": OCI_LAYER_GZIP, **_write_blob(layout, layer)}],
        }
    )
    _write_blob(layout, manifest)
    return Image(layout, "", layer, config, manifest)


def _write_layout_index(layout: Path, tag: str, media_type: str, manifest: bytes) -> None:
    """`oci-layout` and an `index.json` whose one entry, named `tag`, is `manifest`."""
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    entry = {"mediaType": media_type, "digest": sha256(manifest), "size": len(manifest)}
    index = {"schemaVersion": 2, "manifests": [{**entry, "annotations": {REF_NAME: tag}}]}
    (layout / "index.json").write_bytes(canonical_json(index))


def build_image_layout(layout: Path, tag: str) -> Image:
    """An OCI image layout holding one single-platform (linux/amd64) image tagged `tag`."""
    image = _write_image(layout, "amd64", IMAGE_FILES["etc/motd"][0])
    image.tag = tag
    _write_layout_index(layout, tag, OCI_MANIFEST, image.manifest)
    return image


@pytest.fixture
def image(tmp_path: Path) -> Image:
    return build_image_layout(tmp_path / "image-layout", "1.0")


def test_oras_pulls_oci_image_pushed_by_skopeo(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, skopeo: Skopeo, image: Image
) -> None:
    target = f"{registry.host}/{unique_repo}:1.0"
    skopeo(
        "copy", "--dest-tls-verify=false", f"oci:{image.layout}:{image.tag}", f"docker://{target}"
    )
    served = registry_manifest(registry, unique_repo, "1.0", OCI_MANIFEST)
    assert served.content == image.manifest  # skopeo pushed our layout's manifest unchanged

    client = oras.client.OrasClient(insecure=True)
    manifest = client.get_manifest(target)
    assert manifest == json.loads(image.manifest)
    assert client.get_manifest(f"{registry.host}/{unique_repo}@{image.manifest_digest}") == manifest

    config = client.get_blob(target, manifest["config"]["digest"])
    assert config.status_code == 200
    assert config.content == image.config
    layer_digest = manifest["layers"][0]["digest"]
    assert client.get_blob(target, layer_digest).content == image.layer

    outdir = tmp_path / "pulled"
    paths = client.pull(target=target, outdir=str(outdir))
    # An untitled layer is named after its digest; a tar+gzip layer is unpacked beside it.
    assert paths == [str(outdir / layer_digest)]
    for name, (data, mode) in IMAGE_FILES.items():
        assert (outdir / name).read_bytes() == data
        assert (outdir / name).stat().st_mode & 0o777 == mode
    for name, target in IMAGE_SYMLINKS.items():
        assert os.readlink(outdir / name) == target
    for name, target in IMAGE_HARDLINKS.items():
        assert (outdir / name).read_bytes() == (outdir / target).read_bytes()
    assert (outdir / "bin" / "hello").read_bytes() == IMAGE_FILES["usr/bin/hello"][0]
    # Only the root filesystem: the downloaded tarball and staging dirs are gone.
    assert sorted(os.listdir(outdir)) == ["bin", "etc", "usr"]


def test_oras_reads_docker_v2s2_manifest_pushed_by_skopeo(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, skopeo: Skopeo, image: Image
) -> None:
    target = f"{registry.host}/{unique_repo}:v2s2"
    skopeo(
        "copy",
        "--format",
        "v2s2",
        "--dest-tls-verify=false",
        f"oci:{image.layout}:{image.tag}",
        f"docker://{target}",
    )
    served = registry_manifest(registry, unique_repo, "v2s2", DOCKER_MANIFEST)
    assert served.headers["Content-Type"] == DOCKER_MANIFEST

    client = oras.client.OrasClient(insecure=True)
    manifest = client.get_manifest(target)
    assert manifest == json.loads(served.content)
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == DOCKER_MANIFEST
    assert manifest["config"]["mediaType"] == DOCKER_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [DOCKER_LAYER_GZIP]
    # The conversion only renames media types: the blobs are the OCI image's.
    assert manifest["layers"][0]["digest"] == sha256(image.layer)
    assert client.get_manifest(target, allowed_media_type=[DOCKER_MANIFEST]) == manifest

    config = client.get_blob(target, manifest["config"]["digest"])
    assert config.status_code == 200
    assert config.content == image.config
    assert manifest["config"]["digest"] == sha256(image.config)

    # A Docker layer is not an OCI tar+gzip: it is saved as is, under its digest.
    outdir = tmp_path / "pulled"
    layer_digest = manifest["layers"][0]["digest"]
    assert client.pull(target=target, outdir=str(outdir)) == [str(outdir / layer_digest)]
    assert (outdir / layer_digest).read_bytes() == image.layer
    assert sorted(os.listdir(outdir)) == [layer_digest]


def test_skopeo_reads_manifest_tagged_by_oras_from_exact_bytes(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, skopeo: Skopeo, image: Image
) -> None:
    """skopeo pushes; we tag the manifest's exact bytes anew; skopeo copies that tag out intact."""
    target = f"{registry.host}/{unique_repo}:1.0"
    skopeo(
        "copy", "--dest-tls-verify=false", f"oci:{image.layout}:{image.tag}", f"docker://{target}"
    )
    # Our library tags the same manifest under a second name, by its exact bytes.
    client = oras.client.OrasClient(insecure=True)
    response = client.upload_manifest(image.manifest, client.get_container(f"{target}-copy"))
    assert response.status_code == 201
    assert response.headers["Docker-Content-Digest"] == image.manifest_digest

    layout = tmp_path / "copied"
    skopeo("copy", "--src-tls-verify=false", f"docker://{target}-copy", f"oci:{layout}:copy")
    [entry] = json.loads((layout / "index.json").read_text())["manifests"]
    assert entry["digest"] == image.manifest_digest
    for blob in (image.manifest, image.config, image.layer):
        assert blob_path(layout, sha256(blob)).read_bytes() == blob


def _host_architecture() -> str:
    """This machine's architecture in OCI platform terms."""
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def test_oras_pulls_host_platform_from_index_pushed_by_skopeo(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, skopeo: Skopeo
) -> None:
    layout = tmp_path / "index-layout"
    host = _host_architecture()
    other = "s390x" if host != "s390x" else "ppc64le"
    images = {
        arch: _write_image(layout, arch, f"motd for {arch}\n".encode()) for arch in (other, host)
    }
    index = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    **_write_blob(layout, image.manifest),
                    "platform": {"architecture": arch, "os": "linux"},
                }
                for arch, image in images.items()
            ],
        }
    )
    _write_blob(layout, index)
    _write_layout_index(layout, "multi", OCI_INDEX, index)

    target = f"{registry.host}/{unique_repo}:multi"
    skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{layout}:multi", f"docker://{target}")
    assert registry_manifest(registry, unique_repo, "multi", OCI_INDEX).content == index

    client = oras.client.OrasClient(insecure=True)
    assert client.get_manifest(target) == json.loads(index)
    outdir = tmp_path / "pulled"
    paths = client.pull(target=target, outdir=str(outdir))
    chosen = images[host]
    assert paths == [str(outdir / sha256(chosen.layer))]
    assert (outdir / "etc" / "motd").read_bytes() == f"motd for {host}\n".encode()
