"""Request bodies that stream a file range and can be sent again on a retry or re-authentication."""

from __future__ import annotations

from typing import Iterator

from oras.defaults import default_blocksize

#: Bytes read from disk per step when streaming an upload.
UPLOAD_READ_SIZE = max(default_blocksize, 1024 * 1024)


class FileRangeBody:
    """`length` bytes of `path` from `offset`; every iteration re-reads from the start.

    requests takes the length from `__len__` (so it sends Content-Length, not chunked
    encoding) and iterates to stream, so memory stays at one read buffer.
    """

    def __init__(self, path: str, offset: int = 0, length: int = -1):
        import os

        self.path = path
        self.offset = offset
        self.length = os.path.getsize(path) - offset if length < 0 else length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        remaining = self.length
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            while remaining > 0:
                chunk = fh.read(min(UPLOAD_READ_SIZE, remaining))
                if not chunk:
                    raise OSError(f"{self.path} shrank while it was being uploaded")
                remaining -= len(chunk)
                yield chunk
