"""Tests for oras.descriptor: the shape checks a pulled manifest goes through."""

from __future__ import annotations

from typing import Any

import pytest

from oras.descriptor import check_manifest
from oras.errors import InvalidManifestError, ProtocolError

DIGEST = "sha256:" + "ab" * 32
LAYER = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": DIGEST, "size": 3}
CONFIG = {"mediaType": "application/vnd.unknown.config.v1+json", "digest": DIGEST, "size": 2}
INDEX = "application/vnd.oci.image.index.v1+json"


def _image(**fields: Any) -> dict[str, Any]:
    return {"schemaVersion": 2, "config": CONFIG, "layers": [LAYER], **fields}


@pytest.mark.parametrize(
    "manifest",
    [
        _image(),
        _image(layers=[]),
        _image(layers=None),
        {"schemaVersion": 2},
        _image(layers=[{**LAYER, "annotations": {"org.opencontainers.image.title": "a.txt"}}]),
        _image(layers=[{**LAYER, "annotations": None}]),
        {"mediaType": INDEX, "manifests": [{**LAYER, "platform": {"os": "linux"}}]},
        {"manifests": []},
    ],
)
def test_well_formed(manifest: dict[str, Any]) -> None:
    assert check_manifest(manifest, "r/x:v1") is manifest


@pytest.mark.parametrize(
    "manifest,problem",
    [
        (_image(layers="abc"), "layers is a string, not an array"),
        (_image(layers=["abc"]), "layers[0] is a string, not an object"),
        (_image(layers=[{**LAYER, "annotations": "x"}]), "layers[0] has annotations that are"),
        (
            _image(layers=[{**LAYER, "annotations": {"org.opencontainers.image.title": 5}}]),
            "layers[0] has annotation 'org.opencontainers.image.title' that is a number",
        ),
        (_image(layers=[LAYER, {**LAYER, "digest": "nope"}]), "layers[1] has an invalid digest"),
        (_image(layers=[{"mediaType": "x", "size": 1}]), "layers[0] has no digest"),
        (_image(layers=[{**LAYER, "size": "3"}]), "layers[0] has a size that is a string"),
        (_image(layers=[{**LAYER, "size": -1}]), "not a non-negative integer"),
        (_image(layers=[{**LAYER, "size": True}]), "a boolean"),
        (_image(layers=[{**LAYER, "mediaType": 7}]), "has a mediaType that is a number"),
        (_image(config="x"), "config is a string, not an object"),
        ({"mediaType": INDEX, "manifests": "abc"}, "manifests is a string, not an array"),
        ({"manifests": [{**LAYER, "platform": "linux"}]}, "manifests[0].platform is a string"),
        ({"manifests": [{"mediaType": INDEX}]}, "manifests[0] has no digest"),
    ],
)
def test_malformed_is_named(manifest: dict[str, Any], problem: str) -> None:
    """oras-py raised `'str' object has no attribute 'get'` and the like from inside pull."""
    with pytest.raises(InvalidManifestError) as info:
        check_manifest(manifest, "r/x:v1")
    assert isinstance(info.value, ProtocolError) and isinstance(info.value, ValueError)
    assert str(info.value).startswith("manifest r/x:v1 is malformed: ")
    assert problem in str(info.value)
    assert "\n" not in str(info.value)


def test_not_an_object() -> None:
    with pytest.raises(InvalidManifestError, match="is an array, not an object"):
        check_manifest([], "r/x:v1")  # type: ignore[arg-type]
