"""`pull` from other sources and with Go oras's pull flags, against a real registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oras import defaults
from oras.content.memory import MemoryStore
from oras.copy import copy
from oras.descriptor import Descriptor
from oras.provider import Registry

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"
CONFIG = "application/vnd.acme.rocket.config"


def _push(oras_cli, ref: str, tmp_path: Path, *names: str, config: str = "") -> str:
    for name in names:
        (tmp_path / name).write_text(f"content of {name}\n")
    extra = ["--config", config] if config else []
    done = oras_cli("push", ref, *extra, *names, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    digest = oras_cli("resolve", ref)
    assert digest.returncode == 0, digest.stderr
    return digest.stdout.strip()


def _short(desc_or_digest: str) -> str:
    return desc_or_digest.split(":", 1)[1][:12]


def _titled(name: str) -> dict[str, str]:
    return {defaults.annotation_title: name}


def _manifest(store: MemoryStore, layers: list[Descriptor], config: bytes = b"{}") -> Descriptor:
    config_desc = store.push_bytes("application/vnd.oci.image.config.v1+json", config)
    body = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config_desc.to_dict(),
        "layers": [d.to_dict() for d in layers],
    }
    return store.push_bytes(MANIFEST, json.dumps(body).encode())


def _layer(store: MemoryStore, data: bytes, title: str = "") -> Descriptor:
    desc = store.push_bytes(LAYER, data)
    if title:
        desc = Descriptor(LAYER, desc.digest, desc.size, annotations=_titled(title))
    return desc


def _platform_index(client: Registry, registry, repository: str) -> dict[str, str]:
    """An index of two images (linux/amd64, linux/arm64), each with one file `bits.txt`;
    returns the manifest digest per architecture."""
    store = MemoryStore()
    entries = []
    for arch in ("amd64", "arm64"):
        layer = _layer(store, f"bits for {arch}\n".encode(), "bits.txt")
        manifest = _manifest(store, [layer], json.dumps({"architecture": arch}).encode())
        entries.append({**manifest.to_dict(), "platform": {"os": "linux", "architecture": arch}})
    index = store.push_bytes(
        INDEX, json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}).encode()
    )
    store.tag(index, "multi")
    copy(store, "multi", client.repository(f"{registry.host}/{repository}", push=True))
    return {e["platform"]["architecture"]: e["digest"] for e in entries}


def test_library_pull_platform_keyword(registry, unique_repo, tmp_path):
    """`Registry.pull(..., platform=...)`, as text or as a Platform."""
    from oras.manifest import Platform

    client = Registry(hostname=registry.host, insecure=True)
    _platform_index(client, registry, unique_repo)
    ref = registry.ref(unique_repo, "multi")
    written = client.pull(ref, outdir=str(tmp_path / "lib"), platform="linux/arm64")
    assert written == [str(tmp_path / "lib" / "bits.txt")]
    assert (tmp_path / "lib" / "bits.txt").read_text() == "bits for arm64\n"
    client.pull(ref, outdir=str(tmp_path / "lib2"), platform=Platform("linux", "amd64"))
    assert (tmp_path / "lib2" / "bits.txt").read_text() == "bits for amd64\n"
    with pytest.raises(ValueError, match="linux/arm64"):
        client.pull(ref, outdir=str(tmp_path / "lib3"), platform="windows/amd64")


def test_library_pull_reads_through_a_cache(registry, unique_repo, tmp_path):
    """`Registry.pull_manifest` with a cache: the same copy, a cached source."""
    from oras.content.layout import LayoutStore
    from oras.pull import PullOptions

    client = Registry(hostname=registry.host, insecure=True)
    store = MemoryStore()
    layer = _layer(store, b"cached bits", "bits.bin")
    store.tag(_manifest(store, [layer]), "v1")
    copy(store, "v1", client.repository(registry.ref(unique_repo), push=True))
    cache = LayoutStore(tmp_path / "cache")
    events: list[str] = []
    for out in ("one", "two"):
        container, manifest = client.resolve_manifest(registry.ref(unique_repo, "v1"))
        client.pull_manifest(
            container,
            manifest,
            str(tmp_path / out),
            PullOptions(cache=cache, progress=lambda e: events.append(e.status)),
        )
        assert (tmp_path / out / "bits.bin").read_bytes() == b"cached bits"
    assert events == ["started", "done", "restored"]
    assert cache.fetch(layer).read() == b"cached bits"
