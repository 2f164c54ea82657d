"""Checks that a directory is an OCI image layout: `blobs/`, `oci-layout` and `index.json`."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any, Union

import oras.defaults as defaults

__all__ = [
    "read_index",
    "validate_blobs_directory",
    "validate_index_json",
    "validate_layout",
    "validate_oci_layout_file",
]

PathLike = Union[str, os.PathLike]


def validate_layout(path: PathLike) -> str:
    """Validate the layout at `path` and return its resolved absolute path.

    Raises FileNotFoundError when the directory or a required entry is missing and
    ValueError when one exists but is malformed.
    """
    layout_dir = pathlib.Path(path).expanduser().resolve()
    if not layout_dir.exists():
        raise FileNotFoundError(f"Path does not exist: {os.fspath(path)}")
    if not layout_dir.is_dir():
        raise ValueError(f"Path is not a directory: {os.fspath(path)}")
    validate_blobs_directory(layout_dir)
    validate_oci_layout_file(layout_dir)
    validate_index_json(layout_dir)
    return str(layout_dir)


def validate_blobs_directory(layout_dir: pathlib.Path) -> None:
    """`blobs/` must exist and be a directory (it may be empty)."""
    blobs_dir = layout_dir / defaults.oci_blobs_dir
    if not blobs_dir.exists():
        raise FileNotFoundError(
            f"Required directory '{defaults.oci_blobs_dir}' not found in {layout_dir}"
        )
    if not blobs_dir.is_dir():
        raise ValueError(f"'{defaults.oci_blobs_dir}' in {layout_dir} is not a directory")


def validate_oci_layout_file(layout_dir: pathlib.Path) -> None:
    """`oci-layout` must be a JSON object whose `imageLayoutVersion` is "1.0.0"."""
    name = defaults.oci_layout_file
    data = _read_json_object(layout_dir / name)
    if "imageLayoutVersion" not in data:
        raise ValueError(f"File '{name}' must contain an 'imageLayoutVersion' property")
    version = data["imageLayoutVersion"]
    if not isinstance(version, str):
        raise ValueError(
            f"imageLayoutVersion in '{name}' must be '{defaults.oci_layout_version_pin}' "
            f"(a string), got {type(version).__name__}: {version!r}"
        )
    if version != defaults.oci_layout_version_pin:
        raise ValueError(
            f"imageLayoutVersion in '{name}' must be "
            f"'{defaults.oci_layout_version_pin}', got: {version!r}"
        )


def validate_index_json(layout_dir: pathlib.Path) -> None:
    """`index.json` must be an image index: `schemaVersion` 2 and, if set, the OCI index type."""
    read_index(layout_dir)


def read_index(layout_dir: pathlib.Path) -> dict[str, Any]:
    """The validated content of the layout's `index.json`."""
    name = defaults.oci_image_index_file
    data = _read_json_object(layout_dir / name)
    if "schemaVersion" not in data:
        raise ValueError(f"File '{name}' must contain a 'schemaVersion' property")
    if data["schemaVersion"] != defaults.oci_index_schema_version:
        raise ValueError(
            f"schemaVersion in '{name}' must be {defaults.oci_index_schema_version}, "
            f"got: {data['schemaVersion']!r}"
        )
    if "mediaType" in data and data["mediaType"] != defaults.default_index_media_type:
        raise ValueError(
            f"mediaType in '{name}' must be '{defaults.default_index_media_type}', "
            f"got: {data['mediaType']!r}"
        )
    if not isinstance(data.get("manifests", []), list):
        raise ValueError(f"'manifests' in '{name}' must be a list")
    return data


def _read_json_object(path: pathlib.Path) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(f"Required file '{path.name}' not found in {path.parent}")
    try:
        data = json.loads(path.read_bytes())
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        raise ValueError(f"File '{path.name}' is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"File '{path.name}' must contain a JSON object")
    return data


# oras-py's private names, for code that imported them.
_validate_blobs_directory = validate_blobs_directory
_validate_oci_layout_file = validate_oci_layout_file
_validate_index_json = validate_index_json
