"""JSON Schemas (draft-07) for OCI descriptors, manifests and indexes, with oras-py's names."""

from __future__ import annotations

from typing import Any

schema_url = "http://json-schema.org/draft-07/schema"

# Annotations are string maps in OCI; oras-py also lets null and arrays through.
_annotations: dict[str, Any] = {"type": ["object", "null", "array"]}

# A descriptor (layer or config). No "required" here, so an empty config `{}` passes inside a
# manifest; the stand-alone `layer` schema below adds the required keys.
layerProperties: dict[str, Any] = {
    "type": "object",
    "properties": {
        "mediaType": {"type": "string"},
        "size": {"type": "number"},
        "digest": {"type": "string"},
        "annotations": _annotations,
    },
}

layer: dict[str, Any] = {
    "$schema": schema_url,
    "title": "Layer Schema",
    "required": ["mediaType", "size", "digest"],
    "additionalProperties": True,
    **layerProperties,
}

manifestProperties: dict[str, Any] = {
    "schemaVersion": {"type": "number"},
    "subject": {"type": ["null", "object"]},
    "mediaType": {"type": "string"},
    "layers": {"type": "array", "items": layerProperties},
    "config": layerProperties,
    "annotations": _annotations,
}

manifest: dict[str, Any] = {
    "$schema": schema_url,
    "title": "Manifest Schema",
    "type": "object",
    "required": ["schemaVersion", "config", "layers"],
    "properties": manifestProperties,
    "additionalProperties": True,
}

manifestRefProperties: dict[str, Any] = {
    "mediaType": {"type": "string"},
    "size": {"type": "number"},
    "digest": {"type": "string"},
    "platform": {"type": "object"},
    "annotations": _annotations,
}

manifestRef: dict[str, Any] = {
    "$schema": schema_url,
    "title": "Manifest Reference Schema",
    "type": "object",
    "required": ["mediaType", "size", "digest"],
    "properties": manifestRefProperties,
    "additionalProperties": True,
}

indexProperties: dict[str, Any] = {
    "schemaVersion": {"type": "number", "const": 2},
    "mediaType": {"type": "string"},
    "artifactType": {"type": "string"},
    "manifests": {"type": "array", "items": manifestRef},
    "subject": {"type": ["null", "object"]},
    "annotations": _annotations,
}

index: dict[str, Any] = {
    "$schema": schema_url,
    "title": "Index Schema",
    "type": "object",
    "required": ["schemaVersion", "manifests"],
    "properties": indexProperties,
    "additionalProperties": True,
}
