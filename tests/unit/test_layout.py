"""OCI image layout: validation, graph order and digest-to-path mapping, on hand-built layouts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import oras.client
import oras.defaults as defaults
import oras.layout
import oras.layout.layout
import oras.layout.validation
from oras.errors import DigestMismatchError, InvalidDigestError
from oras.layout import Layout, NewLayout, NewLayoutFromRegistry

OCI_MANIFEST = defaults.default_manifest_media_type
OCI_INDEX = defaults.default_index_media_type
LAYER = defaults.default_blob_media_type
REF_NAME = defaults.oci_ref_name_annotation


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class LayoutBuilder:
    """Writes blobs and index.json entries into a directory, the way an OCI store would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        self.entries: list[dict[str, Any]] = []
        self.write_index()

    def blob(self, data: bytes, media_type: str = LAYER) -> dict[str, Any]:
        digest = _digest(data)
        (self.root / "blobs" / "sha256" / digest.split(":", 1)[1]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def manifest(self, config: dict[str, Any], layers: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers}
        return self.blob(json.dumps(body).encode(), OCI_MANIFEST)

    def index(self, manifests: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        return self.blob(json.dumps(body).encode(), OCI_INDEX)

    def tag(self, descriptor: dict[str, Any], tag: str) -> None:
        self.entries.append({**descriptor, "annotations": {REF_NAME: tag}})
        self.write_index()

    def write_index(self) -> None:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries}
        (self.root / "index.json").write_text(json.dumps(index))


@pytest.fixture
def builder(tmp_path: Path) -> LayoutBuilder:
    return LayoutBuilder(tmp_path / "layout")


def test_public_names() -> None:
    assert oras.layout.__all__ == ["Layout", "NewLayout", "NewLayoutFromRegistry"]
    assert oras.layout.Layout is oras.layout.layout.Layout
    assert callable(oras.layout.validation.validate_layout)


# -- validation ----------------------------------------------------------------------------------
def test_valid_layout_returns_resolved_path(builder: LayoutBuilder) -> None:
    assert Layout(builder.root).validate() == str(builder.root.resolve())
    assert NewLayout(str(builder.root)).validate() == str(builder.root.resolve())
    assert Layout.is_oci_layout(str(builder.root))


def test_empty_blobs_directory_is_valid(builder: LayoutBuilder) -> None:
    (builder.root / "blobs" / "sha256").rmdir()
    assert Layout.is_oci_layout(builder.root)


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="Path does not exist"):
        Layout(missing)
    assert not Layout.is_oci_layout(missing)
    Layout(missing, validate=False)  # no check asked for


def test_path_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        Layout(target)
    assert not Layout.is_oci_layout(target)


def test_missing_blobs_directory(builder: LayoutBuilder) -> None:
    (builder.root / "blobs" / "sha256").rmdir()
    (builder.root / "blobs").rmdir()
    with pytest.raises(FileNotFoundError, match="blobs"):
        Layout(builder.root)


def test_blobs_is_a_file(builder: LayoutBuilder) -> None:
    (builder.root / "blobs" / "sha256").rmdir()
    (builder.root / "blobs").rmdir()
    (builder.root / "blobs").write_text("")
    with pytest.raises(ValueError, match="not a directory"):
        Layout(builder.root)


def test_missing_oci_layout_file(builder: LayoutBuilder) -> None:
    (builder.root / "oci-layout").unlink()
    with pytest.raises(FileNotFoundError, match="oci-layout"):
        Layout(builder.root)


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("[]", "JSON object"),
        ("{}", "imageLayoutVersion"),
        ('{"imageLayoutVersion": "2.0.0"}', "must be '1.0.0'"),
        ('{"imageLayoutVersion": 1}', "must be '1.0.0'"),
        ('{"imageLayoutVersion": 1.0}', r"must be '1\.0\.0' \(a string\), got float: 1\.0"),
        ('{"imageLayoutVersion": null}', r"\(a string\), got NoneType"),
    ],
)
def test_bad_oci_layout_file(builder: LayoutBuilder, content: Any, message: str) -> None:
    path = builder.root / "oci-layout"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ValueError, match=message):
        Layout(builder.root)
    assert not Layout.is_oci_layout(builder.root)


def test_missing_index_json(builder: LayoutBuilder) -> None:
    (builder.root / "index.json").unlink()
    with pytest.raises(FileNotFoundError, match="index.json"):
        Layout(builder.root)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "not valid JSON"),
        ('"index"', "JSON object"),
        ('{"manifests": []}', "schemaVersion"),
        ('{"schemaVersion": 1, "manifests": []}', "must be 2"),
        (
            '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}',
            "mediaType",
        ),
        ('{"schemaVersion": 2, "manifests": {}}', "must be a list"),
    ],
)
def test_bad_index_json(builder: LayoutBuilder, content: str, message: str) -> None:
    (builder.root / "index.json").write_text(content)
    with pytest.raises(ValueError, match=message):
        Layout(builder.root)


def test_index_json_without_media_type_is_valid(builder: LayoutBuilder) -> None:
    (builder.root / "index.json").write_text('{"schemaVersion": 2, "manifests": []}')
    assert Layout.is_oci_layout(builder.root)


