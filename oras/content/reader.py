"""Streams over content: verify bytes against a descriptor while they are read, count them for
progress, read small content (manifests) whole under a size limit."""

from __future__ import annotations

import contextlib
import io
import os
from typing import Any, BinaryIO, Callable, Optional

from oras import descriptor
from oras.descriptor import Descriptor
from oras.digest import Hasher
from oras.errors import DigestMismatchError, ProtocolError
from oras.filewrite import write_pieces

#: Bytes per read when content is copied from one stream to another.
COPY_CHUNK = 1024 * 1024


def read_into(stream: Any, view: memoryview) -> int:
    """Read from `stream` into `view` (with its `readinto` when it has one); the byte count."""
    reader = getattr(stream, "readinto", None)
    if reader is not None:
        return reader(view) or 0
    data = stream.read(len(view))
    view[: len(data)] = data
    return len(data)


class VerifyingReader(io.RawIOBase):
    """Reads `stream` and hashes it; at its end, or as soon as it runs past `desc.size`,
    raises DigestMismatchError unless the bytes are exactly those of `desc`."""

    def __init__(self, stream: BinaryIO, desc: Descriptor, what: str = "") -> None:
        super().__init__()
        self._stream = stream
        self._desc = desc
        self._what = what or f"blob {desc.digest}"
        self._hasher = Hasher.for_digest(desc.digest)
        self._verified = False

    @property
    def descriptor(self) -> Descriptor:
        """What the bytes are checked against (a store may rely on it instead of hashing)."""
        return self._desc

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = read_into(self._stream, view)
        if n:
            self._hasher.update(view[:n])
            if self._hasher.size > self._desc.size:
                raise DigestMismatchError(
                    f"{self._what} is longer than the {self._desc.size} bytes its descriptor says"
                )
        elif len(view):
            self.verify()
        return n

    def verify(self) -> None:
        if self._verified:
            return
        if self._hasher.size != self._desc.size:
            raise DigestMismatchError(
                f"{self._what} is {self._hasher.size} bytes, but its descriptor says "
                f"{self._desc.size}"
            )
        actual = self._hasher.digest()
        if actual != self._desc.digest:
            raise DigestMismatchError(
                f"digest mismatch: {self._what} has digest {actual}, not {self._desc.digest}"
            )
        self._verified = True

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


class FileContent(io.BufferedReader):
    """A whole local file as content. `path` lets a pusher send it straight from disk (and
    read it again after a dropped connection) instead of through the stream."""

    def __init__(self, path: str) -> None:
        super().__init__(io.FileIO(path, "rb"), buffer_size=COPY_CHUNK)
        self.path = path


class VerifiedFile(FileContent):
    """A temporary file whose content was verified against `verified_digest` when it was
    written (a spooled download): a sink may move the file into place (`take`) instead of
    copying and hashing it again. The file is removed on close unless it was taken."""

    def __init__(self, path: str, verified_digest: str) -> None:
        super().__init__(path)
        self.verified_digest = verified_digest

    def take(self, destination: str) -> None:
        """Move the file to `destination` (on the same file system)."""
        from oras import scratch

        os.replace(self.path, destination)
        scratch.untrack(self.path)

    def close(self) -> None:
        from oras import scratch

        try:
            super().close()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            scratch.untrack(self.path)


def open_file(path: str) -> FileContent:
    """`path` opened as content (see FileContent)."""
    return FileContent(path)


class CountingReader(io.RawIOBase):
    """Passes `stream` through, calling `on_bytes(n)` for every `n` bytes read. When the
    stream is a FileContent (or wraps one), `path` names its file and `count(n)` reports bytes
    a pusher sent from that file directly, to this counter and to the ones it wraps."""

    def __init__(self, stream: BinaryIO, on_bytes: Callable[[int], None]) -> None:
        super().__init__()
        self._stream = stream
        self._on_bytes = on_bytes
        self.path: Optional[str] = getattr(stream, "path", None)
        #: The stream passed through (a sink may recognise a VerifiedFile in it).
        self.inner = stream

    def count(self, n: int) -> None:
        self._on_bytes(n)
        inner = getattr(self._stream, "count", None)
        if inner is not None:  # a wrapped counter counts the same bytes
            inner(n)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = read_into(self._stream, memoryview(buffer).cast("B"))
        if n:
            self._on_bytes(n)
        return n

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


def read_all(stream: BinaryIO, desc: Descriptor, limit: Optional[int] = None) -> bytes:
    """The whole content of `stream` (closed afterwards), verified against `desc`; content
    larger than `limit` (default `oras.descriptor.MAX_MANIFEST_SIZE`, read now) is refused
    before it is read."""
    limit = descriptor.MAX_MANIFEST_SIZE if limit is None else limit
    if desc.size > limit:
        stream.close()
        raise ProtocolError(f"{desc.digest} is {desc.size} bytes, over the {limit} byte limit")
    try:
        data = stream.read(desc.size + 1)
    finally:
        stream.close()
    verify_bytes(data, desc)
    return data


def verify_bytes(data: bytes, desc: Descriptor, what: Optional[str] = None) -> None:
    """DigestMismatchError unless `data` is exactly the content of `desc`."""
    what = what or f"content {desc.digest}"
    if len(data) != desc.size:
        raise DigestMismatchError(
            f"{what} is {len(data)} bytes, but its descriptor says {desc.size}"
        )
    hasher = Hasher.for_digest(desc.digest)
    hasher.update(data)
    actual = hasher.digest()
    if actual != desc.digest:
        raise DigestMismatchError(f"digest mismatch: {what} has digest {actual}, not {desc.digest}")


def copy_stream(source: BinaryIO, sink: Any, chunk: int = COPY_CHUNK) -> int:
    """Copy `source` to the writable `sink` in chunks; returns the bytes copied."""
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    total = 0
    reader = getattr(source, "readinto", None)
    while True:
        if reader is not None:
            n = reader(view)
        else:
            data = source.read(chunk)
            n = len(data)
            view[:n] = data
        if not n:
            return total
        write_pieces(sink.write, view[:n])
        total += n


def direct_download(content: Any) -> Optional[Callable[[str], None]]:
    """For content that can write itself to a file (a large registry blob, fetched in
    parallel ranges: `oras.remote.ranged.RangedBlob.download_to`), a function writing it,
    verified, to a path, counted by every wrapper's counter; None for any other content."""
    inner = content
    while hasattr(inner, "inner"):  # the counting wrappers of the engine and of progress
        inner = inner.inner
    download_to = getattr(inner, "download_to", None)
    if download_to is None:
        return None
    count = getattr(content, "count", None) if content is not inner else None
    return lambda path: download_to(path, count)
