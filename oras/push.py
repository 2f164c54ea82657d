"""Push: local files packed into a manifest and copied into any store (a registry's
repository, an OCI layout).

Each file becomes a blob in a local store (`FileSource`; a directory is packed into a
reproducible tar+gzip) and is copied to the destination by the copy engine as soon as it is
packed, the config alongside the files; the manifest is built from their descriptors and sent
last, under its tag. `Registry.push` is this copy into the registry through the client's
hooks (with two registry-only shortcuts: stdin streamed in chunks, large files uploaded while
they are hashed); the CLI also pushes into OCI layouts by giving it another destination.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from oras import defaults, schemas
from oras.concurrency import PUSH_CONCURRENCY, TransferSlots, map_concurrently
from oras.content import Storage
from oras.content.files import FileSource
from oras.copy import CopyGraphOptions, copy_graph
from oras.descriptor import Descriptor
from oras.digest import Hasher
from oras.errors import ArgumentError
from oras.pack import (
    PackedBlob,
    StreamEntry,
    build_manifest,
    manifest_bytes,
    pack_path,
    title_for,
)
from oras.progress import DONE, EXISTS, STARTED, ProgressCallback, ProgressReporter
from oras.remote.blob_push import push_file_while_hashing, push_stream
from oras.remote.repository import Repository
from oras.schema_check import validate as validate_schema

__all__ = ["ConfigSpec", "IMAGE_SPECS", "Packing", "PushOptions", "prepare_entries", "push_files"]

log = logging.getLogger(__name__)

#: A file to push: (path, media type or "", annotations), or a stream read as it is pushed.
Entry = Any


@dataclass
class ConfigSpec:
    """The manifest's config: a file (None: the empty `{}`), its media type, annotations."""

    path: Optional[str] = None
    media_type: str = defaults.unknown_config_media_type
    annotations: dict[str, str] = field(default_factory=dict)


#: The image-spec versions a push can pack for: 1.1 (`artifactType`) and 1.0 (config type).
IMAGE_SPECS = ("v1.1", "v1.0")


@dataclass(frozen=True)
class Packing:
    """Where a push writes the artifact type: image-spec 1.1's `artifactType` (with the empty
    config descriptor when no config is given), or 1.0's config media type."""

    #: The manifest's `artifactType` (None: not written).
    artifact_type: Optional[str]
    #: The config's media type when the config (or its `path:type`) names none.
    config_media_type: str

    @classmethod
    def choose(cls, artifact_type: Optional[str], image_spec: str, has_config: bool) -> Packing:
        """The packing for a push: without `artifact_type` oras-py's (no `artifactType`, an
        unknown-type config); ArgumentError for an unknown `image_spec` or for a 1.0 push
        that has both an artifact type and a config (1.0 has one place for the two)."""
        if image_spec not in IMAGE_SPECS:
            raise ArgumentError(
                f"unknown image spec {image_spec!r}: use one of {', '.join(IMAGE_SPECS)}"
            )
        if not artifact_type:
            return cls(None, defaults.unknown_config_media_type)
        if image_spec == "v1.0":
            if has_config:
                raise ArgumentError(
                    "an artifact type and a config cannot both be given for image-spec v1.0",
                    hint="drop one of them, or pack for image-spec v1.1",
                )
            return cls(None, artifact_type)
        config_type = (
            defaults.unknown_config_media_type if has_config else defaults.empty_media_type
        )
        return cls(artifact_type, config_type)


@dataclass
class PushOptions:
    #: Blobs sent at once; None: from PUSH_CONCURRENCY up to MAX_CONCURRENCY while the
    #: throughput measured rewards more (`oras.concurrency.AdaptiveConcurrency`).
    concurrency: Optional[int] = None
    progress: Optional[ProgressCallback] = None
    #: Where the config goes (default: the destination); a registry sends it unchunked.
    config_destination: Optional[Storage] = None
    #: A destination's own way to send an entry whose digest is not known yet (a stream, a
    #: file to upload while it is hashed): returns its layer, or None to pack it as usual.
    send_unpacked: Optional[Callable[[Entry], Optional[dict[str, Any]]]] = None
    #: The destination reports each blob's progress itself (a client's upload hooks do);
    #: otherwise the copy reports it.
    destination_reports_progress: bool = False


