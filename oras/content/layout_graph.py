"""The manifest graph of an OCI image layout: which blobs are manifests (and of which media
type, when no descriptor in the layout says), which manifests point at a blob, and the walk
from a root down to everything it reaches."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Optional, Union

from oras.content.reader import read_all, verify_bytes
from oras.descriptor import Descriptor
from oras.errors import DigestMismatchError, ProtocolError
from oras.manifest import GRAPH_MEDIA_TYPES, is_manifest, successors

# The layout store's logger: its warnings kept their logger when this module was split off.
log = logging.getLogger("oras.content.layout")

#: A JSON blob with none of these keys is not a manifest (an image config, say).
_MANIFEST_KEYS = frozenset({"mediaType", "manifests", "layers", "blobs", "subject"})

#: A layout's path, as its warnings name it.
Where = Union[str, "os.PathLike[str]"]


def manifest_descriptor(
    digest: str, data: bytes, media_type: Optional[str] = None
) -> Optional[Descriptor]:
    """The descriptor of a manifest blob, media type from its own `mediaType` (else
    `media_type`); None when the bytes are not a manifest."""
    data_start = data[:64].lstrip()
    if not data_start.startswith(b"{"):
        return None
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    own = document.get("mediaType")
    chosen = own if own in GRAPH_MEDIA_TYPES else media_type
    if chosen not in GRAPH_MEDIA_TYPES:
        return None
    artifact_type = document.get("artifactType")
    annotations = document.get("annotations")
    return Descriptor(
        media_type=chosen,
        digest=digest,
        size=len(data),
        artifact_type=artifact_type if isinstance(artifact_type, str) and artifact_type else None,
        annotations=dict(annotations) if isinstance(annotations, dict) and annotations else None,
    )


def verified_manifest(
    digest: str, data: bytes, media_type: Optional[str], size: int, where: Where
) -> Optional[Descriptor]:
    """`manifest_descriptor(digest, data, media_type)` when `data` is `size` bytes of that
    digest; None when it is not a manifest, or (with a warning) when its bytes do not match."""
    desc = manifest_descriptor(digest, data, media_type)
    if desc is None:
        return None
    try:
        verify_bytes(data, Descriptor(desc.media_type, digest, size), f"manifest {digest}")
    except DigestMismatchError as e:
        log.warning("%s in %s: ignored", e, where)
        return None
    return desc


def _descriptor_values(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The descriptor objects a manifest or index holds (whatever their validity)."""
    for key in ("subject", "config"):
        value = document.get(key)
        if isinstance(value, dict):
            yield value
    for key in ("manifests", "layers", "blobs"):
        values = document.get(key)
        if isinstance(values, list):
            yield from (v for v in values if isinstance(v, dict))


def scan_manifests(
    json_blobs: Iterable[tuple[str, bytes]],
    declared: dict[str, str],
    pushed: dict[str, Descriptor],
    where: Where,
) -> Iterator[tuple[Descriptor, bytes]]:
    """Every manifest among `json_blobs` (digest and bytes of each blob that looks like JSON),
    with its bytes. Its media type comes from its own `mediaType`, else from `declared`
    (digest -> media type: index.json's entries and the manifests pushed), else from a
    descriptor of another blob that points at it; a manifest of `pushed` is yielded as pushed.
    A manifest whose bytes do not match its digest is skipped with a warning."""
    declared = dict(declared)
    candidates: dict[str, bytes] = {}
    for digest, data in json_blobs:
        try:
            document = json.loads(data)
        except ValueError:
            continue
        if not isinstance(document, dict) or not _MANIFEST_KEYS & document.keys():
            continue  # e.g. an image config
        candidates[digest] = data
        for value in _descriptor_values(document):
            media_type = value.get("mediaType")
            if media_type in GRAPH_MEDIA_TYPES and isinstance(value.get("digest"), str):
                declared.setdefault(value["digest"], media_type)
    for digest, data in candidates.items():
        desc = verified_manifest(digest, data, declared.get(digest), len(data), where)
        if desc is not None:
            yield (pushed.get(digest) or desc), data


class Predecessors:
    """The edges of a layout's graph, reversed: child digest -> the manifests pointing at it."""

    def __init__(self, where: Where) -> None:
        self._where = where
        self._found: dict[str, dict[str, Descriptor]] = {}

    def add(self, manifest: Descriptor, data: bytes) -> None:
        """The edges from `manifest` (whose bytes are `data`) to its successors; a manifest
        that does not parse adds none, with a warning."""
        try:
            children = successors(manifest, data)
        except ProtocolError as e:
            log.warning("%s in %s: its edges are ignored", e, self._where)
            return
        for child in children:
            self._found.setdefault(child.digest, {})[manifest.digest] = manifest

    def of(self, digest: str) -> list[Descriptor]:
        """The manifests that point at `digest`."""
        return list(self._found.get(digest, {}).values())

    def forget(self, digest: str) -> None:
        """Drop the manifest `digest` from every blob's predecessors."""
        for found in self._found.values():
            found.pop(digest, None)


def walk(fetch: Callable[[Descriptor], BinaryIO], root: Descriptor) -> list[Descriptor]:
    """Everything `root` points at and `root` itself, each once, children before their
    parents; manifests are read with `fetch` and verified on the way."""
    ordered: dict[str, Descriptor] = {}
    visiting: set[str] = set()

    def visit(node: Descriptor) -> None:
        if node.digest in ordered or node.digest in visiting:
            return
        visiting.add(node.digest)
        if is_manifest(node):
            data = read_all(fetch(node), node)
            for child in successors(node, data):
                visit(child)
        ordered[node.digest] = node

    visit(root)
    return list(ordered.values())
