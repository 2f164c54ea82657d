"""The quick schema check answers "valid" only where jsonschema does, and for every manifest
and descriptor oras builds."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oras import schemas
from oras.pack import build_manifest
from oras.schema_check import quick_valid, validate

SCHEMAS = {
    name: getattr(schemas, name)
    for name in ("layer", "manifest", "manifestRef", "index", "layerProperties")
}

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5)
)
_keys = st.sampled_from(
    [
        "mediaType",
        "size",
        "digest",
        "annotations",
        "schemaVersion",
        "config",
        "layers",
        "subject",
        "manifests",
        "platform",
        "artifactType",
        "other",
    ]
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=6)),
    max_leaves=20,
)


def _jsonschema_valid(document: Any, schema: dict[str, Any]) -> bool:
    return jsonschema.Draft7Validator(schema).is_valid(document)


@settings(max_examples=200, deadline=None)
@given(document=_json, name=st.sampled_from(sorted(SCHEMAS)))
def test_quick_valid_only_where_jsonschema_agrees(document: Any, name: str) -> None:
    if quick_valid(document, SCHEMAS[name]):
        assert _jsonschema_valid(document, SCHEMAS[name])


LAYER = {"mediaType": "application/x", "size": 3, "digest": "sha256:" + "a" * 64}


@pytest.mark.parametrize(
    "manifest",
    [
        build_manifest(
            {
                "mediaType": "application/vnd.unknown.config.v1+json",
                "size": 2,
                "digest": "sha256:" + "4" * 64,
            },
            [LAYER],
        ),
        build_manifest(
            LAYER,
            [LAYER, {**LAYER, "annotations": {"a": "b"}}],
            {"k": "v"},
            subject={**LAYER, "mediaType": "application/vnd.oci.image.manifest.v1+json"},
            artifact_type="application/vnd.x",
        ),
        build_manifest(LAYER, []),
    ],
)
def test_what_oras_builds_needs_no_jsonschema(manifest: dict[str, Any]) -> None:
    assert quick_valid(manifest, schemas.manifest)
    assert _jsonschema_valid(manifest, schemas.manifest)


@pytest.mark.parametrize(
    "document, schema",
    [
        ({"schemaVersion": 2, "config": {}}, schemas.manifest),  # no layers
        ({"schemaVersion": 2, "config": {}, "layers": [{"size": "3"}]}, schemas.manifest),
        ({"schemaVersion": True, "config": {}, "layers": []}, schemas.manifest),
        ({"mediaType": "a", "size": 1}, schemas.layer),  # no digest
        ({"schemaVersion": 1, "manifests": []}, schemas.index),  # const 2
    ],
)
def test_invalid_documents_raise_jsonschemas_error(document: Any, schema: dict) -> None:
    assert not quick_valid(document, schema)
    with pytest.raises(jsonschema.ValidationError):
        validate(document, schema)


def test_const_of_another_type_is_left_to_jsonschema() -> None:
    index = {"schemaVersion": 2.0, "manifests": []}
    assert not quick_valid(index, schemas.index)
    validate(index, schemas.index)  # jsonschema: 2.0 equals 2