def prepare_entries(
    files: list[Any],
    annotation_file: Any,
    disable_path_validation: bool = False,
    manifest_annotations: Optional[dict[str, str]] = None,
    chunk_size: Optional[int] = None,
) -> tuple[Any, list[Entry]]:
    """Check everything before anything is sent (a typo fails fast): each path exists (and
    lies below the current directory unless `disable_path_validation`), titles are unique,
    annotations are ones a manifest can carry, `chunk_size` (when chunks will be used) is at
    least one byte. Returns the annotations (oras.oci.Annotations) and the entries to push.
    Annotation-file keys that name no pushed file are logged as a warning (oras-py ignored
    them silently)."""
    import oras.oci
    from oras.pack import check_unique_titles, resolve_entry

    annotset = oras.oci.Annotations(annotation_file)
    entries: list[Entry] = []
    for entry in files:
        if isinstance(entry, StreamEntry):
            entries.append(entry)
        else:
            path, media_type = resolve_entry(entry, disable_path_validation)
            entries.append((path, media_type, annotset.get_annotations(path)))
    check_unique_titles(entries)
    oras.oci.check_annotations(manifest_annotations or {}, "manifest_annotations")
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size >= 1):
        raise ValueError(f"chunk_size must be at least 1 byte, not {chunk_size!r}")
    paths = [entry[0] for entry in entries if not isinstance(entry, StreamEntry)]
    for name in annotset.unmatched(paths):
        log.warning("Annotation file entry %r matches no pushed file: it is not used.", name)
    return annotset, entries


def push_files(
    entries: list[Entry],
    destination: Storage,
    config: ConfigSpec,
    manifest_annotations: Optional[dict[str, str]] = None,
    subject: Any = None,
    reference: Optional[str] = None,
    options: Optional[PushOptions] = None,
    artifact_type: Optional[str] = None,
) -> Descriptor:
    """Pack `entries` and copy them, their config and the manifest into `destination`; the
    manifest is tagged `reference` (by digest only when it is None). Returns its descriptor.

    With `artifact_type` the manifest is an image-spec 1.1 artifact: it carries
    `artifactType`, and without entries its single layer is the empty descriptor (whose
    `{}` blob is sent too, as the spec asks)."""
    options = options or PushOptions()
    source = FileSource()
    packed: list[PackedBlob] = []
    lock = threading.Lock()
    report = options.progress

    def copy_blob(desc: Descriptor, to: Storage) -> dict[str, Any]:
        layer = desc.to_dict()
        reporter = ProgressReporter(report, "upload", layer)
        graph_options = CopyGraphOptions(
            concurrency=1, on_copy_skipped=lambda _d: reporter.emit(EXISTS)
        )
        if not options.destination_reports_progress:
            graph_options.pre_copy = lambda _d: reporter.emit(STARTED)
            graph_options.on_bytes = lambda _d, n: reporter.advance(n)
            graph_options.post_copy = lambda _d: reporter.emit(DONE)
        copy_graph(source, to, desc, graph_options)
        return layer

    def keep(item: PackedBlob) -> Descriptor:
        with lock:
            packed.append(item)
        source.add_path(item.descriptor, item.path)
        return item.descriptor

    def push_node(entry: Entry) -> dict[str, Any]:
        if entry is _CONFIG:  # small: never in chunks
            return copy_blob(
                _pack_config(source, config), options.config_destination or destination
            )
        if options.send_unpacked is not None:
            layer = options.send_unpacked(entry)
            if layer is not None:
                return layer
        if isinstance(entry, StreamEntry):
            return copy_blob(keep(_spool_stream(entry)), destination)
        path, media_type, annotations = entry
        return copy_blob(keep(pack_path(path, media_type, annotations)), destination)

    try:
        config_layer, *layers = map_concurrently(
            push_node,
            [_CONFIG, *entries],
            TransferSlots(options.concurrency, PUSH_CONCURRENCY),
            weigh=lambda layer: max(0, layer.get("size", 0)),
        )
    finally:
        for item in packed:
            item.cleanup()
    if artifact_type and not entries:
        layers = [_empty_layer(source, options.config_destination or destination)]
    manifest = build_manifest(
        config_layer, layers, dict(manifest_annotations or {}), subject, artifact_type
    )
    validate_schema(manifest, schemas.manifest)
    root = source.add_bytes(
        manifest.get("mediaType") or defaults.default_manifest_media_type,
        manifest_bytes(manifest),
    )
    copy_graph(
        source,
        destination,
        root,
        # Everything it points at is in place: send the manifest, without asking first.
        CopyGraphOptions(find_successors=lambda _d, _c: [], skip_existing=False),
        root_reference=reference,
    )
    return root


