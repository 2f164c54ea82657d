"""The `index.json` of an OCI image layout: read and validated, held in memory under the
store's lock, changed entry by entry (a tag is an entry's `org.opencontainers.image.ref.name`
annotation) and persisted by the store, each file replaced in one rename.

Limits: `index.json` is read up to `MAX_INDEX_SIZE` bytes.
"""

from __future__ import annotations

import copy
import json
import os
import pathlib
import threading
import uuid
from typing import Any, BinaryIO, Callable, Iterator, Optional

from oras import defaults
from oras.descriptor import Descriptor
from oras.digest import split_digest, validate_digest
from oras.errors import InvalidDigestError, InvalidLayoutError, ProtocolError
from oras.manifest import GRAPH_MEDIA_TYPES

__all__ = ["LayoutIndex", "MAX_INDEX_SIZE"]

#: Largest `index.json` read (a layout with tens of thousands of tags stays well below it).
MAX_INDEX_SIZE = 16 * 1024 * 1024

_INDEX_FILE = defaults.oci_image_index_file
_REF_NAME = defaults.oci_ref_name_annotation
#: Algorithms whose digests are never taken for tags.
_DIGEST_ALGORITHMS = frozenset({"sha256", "sha512", "blake3"})
#: Temporary files and directories of the layout stores start with this (never a valid digest).
_TEMP_PREFIX = ".oras-"


def _is_content_digest(reference: str) -> bool:
    """Whether `reference` is a digest of a registered algorithm (`app:v1` is well formed as
    a digest too, but is a fine tag)."""
    try:
        algorithm, _ = split_digest(reference)
    except InvalidDigestError:
        return False
    return algorithm in _DIGEST_ALGORITHMS


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidLayoutError(f"{what} is not valid JSON: {e}") from None
    if not isinstance(document, dict):
        raise InvalidLayoutError(f"{what} is not a JSON object")
    return document


def _read_limited(stream: BinaryIO, limit: int, what: str) -> bytes:
    with stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise InvalidLayoutError(f"{what} is over the {limit} byte limit")
    return data


def _temp_file(directory: pathlib.Path, stem: str) -> tuple[pathlib.Path, int]:
    """A new file in `directory`, open for writing (mode 0666 less the umask, as a plain file
    would get); returns its path and descriptor."""
    while True:
        path = directory / f"{_TEMP_PREFIX}{stem}-{uuid.uuid4().hex[:16]}.tmp"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0))
        except FileExistsError:  # pragma: no cover - 64 random bits
            continue
        return path, fd


