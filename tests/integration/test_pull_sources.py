"""`pull` from other sources and with Go oras's pull flags, against a real registry: OCI
layouts (directory and tar) as the source, `--platform` on a multi-platform index, `--config`,
and the `ORAS_CACHE` content cache (a second pull downloads no blob)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oras import defaults
from oras.content.layout import open_layout
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


# -- OCI layouts as the source ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["dir", "tar"])
def test_pull_from_an_oci_layout_writes_the_files_without_a_registry(
    oras_cli, registry, unique_repo, tmp_path, kind
):
    src = tmp_path / "src"
    src.mkdir()
    ref = registry.ref(unique_repo, "v1")
    digest = _push(oras_cli, ref, src, "a.txt", "b.txt")
    layout = tmp_path / ("layout.tar" if kind == "tar" else "layout")
    copied = oras_cli("cp", "--to-oci-layout", ref, f"{layout}:v1")
    assert copied.returncode == 0, copied.stderr

    out = tmp_path / "out"
    pulled = oras_cli("pull", "--oci-layout", f"{layout}:v1", "-o", str(out))
    assert pulled.returncode == 0, pulled.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]
    assert (out / "b.txt").read_text() == "content of b.txt\n"
    assert f"Successfully pulled {out / 'a.txt'}." in pulled.stderr
    with open_layout(layout) as store:
        layers = json.loads(store.fetch(store.resolve("v1")).read())["layers"]
    for layer in layers:
        name = layer["annotations"][defaults.annotation_title]
        assert f"Downloading {_short(layer['digest'])} {name}" in pulled.stderr
        assert f"Downloaded  {_short(layer['digest'])} {name}" in pulled.stderr
    assert pulled.stdout == ""

    by_digest = tmp_path / "by-digest"
    again = oras_cli("pull", "--oci-layout", f"{layout}@{digest}", "-o", str(by_digest))
    assert again.returncode == 0, again.stderr
    assert (by_digest / "a.txt").read_text() == "content of a.txt\n"

    by_path = tmp_path / "by-path"
    path_form = oras_cli("pull", "--oci-layout-path", str(layout), "v1", "-o", str(by_path))
    assert path_form.returncode == 0, path_form.stderr
    assert sorted(p.name for p in by_path.iterdir()) == ["a.txt", "b.txt"]

    single = oras_cli("pull", "--oci-layout", f"{layout}:v1", "-o", "-")
    assert single.returncode == 1 and "exactly one file" in single.stderr

    missing = oras_cli("pull", "--oci-layout", f"{layout}:nope", "-o", str(tmp_path / "none"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: ") and "nope" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_pull_from_a_layout_keeps_the_file_rules(oras_cli, tmp_path):
    """Untitled layers are skipped, a title leaving the output directory is refused before
    anything is written, and content that does not match its digest is never written."""
    store = MemoryStore()
    good = _layer(store, b"fine\n", "good.txt")
    untitled = _layer(store, b"no name")
    store.tag(_manifest(store, [good, untitled]), "ok")
    store.tag(_manifest(store, [good, _layer(store, b"evil", "../evil.txt")]), "escape")
    layout = tmp_path / "layout"
    with open_layout(layout, "w") as target:
        for tag in ("ok", "escape"):
            copy(store, tag, target)

    out = tmp_path / "out"
    pulled = oras_cli("pull", "--oci-layout", f"{layout}:ok", "-o", str(out))
    assert pulled.returncode == 0, pulled.stderr
    assert [p.name for p in out.iterdir()] == ["good.txt"]
    assert f"Skipped     {_short(untitled.digest)} {LAYER}" in pulled.stderr

    refused = oras_cli("pull", "--oci-layout", f"{layout}:escape", "-o", str(tmp_path / "o2"))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "o2" / "good.txt").exists()

    # A blob of the layout altered on disk: refused, and no file is left behind.
    blob = layout / "blobs" / "sha256" / good.digest.split(":", 1)[1]
    blob.write_bytes(b"FINE\n")
    corrupt = oras_cli("pull", "--oci-layout", f"{layout}:ok", "-o", str(tmp_path / "o3"))
    assert corrupt.returncode == 1 and "digest" in corrupt.stderr
    assert not (tmp_path / "o3" / "good.txt").exists()


# -- --platform -----------------------------------------------------------------------------------
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


def test_pull_platform_picks_the_entry_of_an_index(oras_cli, registry, unique_repo, tmp_path):
    client = Registry(hostname=registry.host, insecure=True)
    _platform_index(client, registry, unique_repo)
    ref = registry.ref(unique_repo, "multi")
    for arch in ("arm64", "amd64"):
        out = tmp_path / arch
        pulled = oras_cli("pull", "--platform", f"linux/{arch}", ref, "-o", str(out))
        assert pulled.returncode == 0, pulled.stderr
        assert (out / "bits.txt").read_text() == f"bits for {arch}\n"

    none = oras_cli("pull", "--platform", "linux/s390x", ref, "-o", str(tmp_path / "none"))
    assert none.returncode == 1 and "Traceback" not in none.stderr
    first = none.stderr.splitlines()[0]
    assert first.startswith("Error: ") and "linux/s390x" in first
    assert "linux/amd64" in first and "linux/arm64" in first
    assert not (tmp_path / "none").exists()

    bad = oras_cli("pull", "--platform", "linux", ref, "-o", str(tmp_path / "bad"))
    assert bad.returncode != 0 and "os/arch" in bad.stderr and "Traceback" not in bad.stderr

    stdout = oras_cli("pull", "--platform", "linux/arm64", ref, "-o", "-")
    assert stdout.returncode == 0 and stdout.stdout == "bits for arm64\n"


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


def test_pull_platform_from_a_layout(oras_cli, registry, unique_repo, tmp_path):
    client = Registry(hostname=registry.host, insecure=True)
    _platform_index(client, registry, unique_repo)
    layout = tmp_path / "layout"
    copied = oras_cli("cp", "--to-oci-layout", registry.ref(unique_repo, "multi"), f"{layout}:m")
    assert copied.returncode == 0, copied.stderr
    out = tmp_path / "out"
    pulled = oras_cli("pull", "--oci-layout", "--platform", "linux/arm64", f"{layout}:m", "-o", out)
    assert pulled.returncode == 0, pulled.stderr
    assert (out / "bits.txt").read_text() == "bits for arm64\n"
    none = oras_cli("pull", "--oci-layout", "--platform", "linux/ppc64le", f"{layout}:m")
    assert none.returncode == 1 and "linux/amd64, linux/arm64" in none.stderr


# -- --config -------------------------------------------------------------------------------------
def test_pull_config_writes_the_config_blob_verified(oras_cli, registry, unique_repo, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "rocket.json").write_text('{"fuel": "lots"}')
    ref = registry.ref(unique_repo, "v1")
    _push(oras_cli, ref, src, "a.txt", config=f"rocket.json:{CONFIG}")

    out = tmp_path / "out"
    pulled = oras_cli("pull", ref, "-o", str(out), "--config", "meta/config.json")
    assert pulled.returncode == 0, pulled.stderr
    assert (out / "meta" / "config.json").read_text() == '{"fuel": "lots"}'
    assert (out / "a.txt").is_file()
    assert "Downloaded " in pulled.stderr and "meta/config.json" in pulled.stderr

    # The historical name, with the media type as a filter.
    legacy = tmp_path / "legacy"
    matched = oras_cli(
        "pull", ref, "-o", str(legacy), "--manifest-config-ref", f"cfg.json:{CONFIG}"
    )
    assert matched.returncode == 0, matched.stderr
    assert (legacy / "cfg.json").read_text() == '{"fuel": "lots"}'
    other = tmp_path / "other"
    skipped = oras_cli("pull", ref, "-o", str(other), "--config", "cfg.json:application/other")
    assert skipped.returncode == 0, skipped.stderr
    assert not (other / "cfg.json").exists() and (other / "a.txt").is_file()
    assert "is not written" in skipped.stderr

    escape = oras_cli("pull", ref, "-o", str(tmp_path / "e"), "--config", "../outside.json")
    assert escape.returncode == 1 and "Traceback" not in escape.stderr
    assert not (tmp_path / "outside.json").exists()


# -- ORAS_CACHE -----------------------------------------------------------------------------------
def test_oras_cache_second_pull_downloads_no_blob(oras_cli, fault_proxy, unique_repo, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    ref = f"{fault_proxy.host}/{unique_repo}:v1"
    _push(oras_cli, ref, src, "a.txt", "b.txt")
    cache = tmp_path / "cache"
    env = {"ORAS_CACHE": str(cache)}

    fault_proxy.clear()
    first = oras_cli("pull", ref, "-o", str(tmp_path / "one"), env=env)
    assert first.returncode == 0, first.stderr
    assert len(fault_proxy.log("GET", r"/blobs/")) == 2
    assert "Restored" not in first.stderr
    assert (cache / "oci-layout").is_file()  # the cache is an OCI layout

    fault_proxy.clear()
    second = oras_cli("pull", ref, "-o", str(tmp_path / "two"), "--config", "c.json", env=env)
    assert second.returncode == 0, second.stderr
    # The config was never pulled before: only it is downloaded.
    blobs = fault_proxy.log("GET", r"/blobs/")
    assert len(blobs) == 1
    for name in ("a.txt", "b.txt"):
        assert (tmp_path / "two" / name).read_text() == f"content of {name}\n"
        assert any(
            line.startswith("Restored    ") and line.endswith(f" {name}")
            for line in second.stderr.splitlines()
        )
    assert "Downloading" not in "".join(
        line for line in second.stderr.splitlines() if line.endswith("txt")
    )

    fault_proxy.clear()
    third = oras_cli("pull", ref, "-o", str(tmp_path / "three"), "--config", "c.json", env=env)
    assert third.returncode == 0, third.stderr
    assert fault_proxy.log("GET", r"/blobs/") == []
    assert (tmp_path / "three" / "c.json").is_file()

    # Without ORAS_CACHE the pull downloads again and prints what it always printed.
    fault_proxy.clear()
    plain = oras_cli("pull", ref, "-o", str(tmp_path / "four"))
    assert plain.returncode == 0, plain.stderr
    assert len(fault_proxy.log("GET", r"/blobs/")) == 2
    assert "Restored" not in plain.stderr


def test_oras_cache_that_is_a_file_is_refused(oras_cli, registry, unique_repo, tmp_path):
    (tmp_path / "not-a-dir").write_text("x")
    done = oras_cli(
        "pull",
        registry.ref(unique_repo, "v1"),
        env={"ORAS_CACHE": str(tmp_path / "not-a-dir")},
    )
    assert done.returncode == 2 and "ORAS_CACHE" in done.stderr


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
