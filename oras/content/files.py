"""FileSink: named local files as the destination of a pull.

Each blob the plan names is written to its file (or, for a layer to unpack, extracted into
its directory), verified first and moved into place whole, so a file is either the complete,
verified content or not there at all. Content the plan does not name (the manifest itself) is
accepted and dropped. Which names are allowed and what a file may replace is decided before
the copy starts (`oras.filenames`); this store only writes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from typing import BinaryIO, Callable, Optional

from oras.content.reader import VerifiedFile, VerifyingReader, copy_stream, direct_download
from oras.descriptor import Descriptor
from oras.errors import NotFoundError, PathTraversalError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedFile:
    """Where one blob goes: a file at `path`, or (with `unpack`) the tar+gzip extracted into
    `path`'s parent directory, checked against `tar_digest` when there is one."""

    path: str
    unpack: bool = False
    tar_digest: Optional[str] = None
    label: str = ""


class FileSink:
    """A Storage whose blobs land in planned files. `on_written(path)` is called for each."""

    def __init__(self, on_written: Optional[Callable[[str], None]] = None) -> None:
        self._plan: dict[str, list[PlannedFile]] = {}
        self._written: set[str] = set()
        #: Where each planned file's directory resolved when it was planned.
        self._directories: dict[str, str] = {}
        self._lock = threading.Lock()
        self.on_written = on_written

    def add(self, desc: Descriptor, target: PlannedFile) -> None:
        """Plan to write the content of `desc` to `target` (a digest may have several)."""
        self._plan.setdefault(desc.digest, []).append(target)
        self._directories[target.path] = os.path.realpath(os.path.dirname(target.path))

    @property
    def planned(self) -> list[str]:
        """The digests this sink will write, in the order they were planned."""
        return list(self._plan)

    def exists(self, desc: Descriptor) -> bool:
        with self._lock:
            return desc.digest in self._written

    def fetch(self, desc: Descriptor) -> BinaryIO:
        raise NotFoundError(f"{desc.digest}: a file sink is written, not read", status=404)

    def push(self, expected: Descriptor, content: BinaryIO) -> None:
        targets = self._plan.get(expected.digest)
        if not targets:
            return  # not planned: the manifest, a skipped layer
        for target in targets:
            self._check_directory(target)
        first = os.path.dirname(targets[0].path)
        os.makedirs(first, exist_ok=True)
        source = self._materialise(expected, content, first)
        try:
            for i, target in enumerate(targets):
                self._place(source, target, last=i == len(targets) - 1)
                if self.on_written is not None:
                    self.on_written(target.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(source)
            _untrack(source)
        with self._lock:
            self._written.add(expected.digest)

    def _materialise(self, expected: Descriptor, content: BinaryIO, directory: str) -> str:
        """A temporary file in `directory` holding the verified content."""
        from oras.remote.download import new_partial_file

        inner = content
        while hasattr(inner, "inner"):  # the counting wrappers of the engine and of progress
            inner = inner.inner
        if isinstance(inner, VerifiedFile) and inner.verified_digest == expected.digest:
            # Verified when it was downloaded: used where it is, then moved into place (a
            # rename onto a new name; renaming over an existing file would make the file
            # system write the whole blob out first).
            _track(inner.path)
            return inner.path
        fd, path = new_partial_file(directory)
        os.close(fd)
        _track(path)
        try:
            direct = direct_download(content)
            if direct is not None:  # a large registry blob: fetched in ranges, verified
                direct(path)
                return path
            with open(path, "wb") as fh:
                copy_stream(VerifyingReader(content, expected), fh)  # type: ignore[arg-type]
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            _untrack(path)
            raise
        return path

    def _check_directory(self, target: PlannedFile) -> None:
        """Refuse to write `target` when its directory no longer resolves where it did when
        planned: another layer of the artifact made a directory on its way a symbolic link
        (one that stays inside, or it would have been refused), and writing through it would
        put the file, or the archive's members, somewhere the plan did not check."""
        directory = os.path.dirname(target.path)
        planned = self._directories.get(target.path)
        if planned is not None and os.path.realpath(directory) != planned:
            raise PathTraversalError(
                f"refusing to write {target.path}: {directory} became a symbolic link to "
                f"{os.path.realpath(directory)} during the pull (another layer of the "
                "artifact unpacked it?)",
                hint="a layer's title must not lead through a link that another layer makes",
            )

    def _place(self, source: str, target: PlannedFile, last: bool) -> None:
        self._check_directory(target)
        directory = os.path.dirname(target.path)
        os.makedirs(directory, exist_ok=True)
        if target.unpack:
            from oras.archive import safe_extract_targz

            safe_extract_targz(
                source, directory, expected_tar_digest=target.tar_digest, label=target.label
            )
            return
        if last:
            os.replace(source, target.path)
            return
        from oras.remote.download import new_partial_file

        fd, partial = new_partial_file(directory)
        _track(partial)
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as inp:
                copy_stream(inp, out)
            os.replace(partial, target.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise
        finally:
            _untrack(partial)


def _track(path: str) -> None:
    from oras import scratch

    scratch.track(path)


def _untrack(path: str) -> None:
    from oras import scratch

    scratch.untrack(path)


class FileSource:
    """Local files as content, for a push: blobs added by path (a file, or a directory packed
    into a tar+gzip by `oras.pack`) are served from disk; manifests and other small content
    added as bytes are held in memory. Resolving and tagging work on that in-memory part."""

    def __init__(self) -> None:
        from oras.content.memory import MemoryStore

        self._paths: dict[str, str] = {}
        self._memory = MemoryStore()
        self._lock = threading.Lock()

    def add_path(self, desc: Descriptor, path: str) -> None:
        """Serve the content of `desc` from the file at `path` (already hashed by the caller)."""
        with self._lock:
            self._paths[desc.digest] = path

    def add_bytes(self, media_type: str, data: bytes) -> Descriptor:
        return self._memory.push_bytes(media_type, data)

    def fetch(self, desc: Descriptor) -> BinaryIO:
        from oras.content.reader import open_file

        with self._lock:
            path = self._paths.get(desc.digest)
        if path is not None:
            return open_file(path)
        return self._memory.fetch(desc)

    def exists(self, desc: Descriptor) -> bool:
        with self._lock:
            if desc.digest in self._paths:
                return True
        return self._memory.exists(desc)

    def resolve(self, reference: str) -> Descriptor:
        return self._memory.resolve(reference)

    def tag(self, desc: Descriptor, reference: str) -> None:
        self._memory.tag(desc, reference)