# -- graph order ---------------------------------------------------------------------------------
def test_ordered_blobs_of_an_index_children_first_deduplicated(builder: LayoutBuilder) -> None:
    config = builder.blob(b"{}", defaults.empty_media_type)
    a1, a2 = builder.blob(b"layer a1"), builder.blob(b"layer a2")
    shared = builder.blob(b"shared layer")
    b1 = builder.blob(b"layer b1")
    manifest_a = builder.manifest(config, [a1, a2, shared])
    manifest_b = builder.manifest(config, [shared, b1])
    index = builder.index([manifest_a, manifest_b])
    builder.tag(index, "v1")
    builder.tag(manifest_b, "only-b")

    layout = Layout(builder.root)
    assert layout.get_ordered_blobs("v1") == [
        a1["digest"],
        a2["digest"],
        shared["digest"],
        config["digest"],
        manifest_a["digest"],
        b1["digest"],
        manifest_b["digest"],
        index["digest"],
    ]
    assert layout.get_ordered_blobs("only-b") == [
        shared["digest"],
        b1["digest"],
        config["digest"],
        manifest_b["digest"],
    ]


def test_nested_index(builder: LayoutBuilder) -> None:
    config = builder.blob(b"{}", defaults.empty_media_type)
    layer = builder.blob(b"payload")
    manifest = builder.manifest(config, [layer])
    inner = builder.index([manifest])
    outer = builder.index([inner, manifest])
    builder.tag(outer, "latest")
    assert Layout(builder.root).get_ordered_blobs() == [
        layer["digest"],
        config["digest"],
        manifest["digest"],
        inner["digest"],
        outer["digest"],
    ]


def test_tag_not_found(builder: LayoutBuilder) -> None:
    config = builder.blob(b"{}", defaults.empty_media_type)
    builder.tag(builder.manifest(config, []), "v1")
    with pytest.raises(ValueError, match="Tag 'latest' not found in index"):
        Layout(builder.root).get_ordered_blobs()


def test_unsupported_manifest_media_type(builder: LayoutBuilder) -> None:
    odd = builder.blob(b'{"mediaType": "application/vnd.example+json"}', "application/json")
    builder.tag(odd, "v1")
    with pytest.raises(ValueError, match="Unsupported manifest mediaType"):
        Layout(builder.root).get_ordered_blobs("v1")


def test_missing_manifest_blob(builder: LayoutBuilder) -> None:
    config = builder.blob(b"{}", defaults.empty_media_type)
    manifest = builder.manifest(config, [])
    builder.tag(manifest, "v1")
    Layout(builder.root).digest_to_blob_path(manifest["digest"]).unlink()
    with pytest.raises(FileNotFoundError, match="Blob not found"):
        Layout(builder.root).get_ordered_blobs("v1")


def test_tampered_manifest_blob_is_refused(builder: LayoutBuilder) -> None:
    config = builder.blob(b"{}", defaults.empty_media_type)
    manifest = builder.manifest(config, [])
    builder.tag(manifest, "v1")
    path = Layout(builder.root).digest_to_blob_path(manifest["digest"])
    path.write_bytes(path.read_bytes().replace(b'"layers"', b'"LAYERS"'))
    with pytest.raises(DigestMismatchError):
        Layout(builder.root).get_ordered_blobs("v1")


# -- digests and paths ---------------------------------------------------------------------------
def test_digest_to_blob_path(builder: LayoutBuilder) -> None:
    data = builder.blob(b"hello")
    layout = Layout(builder.root)
    hex_part = data["digest"].split(":", 1)[1]
    assert (
        layout.digest_to_blob_path(data["digest"]) == builder.root / "blobs" / "sha256" / hex_part
    )
    assert layout.blob_exists(data["digest"])
    assert not layout.blob_exists(_digest(b"absent"))


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:../../etc",
        "sha256:../../../etc/passwd",
        "../sha256:" + "a" * 64,
        "sha256/" + "a" * 64,
        "sha256:" + "a" * 63,
        "sha256:" + "A" * 64,
        "sha256:",
        "",
        "no-colon",
        "sha256:" + "a" * 64 + "/x",
    ],
)
def test_bad_digests_are_refused_and_exist_nowhere(builder: LayoutBuilder, digest: str) -> None:
    layout = Layout(builder.root)
    with pytest.raises(InvalidDigestError):
        layout.digest_to_blob_path(digest)
    # oras-py's answer for a digest that names no blob; no path is built from it.
    assert layout.blob_exists(digest) is False


def test_bad_digest_in_a_manifest_is_refused(builder: LayoutBuilder) -> None:
    config = builder.blob(b"{}", defaults.empty_media_type)
    bad = {"mediaType": LAYER, "digest": "sha256:../../etc", "size": 1}
    builder.tag(builder.manifest(config, [bad]), "v1")
    with pytest.raises(InvalidDigestError):
        Layout(builder.root).get_ordered_blobs("v1")


# -- argument checks that come before any network traffic ----------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        "127.0.0.1:9/repo",
        "127.0.0.1:9/repo:",
        "127.0.0.1:9/repo@sha256:" + "a" * 64,
        "localhost/ns/repo",
    ],
)
def test_push_target_must_name_a_tag(builder: LayoutBuilder, target: str) -> None:
    client = oras.client.OrasClient(insecure=True)
    with pytest.raises(ValueError, match="must include a tag"):
        Layout(builder.root).push_to_registry(client, target)


def test_new_layout_from_registry_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    client = oras.client.OrasClient(insecure=True)
    with pytest.raises(FileExistsError):
        NewLayoutFromRegistry(tmp_path, client, "127.0.0.1:9/repo:v1")
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_new_layout_from_registry_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    client = oras.client.OrasClient(insecure=True)
    with pytest.raises(ValueError, match="not a directory"):
        NewLayoutFromRegistry(target, client, "127.0.0.1:9/repo:v1")
