"""Request bodies that stream a file range, an in-memory chunk or a stream without holding
more than one read in memory."""

from __future__ import annotations

import os
from typing import BinaryIO, Callable, Iterator, Optional

from oras.concurrency import check_interrupted
from oras.errors import DigestMismatchError

#: Bytes read from disk per step when streaming an upload.
UPLOAD_READ_SIZE = 1024 * 1024


class FileRangeBody:
    """`length` bytes of `path` from `offset`; every iteration re-reads from the start.

    requests takes the length from `__len__` (so it sends Content-Length, not chunked
    encoding) and iterates to stream it, so memory stays at one read buffer. `replayable`
    tells the retry layer whether sending it twice is safe (a PATCH is not: the registry
    may have appended part of it), and `on_read` counts bytes for progress.
    """

    def __init__(
        self,
        path: str,
        offset: int = 0,
        length: int = -1,
        replayable: bool = True,
        on_read: Optional[Callable[[int], None]] = None,
    ):
        self.path = path
        self.offset = offset
        self.length = os.path.getsize(path) - offset if length < 0 else length
        self.replayable = replayable
        self.on_read = on_read

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        # Read into Python and sent with send(), as curl sends: `socket.sendfile` spares the
        # client the copy, but on loopback the registry then took 0.3 s longer to take in
        # 1 GiB (docs/benchmarks.md, session 10), more than the client saved.
        remaining = self.length
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            while remaining > 0:
                check_interrupted()
                chunk = fh.read(min(UPLOAD_READ_SIZE, remaining))
                if not chunk:
                    raise OSError(f"{self.path} shrank while it was being uploaded")
                remaining -= len(chunk)
                yield chunk
                if self.on_read is not None:
                    self.on_read(len(chunk))


class BytesBody:
    """An in-memory chunk (of a stream of unknown size) with the same interface."""

    def __init__(
        self, data: bytes, replayable: bool = True, on_read: Optional[Callable[[int], None]] = None
    ):
        self.data = data
        self.length = len(data)
        self.replayable = replayable
        self.on_read = on_read

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        view = memoryview(self.data)
        for start in range(0, self.length, UPLOAD_READ_SIZE):
            check_interrupted()
            piece = view[start : start + UPLOAD_READ_SIZE]
            yield bytes(piece)
            if self.on_read is not None:
                self.on_read(len(piece))


class StreamBody:
    """A request body of `size` bytes read from a stream (sent once: not replayable)."""

    replayable = False

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        remaining = self._size
        while remaining > 0:
            chunk = self._stream.read(min(UPLOAD_READ_SIZE, remaining))
            if not chunk:
                raise DigestMismatchError(f"content ended {remaining} bytes short of its size")
            remaining -= len(chunk)
            yield chunk
        if self._stream.read(1):
            raise DigestMismatchError(f"content is longer than its descriptor's {self._size}")
