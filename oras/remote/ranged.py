"""Parallel ranged downloads: a large blob fetched as several byte ranges at once, so that a
long-distance link, where one TCP stream is capped by its window and round-trip time, is used
several times over.

The blob's first request carries no `Range` (some registries break on one they did not offer).
When its answer advertises `Accept-Ranges: bytes` and the blob is at least `threshold` bytes,
the first answer is read alone for its first bytes: arriving at `one_stream_rate` or faster
(a registry nearby), it is read on to its end as one stream, hashed from the buffers it
arrives in (not read back from the file); slower, the rest of the blob is
split into parts fetched by `ranges` connections at once (the first one keeps reading the first
answer for the first part). Otherwise the first answer is read to its end as one stream
(`download_verified`). Parts are written at their offsets into one
temporary file of the blob's size, hashed in order as the contiguous prefix completes (the
hashing overlaps the download), verified against digest and size, and renamed into place. A
part whose connection drops is requested again from the byte where it stopped; the other parts
go on. A registry that advertised ranges but answers a range request with the whole blob (200)
is then read as one stream. Memory stays at one buffer per connection whatever the blob size.

Every range request goes to the registry's blob URL, as the first one did: a registry that
redirects blobs to another origin (a CDN) redirects each range there, and `requests` drops the
registry's `Authorization` whenever a redirect changes the host.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import requests

from oras import scratch
from oras.concurrency import DOWNLOAD_RANGES, INTERRUPT_GRACE, check_interrupted, in_this_context
from oras.concurrency import RANGED_THRESHOLD as _THRESHOLD
from oras.digest import Hasher
from oras.errors import ArgumentError, DigestMismatchError, ProtocolError, RegistryTimeoutError
from oras.progress import ProgressReporter
from oras.remote.download import (
    _DROPPED,
    DOWNLOAD_CHUNK,
    MAX_RESUMES,
    BlobStream,
    _stalled,
    download_verified,
    new_partial_file,
)

log = logging.getLogger(__name__)

#: Connections one blob is fetched over at once (Ollama uses 16; 8 fills a link of 25 MiB/s
#: per connection up to 200 MiB/s without opening a crowd of connections per blob).
DEFAULT_RANGES = DOWNLOAD_RANGES
#: Blobs from this size on are fetched in ranges (a smaller one is fetched in a few round
#: trips anyway, and is usually one of many blobs downloaded side by side).
RANGED_THRESHOLD = _THRESHOLD
#: Parts per connection: more, smaller parts keep the hashed prefix close behind the download
#: (less hashing left at the end), at one round trip each.
PARTS_PER_RANGE = 4
#: Smallest part, unless the blob is so small that each connection gets one part.
MIN_PART = 4 * 1024 * 1024
#: A first answer whose first PROBE_SIZE bytes arrive at least this fast (bytes a second) is
#: read as one stream: the link is not what limits it (a registry on the same machine or
#: network), and more connections would only cost CPU that hashing and writing need.
ONE_STREAM_RATE = 128 * 1024 * 1024
PROBE_SIZE = 4 * 1024 * 1024
#: How often a waiting thread wakes up to notice an interrupt.
_WAKE_UP = 0.25

#: `get(start, end)`: a streamed GET of the blob; bytes `start` to `end` (inclusive) with a
#: `Range` header, or, for `(0, None)`, the whole blob without one.
GetRange = Callable[[int, Optional[int]], requests.Response]
#: Raises a typed error for a response that is not the blob (a 404, a 401...).
Check = Callable[[requests.Response], None]


@dataclass(frozen=True)
class RangedOptions:
    """How large blobs are downloaded: `ranges` connections at once for a blob of at least
    `threshold` bytes on a registry that supports ranges, unless its first answer already
    arrives at `one_stream_rate` bytes a second or more (None: always in ranges); `ranges=1`
    always uses one stream."""

    ranges: int = DEFAULT_RANGES
    threshold: int = RANGED_THRESHOLD
    one_stream_rate: Optional[int] = ONE_STREAM_RATE

    def __post_init__(self) -> None:
        if not isinstance(self.ranges, int) or self.ranges < 1:
            raise ArgumentError(f"ranges must be a positive integer, not {self.ranges!r}")
        if not isinstance(self.threshold, int) or self.threshold < 0:
            raise ArgumentError(f"threshold must be a byte count, not {self.threshold!r}")
        rate = self.one_stream_rate
        if rate is not None and (not isinstance(rate, int) or rate < 1):
            raise ArgumentError(f"one_stream_rate must be bytes a second or None, not {rate!r}")


def range_getter(send: Callable[..., requests.Response], url: str) -> GetRange:
    """A GetRange over `send(url, method, headers=..., stream=True)` (auth and retry included)."""

    def get(start: int, end: Optional[int]) -> requests.Response:
        headers = None
        if start or end is not None:
            last = "" if end is None else str(end)
            headers = {"Range": f"bytes={start}-{last}"}
        return send(url, "GET", headers=headers, stream=True)

    return get


def download(
    get: GetRange,
    digest: str,
    outfile: str,
    size: Optional[int] = None,
    progress: Optional[ProgressReporter] = None,
    check: Optional[Check] = None,
    options: Optional[RangedOptions] = None,
    first: Optional[requests.Response] = None,
) -> None:
    """Write the blob `digest` to `outfile`, in ranges when it is large and the registry
    supports them, else as one stream; nothing is left at `outfile` unless it verifies.
    `first` is the blob's answer to a GET without `Range`, when the caller sent it already."""
    options = options or RangedOptions()
    if first is None:
        first = get(0, None)
        _checked(first, check)
    total = _total_size(first, size)
    head = bytearray()  # the first answer's bytes read so far
    if total is not None and supports_ranges(first) and _worth_splitting(total, options):
        parts = plan_parts(total, options.ranges)
        fast = False
        if options.one_stream_rate is not None and len(parts) > 1:
            try:
                head, fast = _probe(first, parts[0], options.one_stream_rate, progress)
            except BaseException:
                first.close()
                raise
        if not fast:
            try:
                _download_parts(get, first, digest, outfile, parts, head, progress, check, options)
                return
            except _RangesIgnored:
                log.info("the registry ignored a Range request for %s: one stream", digest)
                if progress is not None:
                    progress.rewind(0)
                first, head = None, bytearray()
    held = [first] if first is not None else []

    def fetch(offset: int) -> requests.Response:
        if offset == len(head) and held:
            return held.pop()
        return get(offset, None)

    # Read on as one stream, the blob is hashed from the buffers it arrives in (on a second
    # thread), not read back from the file.
    download_verified(fetch, digest, outfile, size, progress, check, head=head)


