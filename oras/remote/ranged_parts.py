"""The parts of a ranged download: worker threads fetch byte ranges of one blob into a file
of the blob's size, each part resumed from the byte where its connection dropped, while the
calling thread hashes the contiguous prefix of finished bytes (the hashing overlaps the
download); the blob is verified against digest and size and renamed into place.

`oras.remote.ranged` decides whether a blob is fetched this way (`download`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Any, Callable, Optional

import requests

from oras import scratch
from oras.concurrency import INTERRUPT_GRACE, check_interrupted, in_this_context
from oras.digest import Hasher
from oras.errors import DigestMismatchError, ProtocolError, RegistryTimeoutError
from oras.filewrite import pwrite_all
from oras.progress import ProgressReporter
from oras.remote.download import _DROPPED, DOWNLOAD_CHUNK, MAX_RESUMES, _stalled, new_partial_file

log = logging.getLogger(__name__)

#: Parts per connection: more, smaller parts keep the hashed prefix close behind the download
#: (less hashing left at the end), at one round trip each.
PARTS_PER_RANGE = 4
#: Smallest part, unless the blob is so small that each connection gets one part.
MIN_PART = 4 * 1024 * 1024
#: How often a waiting thread wakes up to notice an interrupt.
_WAKE_UP = 0.25

#: `get(start, end)`: a streamed GET of the blob; bytes `start` to `end` (inclusive) with a
#: `Range` header, or, for `(0, None)`, the whole blob without one.
GetRange = Callable[[int, Optional[int]], requests.Response]
#: Raises a typed error for a response that is not the blob (a 404, a 401...).
Check = Callable[[requests.Response], None]


def plan_parts(total: int, ranges: int) -> list[tuple[int, int]]:
    """`total` bytes cut into parts `(start, end)` (end exclusive), in order: PARTS_PER_RANGE
    per connection, none smaller than MIN_PART unless every connection then gets one."""
    if total <= 0:
        return [(0, total)]
    part = max(-(-total // (ranges * PARTS_PER_RANGE)), min(MIN_PART, -(-total // ranges)))
    return [(start, min(start + part, total)) for start in range(0, total, part)]


class RangesIgnored(Exception):
    """A range request was answered with something other than that range."""


def checked(response: requests.Response, check: Optional[Check]) -> None:
    if check is None:
        return
    try:
        check(response)
    except BaseException:
        response.close()
        raise


def download_parts(
    get: GetRange,
    first: requests.Response,
    digest: str,
    outfile: str,
    parts: list[tuple[int, int]],
    head: bytearray,
    progress: Optional[ProgressReporter],
    check: Optional[Check],
    ranges: int,
) -> None:
    """Fetch `parts` side by side over `ranges` connections; `head` is what was read of the first answer already (the
    start of the first part, which goes on from there)."""
    hasher = Hasher.for_digest(digest)
    total = parts[-1][1]
    directory = os.path.dirname(os.path.abspath(outfile))
    fd, tmp = new_partial_file(directory)
    scratch.track(tmp)
    job: Optional[_PartedDownload] = None
    try:
        os.ftruncate(fd, total)  # its final size up front: every part lands at its offset
        pwrite_all(fd, head, 0)
        job = _PartedDownload(get, first, fd, parts, len(head), progress, check)
        job.start(ranges)
        job.hash_prefix(hasher)
        if hasher.size != total:
            raise DigestMismatchError(
                f"blob {digest} is {hasher.size} bytes, but its descriptor says {total}"
            )
        actual = hasher.digest()
        if actual != digest:
            raise DigestMismatchError(
                f"blob {digest} failed verification: the registry sent content with digest {actual}"
            )
        os.close(fd)
        fd = -1
        os.replace(tmp, outfile)
    except BaseException:
        if job is not None:
            job.cancel()
        first.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        if fd >= 0:
            os.close(fd)
        scratch.untrack(tmp)


class _PartedDownload:
    """The parts of one blob, fetched by worker threads into `fd`; the calling thread hashes
    the contiguous prefix of finished bytes as it grows (`hash_prefix`)."""

    def __init__(
        self,
        get: GetRange,
        first: requests.Response,
        fd: int,
        parts: list[tuple[int, int]],
        head: int,
        progress: Optional[ProgressReporter],
        check: Optional[Check],
    ) -> None:
        self._get = get
        #: The first answer, `head` bytes into the first part, which it goes on with.
        self._first: Optional[requests.Response] = first
        self._fd = fd
        self._parts = parts
        self._filled = [0] * len(parts)
        self._filled[0] = head
        self._progress = progress
        self._check = check
        self._changed = threading.Condition()
        self._next_part = 0
        self._frontier = 0  # the first part not yet complete
        self._error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- the workers -----------------------------------------------------------------------------
    def start(self, ranges: int) -> None:
        """Start the workers, one per range (at most one per part)."""
        with self._changed:
            for _ in range(min(ranges, len(self._parts))):
                name = f"oras-range-{len(self._threads)}"
                thread = threading.Thread(
                    target=in_this_context(self._work), name=name, daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def cancel(self) -> None:
        """Stop the workers (each at its next chunk) and wait a moment for them."""
        self._stop.set()
        with self._changed:
            threads = list(self._threads)
        for thread in threads:
            thread.join(INTERRUPT_GRACE)

    def _take(self) -> Optional[tuple[int, Optional[requests.Response]]]:
        with self._changed:
            if self._next_part >= len(self._parts) or self._error is not None:
                return None
            index = self._next_part
            self._next_part += 1
            response, self._first = (self._first, None) if index == 0 else (None, None)
            return index, response

    def _work(self) -> None:
        try:
            while True:
                taken = self._take()
                if taken is None:
                    return
                self._fetch_part(*taken)
        except BaseException as e:
            with self._changed:
                if self._error is None:
                    self._error = e
                self._changed.notify_all()
            self._stop.set()

    def _fetch_part(self, index: int, response: Optional[requests.Response]) -> None:
        start, end = self._parts[index]
        buffer = memoryview(bytearray(min(DOWNLOAD_CHUNK, end - start) or 1))
        resumes = 0
        while self._filled[index] < end - start:
            offset = start + self._filled[index]
            if response is None:
                response = self._get(offset, end - 1)
                checked(response, self._check)
                _check_range(response, offset, end)
            try:
                self._read_part(index, response, buffer)
            except RegistryTimeoutError:
                raise
            except _DROPPED as e:
                resumes += 1
                if resumes > MAX_RESUMES:
                    raise
                log.info(
                    "range %d-%d interrupted at byte %d (%s): resuming it",
                    start,
                    end - 1,
                    start + self._filled[index],
                    type(e).__name__,
                )
            finally:
                _finish(response)
                response = None

    def _read_part(self, index: int, response: requests.Response, buffer: memoryview) -> None:
        """Read the part's remaining bytes from `response`; a body that ends short raises
        ChunkedEncodingError (the caller resumes the part)."""
        start, end = self._parts[index]
        wire = getattr(response.raw, "_fp", None)  # http.client's response under urllib3's
        read = wire.readinto if wire is not None and hasattr(wire, "readinto") else None
        while self._filled[index] < end - start:
            if self._stop.is_set():
                raise _Stopped()
            check_interrupted()
            want = min(len(buffer), end - start - self._filled[index])
            try:
                if read is not None:
                    n = read(buffer[:want]) or 0
                else:
                    data = response.raw.read(want, decode_content=False)
                    n = len(data)
                    buffer[:n] = data
            except TimeoutError as e:
                raise _stalled(response) from e
            if not n:
                raise requests.exceptions.ChunkedEncodingError("range ended early")
            pwrite_all(self._fd, buffer[:n], start + self._filled[index])
            with self._changed:
                self._filled[index] += n
                self._changed.notify_all()
            if self._progress is not None:
                self._progress.advance(n)

    # -- the hashing thread ----------------------------------------------------------------------
    def _prefix(self) -> int:
        """Bytes complete from the blob's start (call with the lock held)."""
        while (
            self._frontier < len(self._parts)
            and self._filled[self._frontier]
            == self._parts[self._frontier][1] - self._parts[self._frontier][0]
        ):
            self._frontier += 1
        if self._frontier == len(self._parts):
            return self._parts[-1][1]
        return self._parts[self._frontier][0] + self._filled[self._frontier]

    def hash_prefix(self, hasher: Hasher) -> None:
        """Hash the file's bytes in order as they complete, until the last one (re-raising a
        worker's error)."""
        total = self._parts[-1][1]
        buffer = memoryview(bytearray(min(DOWNLOAD_CHUNK, total) or 1))
        hashed = 0
        while hashed < total:
            with self._changed:
                while True:
                    if self._error is not None:
                        raise self._error
                    ready = self._prefix()
                    if ready > hashed:
                        break
                    if not any(thread.is_alive() for thread in self._threads):
                        raise ProtocolError("the ranged download ended before the blob did")
                    self._changed.wait(_WAKE_UP)
            check_interrupted()
            while hashed < ready:
                n = _read_at(self._fd, buffer[: min(len(buffer), ready - hashed)], hashed)
                hasher.update(buffer[:n])
                hashed += n
        with self._changed:
            threads = list(self._threads)
        for thread in threads:
            thread.join()
        if self._error is not None:
            raise self._error