def _write_atomically(path: pathlib.Path, data: bytes) -> None:
    """Replace `path` with `data` in one rename: a reader sees the old or the new file whole."""
    temp, fd = _temp_file(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _parse_index(raw: bytes, where: str) -> dict[str, Any]:
    """`index.json` as a JSON object whose `manifests` are descriptors; every other field kept."""
    what = f"{where}/{_INDEX_FILE}"
    document = _json_object(raw, what)
    manifests = document.get("manifests")
    if manifests is None:
        manifests = []
    if not isinstance(manifests, list):
        raise InvalidLayoutError(f"{what}: `manifests` is not a list")
    for i, entry in enumerate(manifests):
        try:
            if not isinstance(entry, dict):
                raise ValueError("not an object")
            desc = Descriptor.from_dict(entry)
            validate_digest(desc.digest)
            if desc.size < 0:
                raise ValueError("negative size")
            annotations = entry.get("annotations")
            if annotations is not None and not isinstance(annotations, dict):
                raise ValueError("`annotations` is not an object")
        except (ValueError, ProtocolError) as e:
            raise InvalidLayoutError(f"{what}: manifests[{i}] is not a descriptor: {e}") from None
    document["manifests"] = manifests
    return document


def _validate_index(raw: bytes, where: str) -> None:
    """InvalidLayoutError unless `raw` is an image index (schemaVersion 2, the OCI index media
    type when set) of descriptors."""
    index = _parse_index(raw, where)
    if index.get("schemaVersion") != defaults.oci_index_schema_version:
        raise InvalidLayoutError(
            f"{where}/{_INDEX_FILE}: schemaVersion must be "
            f"{defaults.oci_index_schema_version}, not {index.get('schemaVersion')!r}"
        )
    media_type = index.get("mediaType", defaults.default_index_media_type)
    if media_type != defaults.default_index_media_type:
        raise InvalidLayoutError(
            f"{where}/{_INDEX_FILE}: mediaType must be "
            f"{defaults.default_index_media_type}, not {media_type!r}"
        )


def _new_index() -> dict[str, Any]:
    return {
        "schemaVersion": defaults.oci_index_schema_version,
        "mediaType": defaults.default_index_media_type,
        "manifests": [],
    }


def _ref_name(entry: dict[str, Any]) -> Optional[str]:
    annotations = entry.get("annotations")
    if not isinstance(annotations, dict):
        return None
    name = annotations.get(_REF_NAME)
    return name if isinstance(name, str) and name else None


def _entry_descriptor(entry: dict[str, Any]) -> Descriptor:
    """An `index.json` entry as a descriptor, without its tag annotation."""
    desc = Descriptor.from_dict(copy.deepcopy(entry))
    if desc.annotations is not None:
        annotations = {k: v for k, v in desc.annotations.items() if k != _REF_NAME}
        desc.annotations = annotations or None
    return desc


class LayoutIndex:
    """A layout's `index.json` in memory: its entries and every other field as read. A change
    takes `lock` (the store's) and is persisted by `save` (called with the lock held); a tag
    or an entry added is undone in memory when saving fails."""

    def __init__(self, lock: threading.RLock, save: Callable[[], None]) -> None:
        self.lock = lock
        self.document: dict[str, Any] = _new_index()
        self._save = save

    def load(self, raw: bytes, where: str) -> None:
        """Take `raw` (the bytes of `<where>/index.json`) as the index."""
        self.document = _parse_index(raw, where)

    def encode(self) -> bytes:
        """The index as `index.json` holds it."""
        return json.dumps(self.document, separators=(",", ":")).encode()

    def entries(self) -> list[dict[str, Any]]:
        """The entries as they are now (a copy of the list)."""
        with self.lock:
            return list(self.document["manifests"])

    def tags(self, last: Optional[str] = None) -> Iterator[str]:
        """The tags, sorted, starting after `last`."""
        with self.lock:
            names = {_ref_name(e) for e in self.document["manifests"]}
        return iter(sorted(n for n in names if n and (last is None or n > last)))

    def declared_media_types(self) -> dict[str, str]:
        """digest -> media type of the entries that name a manifest or index by its type."""
        declared: dict[str, str] = {}
        for entry in self.document["manifests"]:
            if entry.get("mediaType") in GRAPH_MEDIA_TYPES:
                declared[entry["digest"]] = entry["mediaType"]
        return declared

    def tag(self, desc: Descriptor, reference: str) -> None:
        """Point the tag `reference` at `desc`: its entry is replaced (or added), every other
        entry and field is kept."""
        entry = desc.identity().to_dict()
        if desc.platform:
            entry["platform"] = dict(desc.platform)
        entry["annotations"] = {**(desc.annotations or {}), _REF_NAME: reference}
        with self.lock:
            kept = [e for e in self.document["manifests"] if _ref_name(e) != reference]
            self._replace([*kept, entry])

    def add_untagged(self, desc: Descriptor) -> None:
        """An entry for `desc` (no tag) unless one names its digest already."""
        entry = desc.to_dict()
        with self.lock:
            if any(e.get("digest") == desc.digest for e in self.document["manifests"]):
                return
            self._replace([*self.document["manifests"], entry])

    def remove(self, digest: str) -> None:
        """Drop every entry (tag) that names `digest`."""
        with self.lock:
            entries = self.document["manifests"]
            kept = [e for e in entries if e.get("digest") != digest]
            if len(kept) != len(entries):
                self.document["manifests"] = kept
                self._save()

    def _replace(self, entries: list[dict[str, Any]]) -> None:
        previous = self.document["manifests"]
        self.document["manifests"] = entries
        try:
            self._save()
        except BaseException:
            self.document["manifests"] = previous
            raise