def _probe(
    first: requests.Response,
    part: tuple[int, int],
    one_stream_rate: int,
    progress: Optional[ProgressReporter],
) -> tuple[bytearray, bool]:
    """Read the first answer's first PROBE_SIZE bytes (at most half its part): the bytes, and
    whether they came at `one_stream_rate` or faster (then one stream is enough). A body that
    breaks off early is not fast; the part it belongs to resumes where it stopped."""
    want = min(PROBE_SIZE, (part[1] - part[0]) // 2)
    buffer = bytearray(want)
    view = memoryview(buffer)
    wire = getattr(first.raw, "_fp", None)  # http.client's response under urllib3's
    got = 0
    started = time.monotonic()
    try:
        while got < want:
            check_interrupted()
            if wire is not None and hasattr(wire, "readinto"):
                n = wire.readinto(view[got:]) or 0
            else:
                data = first.raw.read(want - got, decode_content=False)
                n = len(data)
                view[got : got + n] = data
            if not n:
                break
            got += n
            if progress is not None:
                progress.advance(n)
    except TimeoutError as e:
        raise _stalled(first) from e
    except _DROPPED as e:
        log.info("the first answer broke off at byte %d (%s)", got, type(e).__name__)
    finally:
        view.release()
    rate = got / max(time.monotonic() - started, 1e-6)
    fast = got == want and rate >= one_stream_rate
    if fast:
        log.debug("one stream brings %.0f MiB/s: no ranges", rate / 2**20)
    del buffer[got:]
    return buffer, fast


def supports_ranges(response: requests.Response) -> bool:
    """Whether the registry says it serves byte ranges of this blob."""
    if response.status_code == 206:
        return True
    accepted = response.headers.get("Accept-Ranges", "")
    return "bytes" in (token.strip().lower() for token in accepted.split(","))


def plan_parts(total: int, ranges: int) -> list[tuple[int, int]]:
    """`total` bytes cut into parts `(start, end)` (end exclusive), in order: PARTS_PER_RANGE
    per connection, none smaller than MIN_PART unless every connection then gets one."""
    if total <= 0:
        return [(0, total)]
    part = max(-(-total // (ranges * PARTS_PER_RANGE)), min(MIN_PART, -(-total // ranges)))
    return [(start, min(start + part, total)) for start in range(0, total, part)]


class _RangesIgnored(Exception):
    """A range request was answered with something other than that range."""


def _checked(response: requests.Response, check: Optional[Check]) -> None:
    if check is None:
        return
    try:
        check(response)
    except BaseException:
        response.close()
        raise


def _total_size(response: requests.Response, size: Optional[int]) -> Optional[int]:
    if size is not None:
        return size
    declared = response.headers.get("Content-Length", "")
    return int(declared) if response.status_code == 200 and declared.isdigit() else None


def _worth_splitting(total: int, options: RangedOptions) -> bool:
    return options.ranges > 1 and total >= max(options.threshold, 2) and hasattr(os, "pwrite")


def _download_parts(
    get: GetRange,
    first: requests.Response,
    digest: str,
    outfile: str,
    parts: list[tuple[int, int]],
    head: bytearray,
    progress: Optional[ProgressReporter],
    check: Optional[Check],
    options: RangedOptions,
) -> None:
    """Fetch `parts` side by side; `head` is what was read of the first answer already (the
    start of the first part, which goes on from there)."""
    hasher = Hasher.for_digest(digest)
    total = parts[-1][1]
    directory = os.path.dirname(os.path.abspath(outfile))
    fd, tmp = new_partial_file(directory)
    scratch.track(tmp)
    job: Optional[_PartedDownload] = None
    try:
        os.ftruncate(fd, total)  # its final size up front: every part lands at its offset
        _write_at(fd, memoryview(head), 0)
        job = _PartedDownload(get, first, fd, parts, len(head), progress, check)
        job.start(options.ranges)
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
                _checked(response, self._check)
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
            _write_at(self._fd, buffer[:n], start + self._filled[index])
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
        raise _RangesIgnored()
    unit, _, spec = (response.headers.get("Content-Range") or "").partition(" ")
    first, _, rest = spec.partition("-")
    last = rest.partition("/")[0]
    if unit.lower() != "bytes" or not first.isdigit() or int(first) != start:
        response.close()
        raise _RangesIgnored()
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


def _write_at(fd: int, data: memoryview, offset: int) -> None:
    while len(data):
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written


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


class _Counter:
    """The ProgressReporter shape `download` takes, adding up into `on_bytes` from several
    threads one call at a time."""

    def __init__(self, on_bytes: Optional[Callable[[int], None]]) -> None:
        self._on_bytes = on_bytes
        self._lock = threading.Lock()
        self.done = 0

    def advance(self, n: int) -> None:
        with self._lock:
            self.done += n
            if self._on_bytes is not None:
                self._on_bytes(n)

    def rewind(self, done: int) -> None:
        with self._lock:
            self.done = done


class RangedBlob(io.RawIOBase):
    """A large blob of a registry: read as one stream (a copy to another registry streams it
    through), or, by a store that writes it to a file, downloaded there in ranges with
    `download_to`. The first GET is sent at once, so a missing blob fails `fetch` itself."""

    def __init__(
        self,
        get: GetRange,
        digest: str,
        size: int,
        check: Optional[Check],
        options: RangedOptions,
    ) -> None:
        super().__init__()
        self._get = get
        self._digest = digest
        self._size = size
        self._check = check
        self._options = options
        self._first: Optional[requests.Response] = get(0, None)
        _checked(self._first, check)
        self._stream: Optional[BlobStream] = None

    def download_to(self, outfile: str, on_bytes: Optional[Callable[[int], None]] = None) -> None:
        """Write the verified blob to `outfile` (in ranges where the registry serves them),
        reporting the bytes as they arrive to `on_bytes` (from several threads, one at a time)."""
        first, self._first = self._first, None
        if first is None or self._stream is not None:
            raise ValueError(f"blob {self._digest} was read already")
        download(
            self._get,
            self._digest,
            outfile,
            self._size,
            _Counter(on_bytes),  # type: ignore[arg-type]
            self._check,
            self._options,
            first=first,
        )

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._stream is None:
            held = [self._first] if self._first is not None else []
            self._first = None

            def fetch(offset: int) -> requests.Response:
                if not offset and held:
                    return held.pop()
                return self._get(offset, None)

            self._stream = BlobStream(fetch, self._digest, self._check)
        return self._stream.readinto(buffer)

    def close(self) -> None:
        if self._first is not None:
            self._first.close()
            self._first = None
        if self._stream is not None:
            self._stream.close()
        super().close()
