"""Pure parts of the single operations and index building: digest tags, Go's descriptor JSON,
media types, manifest descriptors, index documents (over an in-memory store)."""

from __future__ import annotations

import io
import json

import pytest

from oras.cli.repo.ls import split_namespace
from oras.content.memory import MemoryStore
from oras.descriptor import Descriptor
from oras.digest import digest_bytes
from oras.errors import ArgumentError, DigestMismatchError
from oras.index import check_media_type, create_index, update_index
from oras.operations import (
    compact_json,
    go_descriptor,
    is_digest_tag,
    list_tags,
    manifest_descriptor,
    prepare_blob,
    push_manifest,
)

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def test_digest_tags():
    assert is_digest_tag("sha256-" + "a" * 64)
    assert not is_digest_tag("sha256-" + "a" * 63)
    assert not is_digest_tag("sha256-notadigest")
    assert not is_digest_tag("v1.0")


def test_go_descriptor_order_and_compact_json():
    desc = Descriptor(
        "m",
        "sha256:" + "0" * 64,
        3,
        annotations={"k": "v"},
        artifact_type="a",
        platform={"os": "x"},
    )
    assert list(go_descriptor(desc)) == [
        "mediaType",
        "digest",
        "size",
        "annotations",
        "platform",
        "artifactType",
    ]
    assert compact_json({"a": [1, "é"]}) == '{"a":[1,"é"]}'.encode()


def test_media_types_and_manifest_descriptors():
    assert check_media_type("application/vnd.x+json") == "application/vnd.x+json"
    for bad in ("nope", "a/b/c", "/x", ""):
        with pytest.raises(ArgumentError, match="invalid media type"):
            check_media_type(bad)
    body = json.dumps({"mediaType": MANIFEST}).encode()
    assert manifest_descriptor(body) == Descriptor(MANIFEST, digest_bytes(body), len(body))
    assert manifest_descriptor(b"{}", "x/y").media_type == "x/y"
    with pytest.raises(ArgumentError, match="no mediaType"):
        manifest_descriptor(b"{}")


def test_prepare_blob_checks_sizes(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"12345")
    desc, content = prepare_blob(str(path))
    content.close()
    assert (desc.size, desc.digest) == (5, digest_bytes(b"12345"))
    with pytest.raises(ArgumentError, match="not the 4 given"):
        prepare_blob(str(path), size=4)
    with pytest.raises(ArgumentError, match="must be given"):
        prepare_blob(io.BytesIO(b"x"))
    with pytest.raises(DigestMismatchError):
        prepare_blob(io.BytesIO(b"12345"), size=4)
    desc, content = prepare_blob(io.BytesIO(b"12345"), size=5)
    with content:
        assert content.read() == b"12345" and desc.digest == digest_bytes(b"12345")


def test_split_namespace():
    assert split_namespace("localhost:5000") == ("localhost:5000", "")
    assert split_namespace("localhost:5000/a/b/") == ("localhost:5000", "a/b/")


def _image(store: MemoryStore, platform: dict) -> Descriptor:
    config = json.dumps(platform).encode()
    config_desc = Descriptor(
        "application/vnd.oci.image.config.v1+json", digest_bytes(config), len(config)
    )
    store.push(config_desc, io.BytesIO(config))
    body = compact_json(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": go_descriptor(config_desc),
            "layers": [],
        }
    )
    desc, _ = push_manifest(store, body, "", tags=[platform["architecture"]])
    return desc


def test_index_create_and_update_in_memory():
    store = MemoryStore()
    amd = _image(store, {"os": "linux", "architecture": "amd64"})
    arm = _image(store, {"os": "linux", "architecture": "arm64", "author": "x"})
    desc, content = create_index(store, ["amd64", arm.digest], annotations={"k": "v"})
    index = json.loads(content)
    assert content == compact_json(index) and desc.digest == digest_bytes(content)
    assert [m["platform"] for m in index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ]
    push_manifest(store, content, "idx")
    removed: list[str] = []
    from oras.index import IndexEvents

    _, updated = update_index(
        store,
        "idx",
        remove=[amd.digest],
        artifact_type="x/y",
        events=IndexEvents(on_removed=removed.append),
    )
    document = json.loads(updated)
    assert list(document)[:3] == ["schemaVersion", "mediaType", "artifactType"]
    assert [m["digest"] for m in document["manifests"]] == [arm.digest]
    assert removed == [amd.digest]
    with pytest.raises(ArgumentError, match="does not exist in the index"):
        update_index(store, "idx", remove=["sha256:" + "1" * 64])
    with pytest.raises(ArgumentError, match="is not an index"):
        update_index(store, "amd64", add=["arm64"])


def test_list_tags_filters_after_last():
    class Store:
        def tags(self, last=None):
            return iter(["b", "a", "sha256-" + "c" * 64, "d"])

    assert list_tags(Store(), last="b") == ["sha256-" + "c" * 64, "d"]
    assert list_tags(Store(), exclude_digest_tags=True) == ["b", "a", "d"]
