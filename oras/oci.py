"""oras-py's manifest pieces: empty manifest, layer and config descriptors, annotations, subject."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
from typing import Any, Mapping, Optional, Union

from oras import defaults, schemas
from oras.digest import digest_bytes, digest_file
from oras.errors import InvalidAnnotationsError
from oras.pack import EMPTY_MANIFEST
from oras.schema_check import validate
from oras.utils.fileio import check_path, read_json

__all__ = [
    "Annotations",
    "EmptyManifest",
    "Layer",
    "ManifestConfig",
    "NewLayer",
    "NewManifest",
    "Subject",
]

log = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

EmptyManifest: dict[str, Any] = EMPTY_MANIFEST


def NewManifest() -> dict[str, Any]:
    """A fresh copy of EmptyManifest, safe to fill in."""
    return copy.deepcopy(EmptyManifest)


def _file_descriptor(path: PathLike, media_type: str) -> dict[str, Any]:
    digest, size = digest_file(os.fspath(path))
    descriptor = {"mediaType": media_type, "size": size, "digest": digest}
    validate(descriptor, schemas.layer)
    return descriptor


class Annotations:
    """Annotations from an annotation file (or a dict): `$manifest`, `$config` and per-path maps."""

    def __init__(self, filename: Union[PathLike, Mapping[str, Any], None] = None):
        self.lookup: dict[str, Any] = {}
        self.load(filename)

    def load(self, filename: Union[PathLike, Mapping[str, Any], None]) -> None:
        """Replace the lookup with a JSON file's content (or a dict's copy); None does nothing."""
        if filename is None:
            return
        if isinstance(filename, Mapping):
            content: Any = copy.deepcopy(dict(filename))
            source = "annotations"
        else:
            check_path(filename, "annotation file")
            if not os.path.exists(filename):
                raise FileNotFoundError(f"Annotation file {os.fspath(filename)} does not exist.")
            source = f"Annotation file {os.fspath(filename)}"
            try:
                content = read_json(filename)
            except (ValueError, RecursionError) as e:  # not JSON, not UTF-8, nested too deep
                reason = str(e).splitlines()[0][:200] if str(e) else "nested too deeply"
                raise InvalidAnnotationsError(f"{source} is not valid JSON: {reason}") from None
        if not isinstance(content, dict):
            raise InvalidAnnotationsError(
                f"{source} must be a JSON object of sections, not {type(content)}."
            )
        for section, values in content.items():
            if not isinstance(values, dict):
                raise InvalidAnnotationsError(
                    f"{source}: section {section!r} must be an object of annotations."
                )
            check_annotations(values, f"{source}, section {section!r}")
        self.lookup = content

    def add(self, section: str, key: str, value: str) -> None:
        self.lookup.setdefault(section, {})[key] = value

    def get_annotations(self, section: Union[str, PathLike]) -> dict[str, Any]:
        """Annotations of `section`: `$manifest`, `$config`, or a file or directory path.

        A path is looked up as given, normalised (so `dir/` finds `dir`) and absolute; keys in
        the file may be written in any of those forms too.
        """
        key = os.fspath(section)
        for form in (key, os.path.normpath(key), os.path.abspath(key)):
            if form in self.lookup:
                return self.lookup[form]
        wanted = os.path.abspath(key)
        for name, values in self.lookup.items():
            if os.path.abspath(name) == wanted:
                return values
        return {}

    def unmatched(self, paths: list[PathLike]) -> list[str]:
        """The file keys (not `$manifest` or `$config`) that name none of `paths`, in file order;
        a key names a path when both lead to the same absolute path (see `get_annotations`)."""
        wanted = {os.path.abspath(os.fspath(p)) for p in paths}
        return [
            name
            for name in self.lookup
            if name not in _SECTIONS and os.path.abspath(name) not in wanted
        ]


#: The annotation file's keys that are not file paths.
_SECTIONS = ("$manifest", "$config")


def check_annotations(annotations: Mapping[Any, Any], source: str) -> None:
    """Refuse what a manifest cannot carry, before anything is uploaded: an empty annotation
    name, or a value that is not a string (the registry would refuse the manifest)."""
    for name, value in annotations.items():
        if not isinstance(name, str) or not name.strip():
            raise InvalidAnnotationsError(
                f"{source}: annotation names must not be empty ({name!r})."
            )
        if not isinstance(value, str):
            raise InvalidAnnotationsError(
                f"{source}: the value of annotation {name!r} must be a string, "
                f"not {type(value).__name__}."
            )


class Layer:
    """A file (or a directory's tarball) about to become a layer descriptor."""

    def __init__(self, blob_path: PathLike, media_type: Optional[str] = None, is_dir: bool = False):
        self.blob_path = blob_path
        self.set_media_type(media_type, is_dir)

    def set_media_type(self, media_type: Optional[str] = None, is_dir: bool = False) -> None:
        """Use `media_type`, else the default for a directory (tar+gzip) or a file (tar)."""
        if media_type:
            self.media_type = media_type
        elif is_dir:
            self.media_type = defaults.default_blob_dir_media_type
        else:
            self.media_type = defaults.default_blob_media_type

    def to_dict(self) -> dict[str, Any]:
        """`{"mediaType", "size", "digest"}` of the blob, validated against `schemas.layer`."""
        return _file_descriptor(self.blob_path, self.media_type)


def NewLayer(
    blob_path: PathLike, media_type: Optional[str] = None, is_dir: bool = False
) -> dict[str, Any]:
    """The layer descriptor of a file (see `Layer`)."""
    return Layer(blob_path, media_type, is_dir).to_dict()


def ManifestConfig(
    path: Optional[PathLike] = None, media_type: Optional[str] = None
) -> tuple[dict[str, Any], Optional[str]]:
    """The config descriptor and the file to upload, or the `{}` blob's descriptor and None.

    A path that does not exist falls back to `{}`, as in oras-py, but with a warning.
    """
    media_type = media_type or defaults.unknown_config_media_type
    if path is not None:
        check_path(path, "config file")
    if path is not None and os.path.exists(path):
        return _file_descriptor(path, media_type), os.fspath(path)
    if path is not None:
        log.warning("Config file %s does not exist; using an empty config {}.", os.fspath(path))
    conf = {"mediaType": media_type, "size": 2, "digest": defaults.blank_config_hash}
    validate(conf, schemas.layer)
    return conf, None


@dataclasses.dataclass
class Subject:
    """The `subject` of a manifest: the descriptor of the manifest it refers to."""

    mediaType: str
    digest: str
    size: int

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> Subject:
        """Subject of a manifest dict, digesting `json.dumps(manifest)` as oras-py does.

        Only right when the registry holds exactly those bytes (manifests pushed by oras-py);
        prefer `from_bytes` with the fetched bytes, or `from_descriptor`.
        """
        return cls.from_bytes(
            json.dumps(manifest).encode("utf-8"),
            manifest.get("mediaType") or defaults.default_manifest_media_type,
        )

    @classmethod
    def from_bytes(cls, data: bytes, media_type: Optional[str] = None) -> Subject:
        """Subject of a manifest's exact bytes; the media type defaults to the one inside them."""
        if media_type is None:
            try:
                media_type = json.loads(data).get("mediaType")
            except (ValueError, AttributeError):
                media_type = None
        return cls(
            media_type or defaults.default_manifest_media_type, digest_bytes(data), len(data)
        )

    @classmethod
    def from_descriptor(cls, desc: Mapping[str, Any]) -> Subject:
        """Subject from a descriptor dict (`mediaType`, `digest`, `size`), e.g. a manifest HEAD."""
        try:
            return cls(str(desc["mediaType"]), str(desc["digest"]), int(desc["size"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"Not a descriptor (mediaType, digest, size): {desc!r}") from exc

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
