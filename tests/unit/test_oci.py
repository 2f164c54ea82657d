"""Unit tests for oras.oci: manifests, layer and config descriptors, annotations and subjects."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path

import jsonschema
import pytest

import oras.oci
import oras.schemas
from oras import defaults
from oras.utils import workdir

ARTIFACT = b"hello dinosaur\n"
ARTIFACT_DIGEST = "sha256:07f469745bff59a6956b1394bfb4c77196c9dbc9950ff1a9e6143798edf9856f"
EMPTY_DIGEST = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
EMPTY_CONFIG_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    path = tmp_path / "artifact.txt"
    path.write_bytes(ARTIFACT)
    return path


def test_empty_manifest_shape_and_order() -> None:
    assert oras.oci.EmptyManifest == {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {},
        "layers": [],
        "annotations": {},
    }
    assert list(oras.oci.EmptyManifest) == [
        "schemaVersion",
        "mediaType",
        "config",
        "layers",
        "annotations",
    ]


def test_new_manifest_is_a_deep_copy() -> None:
    manifest = oras.oci.NewManifest()
    manifest["layers"].append({"x": 1})
    manifest["annotations"]["a"] = "b"
    assert oras.oci.EmptyManifest["layers"] == []
    assert oras.oci.EmptyManifest["annotations"] == {}
    assert oras.oci.NewManifest() == oras.oci.EmptyManifest


# --- Layer / NewLayer -----------------------------------------------------------------------


def test_layer_defaults_and_to_dict(artifact: Path) -> None:
    layer = oras.oci.Layer(str(artifact))
    assert layer.blob_path == str(artifact)
    assert layer.media_type == "application/vnd.oci.image.layer.v1.tar"
    described = layer.to_dict()
    assert described == {
        "mediaType": "application/vnd.oci.image.layer.v1.tar",
        "size": 15,
        "digest": ARTIFACT_DIGEST,
    }
    assert list(described) == ["mediaType", "size", "digest"]


def test_layer_media_types(artifact: Path) -> None:
    assert oras.oci.Layer(artifact, is_dir=True).media_type == defaults.default_blob_dir_media_type
    assert oras.oci.Layer(artifact, "text/plain", is_dir=True).media_type == "text/plain"
    layer = oras.oci.Layer(artifact)
    layer.set_media_type(is_dir=True)
    assert layer.media_type == "application/vnd.oci.image.layer.v1.tar+gzip"
    layer.set_media_type("application/x-custom")
    assert layer.to_dict()["mediaType"] == "application/x-custom"


def test_new_layer(artifact: Path) -> None:
    assert oras.oci.NewLayer(str(artifact), "text/plain") == {
        "mediaType": "text/plain",
        "size": 15,
        "digest": ARTIFACT_DIGEST,
    }


def test_layer_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        oras.oci.NewLayer(str(tmp_path / "missing"))


# --- ManifestConfig -------------------------------------------------------------------------


def test_manifest_config_dev_null() -> None:
    conf, path = oras.oci.ManifestConfig("/dev/null", "application/vnd.acme.rocket.config")
    assert conf == {
        "mediaType": "application/vnd.acme.rocket.config",
        "size": 0,
        "digest": EMPTY_DIGEST,
    }
    assert EMPTY_DIGEST == defaults.blank_hash
    assert path == "/dev/null"


def test_manifest_config_without_a_path() -> None:
    conf, path = oras.oci.ManifestConfig()
    assert conf == {
        "mediaType": "application/vnd.unknown.config.v1+json",
        "size": 2,
        "digest": EMPTY_CONFIG_DIGEST,
    }
    assert "sha256:" + hashlib.sha256(b"{}").hexdigest() == EMPTY_CONFIG_DIGEST
    assert path is None
    conf, _ = oras.oci.ManifestConfig(None, "application/vnd.acme.rocket.config")
    assert conf["mediaType"] == "application/vnd.acme.rocket.config"


def test_manifest_config_missing_path_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "mistyped.json"
    with caplog.at_level(logging.WARNING, logger="oras"):
        conf, path = oras.oci.ManifestConfig(str(missing))
    assert (conf["size"], conf["digest"], path) == (2, EMPTY_CONFIG_DIGEST, None)
    assert any(str(missing) in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_manifest_config_of_a_file(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_bytes(b'{"a": 1}')
    conf, path = oras.oci.ManifestConfig(str(config), "application/vnd.oci.image.config.v1+json")
    assert conf == {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        "size": 8,
        "digest": "sha256:" + hashlib.sha256(b'{"a": 1}').hexdigest(),
    }
    assert path == str(config)


def test_pushed_manifest_bytes_match_oras_py(artifact: Path) -> None:
    """The compat 11.1 example: artifact.txt with no config gives a 494-byte manifest."""
    manifest = oras.oci.NewManifest()
    layer = oras.oci.NewLayer(str(artifact))
    layer["annotations"] = {defaults.annotation_title: "artifact.txt"}
    manifest["layers"].append(layer)
    manifest["config"], _ = oras.oci.ManifestConfig()
    jsonschema.validate(manifest, schema=oras.schemas.manifest)
    data = json.dumps(manifest).encode()
    assert len(data) == 494
    assert "sha256:" + hashlib.sha256(data).hexdigest() == (
        "sha256:0fdf365d865b6c2e2a3e3b034f1acf522c95a2daa593fa596fe43a22cfe185fd"
    )


# --- Annotations ----------------------------------------------------------------------------


def test_annotations_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "annotations.json"
    path.write_text(
        json.dumps(
            {
                "$manifest": {"org.opencontainers.image.created": "2024-01-01"},
                "$config": {"hello": "world"},
                "artifact.txt": {"fun": "more fun"},
            }
        )
    )
    annotations = oras.oci.Annotations(str(path))
    assert annotations.get_annotations("$manifest") == {
        "org.opencontainers.image.created": "2024-01-01"
    }
    assert annotations.get_annotations("$config") == {"hello": "world"}
    assert annotations.get_annotations("artifact.txt") == {"fun": "more fun"}
    assert annotations.get_annotations("other.txt") == {}


def test_annotations_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(FileNotFoundError, match=f"Annotation file {missing} does not exist."):
        oras.oci.Annotations(str(missing))


def test_annotations_must_be_an_object_of_objects(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError):
        oras.oci.Annotations(path)
    with pytest.raises(ValueError):
        oras.oci.Annotations({"$manifest": "not a map"})


def test_annotations_from_a_dict_are_copied() -> None:
    source = {"$manifest": {"a": "b"}}
    annotations = oras.oci.Annotations(source)
    annotations.add("$manifest", "c", "d")
    annotations.add("file.txt", "k", "v")
    assert annotations.get_annotations("$manifest") == {"a": "b", "c": "d"}
    assert annotations.get_annotations("file.txt") == {"k": "v"}
    assert source == {"$manifest": {"a": "b"}}


def test_annotations_empty() -> None:
    annotations = oras.oci.Annotations()
    assert annotations.lookup == {}
    assert annotations.get_annotations("$manifest") == {}


def test_annotations_path_forms(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.txt").write_text("a")
    absolute = str(tmp_path / "dir" / "a.txt")
    annotations = oras.oci.Annotations(
        {
            "dir": {"kind": "directory"},
            absolute: {"kind": "absolute"},
            "./rel/b.txt": {"kind": "dotted"},
        }
    )
    with workdir(tmp_path):
        # Trailing slash and dotted forms find the normalised key.
        assert annotations.get_annotations("dir/") == {"kind": "directory"}
        assert annotations.get_annotations("./dir") == {"kind": "directory"}
        assert annotations.get_annotations(str(tmp_path / "dir")) == {"kind": "directory"}
        # A relative argument finds an absolute key, and the other way round.
        assert annotations.get_annotations(os.path.join("dir", "a.txt")) == {"kind": "absolute"}
        assert annotations.get_annotations("rel/b.txt") == {"kind": "dotted"}
        assert annotations.get_annotations(str(tmp_path / "rel" / "b.txt")) == {"kind": "dotted"}
        assert annotations.get_annotations("dir2") == {}


def test_annotations_unmatched_keys(tmp_path: Path) -> None:
    annotations = oras.oci.Annotations(
        {
            "$manifest": {"m": "v"},
            "$config": {"c": "v"},
            "./dir/": {"k": "v"},
            str(tmp_path / "a.txt"): {"k": "v"},
            "typo.txt": {"k": "v"},
            "dir/b.txt": {"k": "v"},
        }
    )
    with workdir(tmp_path):
        assert annotations.unmatched(["dir", "a.txt"]) == ["typo.txt", "dir/b.txt"]
        assert annotations.unmatched([]) == [
            "./dir/",
            str(tmp_path / "a.txt"),
            "typo.txt",
            "dir/b.txt",
        ]


@pytest.mark.parametrize(
    "values, message",
    [
        ({"": "v"}, "annotation names must not be empty"),
        ({"  ": "v"}, "annotation names must not be empty"),
        ({"k": 1}, "the value of annotation 'k' must be a string, not int"),
        ({"k": None}, "the value of annotation 'k' must be a string, not NoneType"),
        ({"k": ["v"]}, "the value of annotation 'k' must be a string, not list"),
    ],
)
def test_annotations_a_manifest_cannot_carry_are_refused(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        oras.oci.check_annotations(values, "here")
    with pytest.raises(ValueError, match=f"annotations, section 'f.txt': {message}"):
        oras.oci.Annotations({"f.txt": values})
    oras.oci.check_annotations({"k": "", "other": "v"}, "here")  # empty values are fine


# --- Subject --------------------------------------------------------------------------------


def test_subject_from_manifest_digests_json_dumps() -> None:
    manifest = oras.oci.NewManifest()
    subject = oras.oci.Subject.from_manifest(manifest)
    data = json.dumps(manifest).encode()
    assert subject == oras.oci.Subject(
        mediaType=defaults.default_manifest_media_type,
        digest="sha256:" + hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
    assert dataclasses.asdict(subject) == {
        "mediaType": defaults.default_manifest_media_type,
        "digest": subject.digest,
        "size": subject.size,
    }
    assert list(subject.to_dict()) == ["mediaType", "digest", "size"]


def test_subject_from_bytes_uses_the_exact_bytes() -> None:
    data = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}'
    subject = oras.oci.Subject.from_bytes(data)
    assert subject.mediaType == defaults.default_index_media_type
    assert subject.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert subject.size == len(data)
    explicit = oras.oci.Subject.from_bytes(data, defaults.docker_manifest_media_type)
    assert explicit.mediaType == defaults.docker_manifest_media_type
    assert (
        oras.oci.Subject.from_bytes(b"not json").mediaType == defaults.default_manifest_media_type
    )


def test_subject_from_descriptor() -> None:
    descriptor = {
        "mediaType": defaults.default_manifest_media_type,
        "digest": ARTIFACT_DIGEST,
        "size": "15",
        "annotations": {"ignored": "yes"},
    }
    subject = oras.oci.Subject.from_descriptor(descriptor)
    assert subject == oras.oci.Subject(defaults.default_manifest_media_type, ARTIFACT_DIGEST, 15)
    with pytest.raises(ValueError):
        oras.oci.Subject.from_descriptor({"digest": ARTIFACT_DIGEST})
