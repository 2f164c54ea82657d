"""Unit tests for oras.schemas: what the layer, manifest, manifestRef and index schemas accept."""

from __future__ import annotations

from typing import Any

import jsonschema

from oras import schemas

DIGEST = "sha256:07f469745bff59a6956b1394bfb4c77196c9dbc9950ff1a9e6143798edf9856f"
LAYER = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 15, "digest": DIGEST}


def valid(instance: Any, schema: dict[str, Any]) -> bool:
    try:
        jsonschema.validate(instance, schema=schema)
    except jsonschema.ValidationError:
        return False
    return True


def test_public_names() -> None:
    assert schemas.schema_url == "http://json-schema.org/draft-07/schema"
    for name in (
        "layerProperties",
        "layer",
        "manifestProperties",
        "manifest",
        "manifestRefProperties",
        "manifestRef",
        "indexProperties",
        "index",
    ):
        assert isinstance(getattr(schemas, name), dict), name
    for schema in (schemas.layer, schemas.manifest, schemas.manifestRef, schemas.index):
        assert schema["$schema"] == schemas.schema_url
        jsonschema.Draft7Validator.check_schema(schema)


def test_layer_schema() -> None:
    assert valid(LAYER, schemas.layer)
    for missing in ("mediaType", "size", "digest"):
        assert not valid({k: v for k, v in LAYER.items() if k != missing}, schemas.layer)
    assert not valid({**LAYER, "size": "15"}, schemas.layer)
    assert valid({**LAYER, "size": 15.0}, schemas.layer)
    for value in ({"a": "b"}, None, []):
        assert valid({**LAYER, "annotations": value}, schemas.layer)
    assert not valid({**LAYER, "annotations": "text"}, schemas.layer)
    assert valid({**LAYER, "urls": ["https://example.com"]}, schemas.layer)  # extra keys allowed


def manifest(**changes: Any) -> dict[str, Any]:
    base = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {**LAYER, "mediaType": "application/vnd.unknown.config.v1+json"},
        "layers": [LAYER],
        "annotations": {},
    }
    base.update(changes)
    return base


def test_manifest_schema() -> None:
    assert valid(manifest(), schemas.manifest)
    for missing in ("schemaVersion", "config", "layers"):
        broken = manifest()
        del broken[missing]
        assert not valid(broken, schemas.manifest)
    assert valid(manifest(config={}), schemas.manifest)  # EmptyManifest's placeholder
    assert valid(manifest(artifactType="application/vnd.acme.rocket"), schemas.manifest)
    assert valid(manifest(subject=None), schemas.manifest)
    assert valid(manifest(subject={**LAYER}), schemas.manifest)
    assert not valid(manifest(subject="sha256:abc"), schemas.manifest)
    assert not valid(manifest(layers={}), schemas.manifest)
    assert not valid(manifest(layers=[{**LAYER, "size": "big"}]), schemas.manifest)
    assert not valid(manifest(schemaVersion="2"), schemas.manifest)
    assert not valid([], schemas.manifest)


def test_manifest_ref_schema() -> None:
    schema = schemas.manifestRef
    ref = {**LAYER, "mediaType": "application/vnd.oci.image.manifest.v1+json"}
    assert valid(ref, schema)
    assert valid({**ref, "platform": {"architecture": "amd64", "os": "linux"}}, schema)
    assert not valid({k: v for k, v in ref.items() if k != "digest"}, schema)
    assert not valid({**ref, "platform": "linux/amd64"}, schema)


def test_index_schema() -> None:
    ref = {**LAYER, "mediaType": "application/vnd.oci.image.manifest.v1+json"}
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [ref],
    }
    assert valid(index, schemas.index)
    assert valid({**index, "manifests": []}, schemas.index)
    assert valid({**index, "artifactType": "application/vnd.acme", "subject": ref}, schemas.index)
    assert not valid({**index, "schemaVersion": 1}, schemas.index)
    assert not valid({k: v for k, v in index.items() if k != "manifests"}, schemas.index)
    assert not valid({**index, "manifests": [{"mediaType": "x"}]}, schemas.index)
