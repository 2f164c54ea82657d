"""The `Registry` (OrasClient) methods behind the `blob`, `manifest` and `repo` commands,
against a real Distribution registry."""

from __future__ import annotations

import io
import json

import pytest

from oras.client import OrasClient
from oras.digest import digest_bytes
from oras.errors import DigestMismatchError, NotFoundError

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"


@pytest.fixture
def client(registry) -> OrasClient:
    return OrasClient(hostname=registry.host, insecure=True)


def _image(client: OrasClient, ref: str, platform: dict, tags=()) -> tuple[str, bytes]:
    config = json.dumps(platform).encode()
    desc, existed = client.push_blob(ref, io.BytesIO(config), size=len(config), media_type=CONFIG)
    assert not existed and desc.media_type == CONFIG
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, "digest": desc.digest, "size": desc.size},
        "layers": [],
    }
    pushed = client.push_manifest(ref, manifest, tags=tags)
    body = json.dumps(manifest, separators=(",", ":")).encode()
    assert pushed.digest == digest_bytes(body) and pushed.media_type == MANIFEST
    return pushed.digest, config


def test_blobs_push_fetch_delete(client, registry, unique_repo, tmp_path):
    ref = registry.ref(unique_repo)
    source = tmp_path / "blob"
    source.write_bytes(b"library blob")
    desc, existed = client.push_blob(ref, str(source))
    assert (existed, desc.size, desc.digest) == (False, 12, digest_bytes(b"library blob"))
    assert client.push_blob(ref, str(source))[1] is True
    target = tmp_path / "out"
    assert client.fetch_blob(f"{ref}@{desc.digest}", output=str(target)).digest == desc.digest
    assert target.read_bytes() == b"library blob"
    sink = io.BytesIO()
    client.fetch_blob(ref, desc.digest, sink)
    assert sink.getvalue() == b"library blob"
    assert client.fetch_blob(f"{ref}@{desc.digest}").size == 12
    with pytest.raises(DigestMismatchError):
        client.push_blob(ref, io.BytesIO(b"short"), size=9)
    assert client.delete_blob(ref, desc.digest).digest == desc.digest
    with pytest.raises(NotFoundError):
        client.delete_blob(f"{ref}@{desc.digest}")
    with pytest.raises(NotFoundError):
        client.fetch_blob(ref, desc.digest, str(tmp_path / "gone"))
    assert not (tmp_path / "gone").exists()


def test_manifests_config_tags_indexes_and_catalog(client, registry, unique_repo):
    amd, amd_config = _image(
        client,
        registry.ref(unique_repo, "amd"),
        {"os": "linux", "architecture": "amd64"},
        tags=["x1"],
    )
    arm, _ = _image(
        client, registry.ref(unique_repo, "arm"), {"os": "linux", "architecture": "arm64"}
    )
    config, data = client.fetch_config(registry.ref(unique_repo, "x1"))
    assert data == amd_config and config.digest == digest_bytes(amd_config)
    desc, content = client.create_index(
        registry.ref(unique_repo, "multi"), ["amd", arm], tags=["m2"], annotations={"a": "b"}
    )
    index = json.loads(content)
    assert index["annotations"] == {"a": "b"} and len(index["manifests"]) == 2
    assert client.fetch_manifest(registry.ref(unique_repo, "m2"))[0] == content
    assert (
        client.fetch_config(registry.ref(unique_repo, "multi"), platform="linux/arm64")[0].digest
        == json.loads(client.fetch_manifest(f"{registry.ref(unique_repo)}@{arm}")[0])["config"][
            "digest"
        ]
    )
    new, updated = client.update_index(
        registry.ref(unique_repo, "multi"), remove=[amd], artifact_type="x/y"
    )
    assert [m["digest"] for m in json.loads(updated)["manifests"]] == [arm]
    assert client.fetch_manifest(registry.ref(unique_repo, "multi"))[2] == new.digest
    tags = client.list_tags(registry.ref(unique_repo))
    assert sorted(tags) == ["amd", "arm", "m2", "multi", "x1"]
    assert unique_repo in client.get_catalog()
    deleted = client.delete_manifest(registry.ref(unique_repo, "x1"))
    assert deleted.digest == amd
    assert sorted(client.list_tags(registry.ref(unique_repo))) == ["arm", "m2", "multi"]
    with pytest.raises(NotFoundError):
        client.delete_manifest(registry.ref(unique_repo, "amd"))
