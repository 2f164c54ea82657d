"""Pull: a copy of one manifest's files from any store (a registry, an OCI layout) into a
directory.

The plan comes first: which layers become which files (titles checked, one file per title),
which may not be written (keep-old-files, a directory that a file would replace), whether the
config is written too. Nothing is written before the whole plan holds. The copy engine then
moves the planned blobs from the source store into a FileSink, each verified and put in
place whole. `Registry.pull` is this copy from the registry through the client's hooks; the
CLI also pulls out of OCI layouts, and through the `ORAS_CACHE` content cache, by giving the
same copy another source store.

Limits: a title is refused when a component is longer than
`oras.filenames.MAX_FILE_NAME_BYTES` or the path longer than `oras.filenames.MAX_PATH_BYTES`;
a layer unpacked may hold at most `oras.archive.MAX_EXTRACT_MEMBERS` members, at most
`oras.archive.MAX_EXTRACT_DEPTH` deep, with extended headers of at most
`oras.archive.MAX_EXTRACT_HEADER_SIZE`, and unpack to at most `oras.archive.MAX_EXTRACT_SIZE`
bytes and `oras.archive.MAX_EXTRACT_RATIO` times its compressed size (beyond
`oras.archive.EXTRACT_RATIO_ALLOWANCE`). They are read when used: a program pulling larger
trusted archives raises them by assignment.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Optional

from oras import defaults
from oras.content import Fetcher, Storage
from oras.content.cache import ReadThroughCache
from oras.content.files import FileSink, PlannedFile
from oras.content.reader import CountingReader
from oras.copy import CopyGraphOptions, copy_graph
from oras.descriptor import Descriptor
from oras.errors import InvalidFileNameError
from oras.filenames import (
    check_file_name,
    check_output_dir,
    check_path_length,
    check_replaceable,
    drop_duplicate_outputs,
)
from oras.logger import logger
from oras.progress import DONE, RESTORED, SKIPPED, STARTED, ProgressCallback, ProgressReporter
from oras.utils import mkdir_p, sanitize_path

__all__ = ["PullOptions", "pull_files"]

log = logging.getLogger(__name__)


@dataclass
class PullOptions:
    """How a manifest's files are pulled.

    oras-py's rules by default: an untitled layer is written under its digest, and every
    tar+gzip layer is unpacked, as is any layer annotated `io.deis.oras.content.unpack:
    "true"`. Go oras's rules with `skip_untitled=True` (untitled layers are skipped and
    reported SKIPPED) and `unpack_all_targz=False` (only annotated layers are unpacked).
    """

    #: Write over existing files (false: keep them, with a warning, as `--keep-old-files`).
    overwrite: bool = True
    skip_untitled: bool = False
    unpack_all_targz: bool = True
    #: Also write the manifest's config blob to this path (relative to the output directory,
    #: the same rules as a title)...
    config_file: Optional[str] = None
    #: ...when the config has this media type (any, when None): Go oras's `--config path:type`.
    config_media_type: Optional[str] = None
    #: Blobs downloaded at once; None: from PULL_CONCURRENCY up to MAX_CONCURRENCY while the
    #: throughput measured rewards more (`oras.concurrency.AdaptiveConcurrency`).
    concurrency: Optional[int] = None
    #: Receives a ProgressEvent ("download") for each planned blob.
    progress: Optional[ProgressCallback] = None
    #: A content cache (an OCI layout) read through: blobs it holds are not downloaded
    #: (reported RESTORED), blobs downloaded are added to it (`ReadThroughCache`).
    cache: Optional[Storage] = None


def pull_files(
    source: Fetcher,
    root: Descriptor,
    manifest: dict[str, Any],
    outdir: str,
    options: Optional[PullOptions] = None,
    source_reports_progress: bool = False,
) -> list[str]:
    """Write the files of the manifest `root` (whose parsed, checked content is `manifest`)
    from `source` into `outdir`; returns the paths written, in manifest order (the config
    file last).

    Titles are checked before anything is written: one that cannot name a file raises
    InvalidFileNameError, two layers with one title DuplicateTitleError, a name leaving
    `outdir` PathTraversalError. Existing files are overwritten (kept when
    `options.overwrite` is false), but a directory is never replaced by a file nor a file by a
    directory: OutputConflictError. `source_reports_progress`: the source emits the download
    events itself (a ClientStore given `progress`); otherwise this copy emits them.
    """
    options = options or PullOptions()
    outdir = os.path.abspath(outdir)
    named: list[tuple[dict, str]] = []
    untitled: list[dict] = []
    for layer in manifest.get("layers") or []:
        if layer.get("mediaType") == defaults.empty_media_type:
            continue
        title = (layer.get("annotations") or {}).get(defaults.annotation_title)
        if options.skip_untitled and (title is None or title == ""):
            untitled.append(layer)
            continue
        name = layer["digest"] if title is None else check_file_name(title)
        outfile = sanitize_path(outdir, os.path.join(outdir, name))
        named.append((layer, check_path_length(outfile, name)))
    config = _config_to_write(manifest, options)
    if config is not None:
        name = config["annotations"][defaults.annotation_title]
        outfile = sanitize_path(outdir, os.path.join(outdir, name))
        named.append((config, check_path_length(outfile, name)))
    named = drop_duplicate_outputs(named)
    check_output_dir(outdir)
    plan: list[tuple[dict, str]] = []
    for layer, outfile in named:
        if not options.overwrite and os.path.exists(outfile):
            log.warning("%s already exists and --keep-old-files set, will not overwrite.", outfile)
            continue
        unpack = layer is not config and _unpacks(layer, options.unpack_all_targz)
        check_replaceable(outdir, outfile, directory=unpack)
        plan.append((layer, outfile))
    mkdir_p(outdir)
    for layer in untitled:
        log.debug("skipping layer %s: it has no title", layer.get("digest"))
        ProgressReporter(options.progress, "download", layer).emit(SKIPPED)
    if not plan:
        return []

    sink = FileSink(on_written=lambda path: logger.info(f"Successfully pulled {path}."))
    planned: dict[str, Descriptor] = {}
    for layer, outfile in plan:
        desc = Descriptor.from_dict(layer)
        planned.setdefault(desc.digest, desc)
        unpack = layer is not config and _unpacks(layer, options.unpack_all_targz)
        sink.add(desc, _planned_file(layer, outfile, unpack))
    children = list(planned.values())
    store = source
    if options.progress is not None and not source_reports_progress:
        store = _ReportingSource(store, planned, options.progress)
    if options.cache is not None:
        store = ReadThroughCache(
            store,
            options.cache,
            on_restored=_restored_reporter(planned, options.progress),
            cacheable=lambda desc: desc.digest in planned,
        )
    copy_graph(
        store,
        sink,
        root,
        CopyGraphOptions(
            concurrency=options.concurrency,
            find_successors=lambda desc, _content: children if desc.digest == root.digest else [],
        ),
    )
    layers_first = [outfile for layer, outfile in plan if layer is not config]
    return layers_first + [outfile for layer, outfile in plan if layer is config]


def _config_to_write(manifest: dict[str, Any], options: PullOptions) -> Optional[dict]:
    """The config descriptor to write as a file (titled with the path, for progress), if any."""
    if not options.config_file:
        return None
    config = manifest.get("config")
    if not isinstance(config, dict):
        log.warning("the manifest has no config: %s is not written", options.config_file)
        return None
    wanted = options.config_media_type
    if wanted and config.get("mediaType") != wanted:
        log.warning(
            "the config is of type %s, not %s: %s is not written",
            config.get("mediaType"),
            wanted,
            options.config_file,
        )
        return None
    try:
        check_file_name(options.config_file)
    except InvalidFileNameError as e:
        raise InvalidFileNameError(f"cannot write the config to {options.config_file!r}: {e}")
    annotations = {
        **(config.get("annotations") or {}),
        defaults.annotation_title: options.config_file,
    }
    return {**config, "annotations": annotations}


def _unpacks(layer: dict, unpack_all_targz: bool) -> bool:
    """Whether pull unpacks `layer`: marked so, or (oras-py's rule) any tar+gzip layer."""
    annotations = layer.get("annotations") or {}
    return annotations.get(defaults.annotation_unpack) == "true" or (
        unpack_all_targz and layer.get("mediaType") == defaults.default_blob_dir_media_type
    )


def _planned_file(layer: dict, outfile: str, unpack: bool) -> PlannedFile:
    if not unpack:
        return PlannedFile(outfile)
    annotations = layer.get("annotations") or {}
    title = annotations.get(defaults.annotation_title)
    label = f"layer {title!r} ({layer['digest']})" if title else f"layer {layer['digest']}"
    return PlannedFile(
        outfile, unpack=True, tar_digest=annotations.get(defaults.annotation_digest), label=label
    )


def _restored_reporter(
    planned: dict[str, Descriptor], progress: Optional[ProgressCallback]
) -> Callable[[Descriptor], None]:
    def restored(desc: Descriptor) -> None:
        known = planned.get(desc.digest)
        if known is not None:
            ProgressReporter(progress, "download", known.to_dict()).emit(RESTORED)

    return restored


class _ReportingSource:
    """A source that does not report its transfers (a layout): download events for the
    planned blobs, from the bytes read."""

    def __init__(
        self, source: Fetcher, planned: dict[str, Descriptor], progress: ProgressCallback
    ) -> None:
        self.source = source
        self.planned = planned
        self.progress = progress

    def fetch(self, desc: Descriptor) -> BinaryIO:
        known = self.planned.get(desc.digest)
        if known is None:
            return self.source.fetch(desc)
        reporter = ProgressReporter(self.progress, "download", known.to_dict())
        stream = self.source.fetch(desc)
        reporter.emit(STARTED)
        return _ReportingReader(stream, reporter)  # type: ignore[return-value]

    def exists(self, desc: Descriptor) -> bool:
        return self.source.exists(desc)  # type: ignore[attr-defined, no-any-return]


class _ReportingReader(CountingReader):
    """Counts the bytes read; DONE at the end of the stream."""

    def __init__(self, stream: BinaryIO, reporter: ProgressReporter) -> None:
        super().__init__(stream, reporter.advance)
        self._reporter = reporter
        self._ended = False

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer)
        if not n and len(memoryview(buffer)) and not self._ended:
            self._ended = True
            self._reporter.emit(DONE)
        return n
