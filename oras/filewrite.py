"""Writing received bytes to files in pieces of at most `WRITE_PIECE` bytes.

Downloads read the wire in 1 MiB buffers, but write what they read in smaller pieces, as
curl (16 KiB) and Go's `io.Copy` (32 KiB) do. A file system that caches files in large folios
sizes each new page-cache folio by the write that creates it, so 1 MiB writes ask the page
allocator for 1 MiB blocks of free memory. On a virtual machine that hands its free memory
back to the host (free page reporting), the large free blocks are the ones handed back, and
the copy into them pays for every page to be brought back. Measured on such a machine
(Firecracker, Linux 6.18, ext4; `docs/benchmarks.md`, session 10): a pull of 1 GiB from a
registry on loopback took 1.23-2.70 s (median 1.88 s, 1.29 s of system CPU) writing 1 MiB at
a time, and 1.25-1.36 s (median 1.27 s, 0.50 s of system CPU) writing 32 KiB at a time; a
profile of the slow writes shows 94 % of the time in the kernel's copy into the new page-cache
pages. On a machine that keeps its memory, the smaller writes cost a few more system calls
(32,768 per GiB), a few tens of milliseconds.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Union

__all__ = ["WRITE_PIECE", "pwrite_all", "write_pieces"]

#: Most bytes one write hands to the file system.
WRITE_PIECE = 32 * 1024

Buffer = Union[bytes, bytearray, memoryview]


def write_pieces(write: Callable[[memoryview], Any], data: Buffer) -> None:
    """Hand `data` to `write` (a file object's `write`, which takes all it is given) in
    pieces of at most WRITE_PIECE bytes."""
    view = memoryview(data)
    if len(view) <= WRITE_PIECE:
        write(view)
        return
    for start in range(0, len(view), WRITE_PIECE):
        write(view[start : start + WRITE_PIECE])


def pwrite_all(fd: int, data: Buffer, offset: int) -> None:
    """Write all of `data` to `fd` at `offset` (`os.pwrite`, which may write less than it is
    given), in pieces of at most WRITE_PIECE bytes."""
    view = memoryview(data)
    while len(view):
        written = os.pwrite(fd, view[:WRITE_PIECE], offset)
        view, offset = view[written:], offset + written
