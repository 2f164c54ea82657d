"""`cp`, `tag` and `resolve` on the copy engine, against two real Distribution registries."""

from __future__ import annotations

import json
from pathlib import Path

from oras.content.memory import MemoryStore
from oras.copy import CopyOptions, copy
from oras.provider import Registry


def _push(oras_cli, ref: str, tmp_path: Path, *names: str) -> str:
    for name in names:
        (tmp_path / name).write_text(f"content of {name}\n")
    done = oras_cli("push", ref, *names)
    assert done.returncode == 0, done.stderr
    digest = oras_cli("resolve", ref)
    assert digest.returncode == 0, digest.stderr
    return digest.stdout.strip()


def _manifest(registry, repository: str, reference: str) -> bytes:
    client = Registry(hostname=registry.host, insecure=True)
    body, _, _ = client.fetch_manifest(f"{registry.host}/{repository}:{reference}")
    return body


def test_resolve_prints_the_digest_and_the_full_reference(
    oras_cli, registry, unique_repo, tmp_path
):
    ref = registry.ref(unique_repo, "v1")
    digest = _push(oras_cli, ref, tmp_path, "a.txt")
    assert digest.startswith("sha256:") and len(digest) == 71
    full = oras_cli("resolve", "-l", ref)
    assert full.stdout == f"{registry.host}/{unique_repo}@{digest}\n"
    alias = oras_cli("digest", ref)
    assert alias.stdout.strip() == digest
    missing = oras_cli("resolve", registry.ref(unique_repo, "nope"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: ") and "nope: not found" in missing.stderr
    assert len(missing.stderr.splitlines()) == 1


def test_tag_adds_tags_that_resolve_to_the_same_manifest(oras_cli, registry, unique_repo, tmp_path):
    ref = registry.ref(unique_repo, "v1")
    digest = _push(oras_cli, ref, tmp_path, "a.txt")
    tagged = oras_cli("tag", ref, "v2", "stable")
    assert tagged.returncode == 0, tagged.stderr
    lines = tagged.stdout.splitlines()
    assert lines[0] == f"Tagging [registry] {ref}"
    assert sorted(lines[1:]) == ["Tagged stable", "Tagged v2"]
    for tag in ("v2", "stable"):
        assert oras_cli("resolve", registry.ref(unique_repo, tag)).stdout.strip() == digest
    bad = oras_cli("tag", ref, "-bad")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_cp_between_registries_copies_every_blob_and_extra_tags(
    oras_cli, registry, second_registry, unique_repo, tmp_path
):
    src = registry.ref(unique_repo, "v1")
    digest = _push(oras_cli, src, tmp_path, "a.txt", "b.txt")
    dst = f"{second_registry.host}/{unique_repo}:copied,also"
    done = oras_cli("cp", src, dst)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-3:] == [
        f"Copied [registry] {src} => [registry] {second_registry.host}/{unique_repo}:copied",
        "Tagged also",
        f"Digest: {digest}",
    ]
    assert sum(line.startswith("Copied  ") for line in lines) == 4  # config, 2 files, manifest
    for tag in ("copied", "also"):
        assert _manifest(second_registry, unique_repo, tag) == _manifest(
            registry, unique_repo, "v1"
        )
    out = tmp_path / "out"
    pulled = oras_cli("pull", f"{second_registry.host}/{unique_repo}:copied", "-o", str(out))
    assert pulled.returncode == 0, pulled.stderr
    assert (out / "b.txt").read_text() == "content of b.txt\n"
    again = oras_cli("cp", src, dst)
    assert again.returncode == 0
    assert again.stdout.splitlines()[0].startswith("Exists  ")


def test_cp_without_a_destination_tag_keeps_the_source_tag(
    oras_cli, registry, second_registry, unique_repo, tmp_path
):
    src = registry.ref(unique_repo, "keep")
    digest = _push(oras_cli, src, tmp_path, "a.txt")
    done = oras_cli("cp", src, f"{second_registry.host}/{unique_repo}")
    assert done.returncode == 0, done.stderr
    assert (
        oras_cli("resolve", f"{second_registry.host}/{unique_repo}:keep").stdout.strip() == digest
    )


def test_cp_within_one_registry_mounts_instead_of_uploading(
    oras_cli, fault_proxy, unique_repo, tmp_path
):
    src = f"{fault_proxy.host}/{unique_repo}:v1"
    _push(oras_cli, src, tmp_path, "big.txt")
    fault_proxy.clear()
    done = oras_cli("cp", src, f"{fault_proxy.host}/{unique_repo}-mirror:v1")
    assert done.returncode == 0, done.stderr
    assert sum(line.startswith("Mounted ") for line in done.stdout.splitlines()) == 2
    posts = fault_proxy.log("POST", r"/blobs/uploads/")
    assert posts and all("mount=" in p.query for p in posts)
    assert fault_proxy.log("PUT", r"/blobs/uploads/") == []
    assert fault_proxy.log("PATCH") == []


def _image_index(client: Registry, registry, repository: str) -> tuple[str, dict[str, str]]:
    """Push two single-file images and an index of them (linux/amd64, linux/arm64)."""
    store = MemoryStore()
    entries = []
    for arch in ("amd64", "arm64"):
        config = store.push_bytes(
            "application/vnd.oci.image.config.v1+json",
            json.dumps({"architecture": arch, "os": "linux"}).encode(),
        )
        layer = store.push_bytes(
            "application/vnd.oci.image.layer.v1.tar", f"bits for {arch}".encode()
        )
        manifest = store.push_bytes(
            "application/vnd.oci.image.manifest.v1+json",
            json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": config.to_dict(),
                    "layers": [layer.to_dict()],
                }
            ).encode(),
        )
        entries.append({**manifest.to_dict(), "platform": {"os": "linux", "architecture": arch}})
    index = store.push_bytes(
        "application/vnd.oci.image.index.v1+json",
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": entries,
            }
        ).encode(),
    )
    store.tag(index, "multi")
    repo = client.repository(f"{registry.host}/{repository}", push=True)
    copy(store, "multi", repo)
    return index.digest, {e["platform"]["architecture"]: e["digest"] for e in entries}