class _Stopped(Exception):
    """Another part failed: this worker stops."""


def _check_range(response: requests.Response, start: int, end: int) -> None:
    """The answer must be the range asked for: `206` with `Content-Range: bytes start-...`."""
    if response.status_code != 206:
        response.close()
        raise RangesIgnored()
    unit, _, spec = (response.headers.get("Content-Range") or "").partition(" ")
    first, _, rest = spec.partition("-")
    last = rest.partition("/")[0]
    if unit.lower() != "bytes" or not first.isdigit() or int(first) != start:
        response.close()
        raise RangesIgnored()
    if last.isdigit() and int(last) >= end:
        response.close()
        raise ProtocolError(
            f"the registry answered the range {start}-{end - 1} with bytes {first}-{last}"
        )


def _finish(response: requests.Response) -> None:
    """Hand a response's connection back to the pool when its body was read to the end."""
    raw = response.raw
    wire = getattr(raw, "_fp", None)
    if wire is not None and getattr(wire, "isclosed", lambda: False)():
        raw.release_conn()
    response.close()


def _read_at(fd: int, view: memoryview, offset: int) -> int:
    preadv: Any = getattr(os, "preadv", None)
    if preadv is not None:
        n = int(preadv(fd, [view], offset))
    else:
        data = os.pread(fd, len(view), offset)
        n = len(data)
        view[:n] = data
    if not n:
        raise ProtocolError("the partial file is shorter than the bytes written to it")
    return n