#: Stands for the manifest's config among the blobs a push sends.
_CONFIG = object()


def send_while_hashing(
    repository: Repository,
    path: str,
    media_type: str,
    annotations: dict[str, str],
    report: Optional[ProgressCallback],
) -> Optional[dict[str, Any]]:
    """Upload one large file to a registry in the same pass that hashes it; its layer, or
    None when the registry does not take chunked uploads (then it is hashed first, and
    uploaded in one request, as any file)."""
    layer = Descriptor(
        media_type=media_type or defaults.default_blob_media_type,
        digest="",
        size=os.path.getsize(path),
        annotations={defaults.annotation_title: title_for(path), **(annotations or {})},
    ).to_dict()
    reporter = ProgressReporter(report, "upload", layer)
    reporter.emit(STARTED)
    pushed = push_file_while_hashing(repository, path, reporter.advance)
    if pushed is None:
        return None
    layer["digest"] = pushed.digest
    reporter.emit(EXISTS if pushed.existed else DONE)
    return layer


def send_stream(
    repository: Repository,
    entry: StreamEntry,
    chunk_size: int,
    report: Optional[ProgressCallback],
) -> dict[str, Any]:
    """Upload a stream of unknown size and digest (stdin) in chunks as it is read; its layer."""
    layer: dict[str, Any] = {
        "mediaType": entry.media_type,
        "size": -1,
        "digest": "",
        "annotations": {defaults.annotation_title: entry.title},
    }
    reporter = ProgressReporter(report, "upload", layer)
    reporter.emit(STARTED)
    pushed = push_stream(repository, entry.stream, chunk_size, reporter.advance)
    layer.update(size=pushed.size, digest=pushed.digest)
    reporter.emit(DONE)
    return layer


def _empty_layer(source: FileSource, destination: Storage) -> dict[str, Any]:
    """The empty descriptor as the only layer of an artifact without files, its blob sent."""
    from oras.descriptor import EMPTY_JSON

    desc = source.add_bytes(defaults.empty_media_type, EMPTY_JSON)
    copy_graph(source, destination, desc, CopyGraphOptions(concurrency=1))
    return desc.to_dict()


def _pack_config(source: FileSource, config: ConfigSpec) -> Descriptor:
    import oras.oci

    layer, config_file = oras.oci.ManifestConfig(path=config.path, media_type=config.media_type)
    if config.annotations:
        layer["annotations"] = dict(config.annotations)
    desc = Descriptor.from_dict(layer)
    if config_file is None:
        source.add_bytes(desc.media_type, b"{}")
    else:
        source.add_path(desc, config_file)
    return desc


def _spool_stream(entry: StreamEntry) -> PackedBlob:
    """A stream (stdin) saved to a temporary file and hashed, for a destination that needs
    the digest first."""
    from oras import scratch

    fd, path = tempfile.mkstemp(prefix="oras-stream-")
    scratch.track(path)
    hasher = Hasher()
    try:
        with os.fdopen(fd, "wb") as fh:
            while True:
                chunk = entry.stream.read(1024 * 1024)
                if not chunk:
                    break
                hasher.update(chunk)
                fh.write(chunk)
    except BaseException:
        os.unlink(path)
        scratch.untrack(path)
        raise
    desc = Descriptor(
        media_type=entry.media_type,
        digest=hasher.digest(),
        size=hasher.size,
        annotations={defaults.annotation_title: entry.title},
    )
    return PackedBlob(path=path, descriptor=desc, temporary=True)