def test_cp_of_a_multi_platform_index_whole_and_by_platform(
    oras_cli, registry, second_registry, unique_repo
):
    client = Registry(hostname=registry.host, insecure=True)
    index_digest, by_arch = _image_index(client, registry, unique_repo)
    src = registry.ref(unique_repo, "multi")
    whole = oras_cli("cp", src, f"{second_registry.host}/{unique_repo}:whole")
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.splitlines()[-1] == f"Digest: {index_digest}"
    for digest in by_arch.values():
        assert oras_cli("resolve", f"{second_registry.host}/{unique_repo}@{digest}").returncode == 0
    one = oras_cli(
        "cp", "--platform", "linux/arm64", src, f"{second_registry.host}/{unique_repo}-arm:v1"
    )
    assert one.returncode == 0, one.stderr
    assert one.stdout.splitlines()[-1] == f"Digest: {by_arch['arm64']}"
    amd = oras_cli("resolve", f"{second_registry.host}/{unique_repo}-arm@{by_arch['amd64']}")
    assert amd.returncode == 1
    resolved = oras_cli("resolve", "--platform", "linux/amd64", src)
    assert resolved.stdout.strip() == by_arch["amd64"]
    none = oras_cli(
        "cp", "--platform", "linux/s390x", src, f"{second_registry.host}/{unique_repo}-x:v1"
    )
    assert none.returncode == 1 and "linux/amd64" in none.stderr and "linux/arm64" in none.stderr


def test_library_copy_between_repositories_streams_and_verifies(
    registry, second_registry, unique_repo
):
    src_client = Registry(hostname=registry.host, insecure=True)
    dst_client = Registry(hostname=second_registry.host, insecure=True)
    store = MemoryStore()
    layer = store.push_bytes("application/vnd.oci.image.layer.v1.tar", b"x" * 100_000)
    config = store.push_bytes("application/vnd.oci.empty.v1+json", b"{}")
    manifest = store.push_bytes(
        "application/vnd.oci.image.manifest.v1+json",
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config.to_dict(),
                "layers": [layer.to_dict()],
            }
        ).encode(),
    )
    store.tag(manifest, "v1")
    copy(store, "v1", src_client.repository(registry.ref(unique_repo), push=True))
    seen: list[int] = []
    root = copy(
        src_client.repository(registry.ref(unique_repo, "v1")),
        "v1",
        dst_client.repository(f"{second_registry.host}/{unique_repo}", push=True),
        "v9",
        CopyOptions(on_bytes=lambda d, n: seen.append(n)),
    )
    assert root.digest == manifest.digest
    assert sum(seen) == 100_002
    back = MemoryStore()
    copy(dst_client.repository(f"{second_registry.host}/{unique_repo}"), "v9", back)
    assert back.fetch(layer).read() == b"x" * 100_000


def test_push_with_several_tags_and_an_exported_manifest(oras_cli, registry, unique_repo, tmp_path):
    (tmp_path / "a.txt").write_text("a\n")
    ref = registry.ref(unique_repo, "v1,latest,stable")
    done = oras_cli("push", ref, "a.txt", "--export-manifest", "manifest.json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sorted(line for line in lines if line.startswith("Tagged ")) == [
        "Tagged latest",
        "Tagged stable",
    ]
    assert lines[-1] == f"Successfully pushed {registry.ref(unique_repo, 'v1')}"
    exported = (tmp_path / "manifest.json").read_bytes()
    import hashlib

    digest = f"sha256:{hashlib.sha256(exported).hexdigest()}"
    for tag in ("v1", "latest", "stable"):
        assert oras_cli("resolve", registry.ref(unique_repo, tag)).stdout.strip() == digest
