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

The parts themselves are fetched, written, hashed and resumed by `oras.remote.ranged_parts`.
Every range request goes to the registry's blob URL, as the first one did: a registry that
redirects blobs to another origin (a CDN) redirects each range there, and `requests` drops the
registry's `Authorization` whenever a redirect changes the host.
"""

from __future__ import annotations

import io
import logging
import os
import time
from typing import Any, Callable, Optional

import requests

from oras.concurrency import check_interrupted
from oras.progress import ByteCounter, ProgressReporter
from oras.remote.download import _DROPPED, BlobStream, _stalled, download_verified
from oras.remote.ranged_options import (
    DEFAULT_RANGES,
    ONE_STREAM_RATE,
    RANGED_THRESHOLD,
    RangedOptions,
)
from oras.remote.ranged_parts import (
    MIN_PART,
    PARTS_PER_RANGE,
    Check,
    GetRange,
    RangesIgnored,
    checked,
    download_parts,
    plan_parts,
)

__all__ = [
    "DEFAULT_RANGES",
    "MIN_PART",
    "ONE_STREAM_RATE",
    "PARTS_PER_RANGE",
    "PROBE_SIZE",
    "RANGED_THRESHOLD",
    "Check",
    "GetRange",
    "RangedBlob",
    "RangedOptions",
    "download",
    "plan_parts",
    "range_getter",
    "supports_ranges",
]

log = logging.getLogger(__name__)

#: How much of a first answer is read to measure its rate (`ONE_STREAM_RATE`).
PROBE_SIZE = 4 * 1024 * 1024


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
        checked(first, check)
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
                download_parts(
                    get, first, digest, outfile, parts, head, progress, check, options.ranges
                )
                return
            except RangesIgnored:
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


def _total_size(response: requests.Response, size: Optional[int]) -> Optional[int]:
    if size is not None:
        return size
    declared = response.headers.get("Content-Length", "")
    return int(declared) if response.status_code == 200 and declared.isdigit() else None


def _worth_splitting(total: int, options: RangedOptions) -> bool:
    return options.ranges > 1 and total >= max(options.threshold, 2) and hasattr(os, "pwrite")


class RangedBlob(io.RawIOBase):
    """A large blob of a registry: read as one stream (a copy to another registry streams it
    through), or, by a store that writes it to a file, downloaded there with `download_to`:
    in ranges where the options and the registry allow, else as one stream hashed on a second
    thread. The first GET is sent at once, so a missing blob fails `fetch` itself."""

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
        checked(self._first, check)
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
            ByteCounter(on_bytes),  # type: ignore[arg-type]
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

            self._stream = BlobStream(fetch, self._digest, self._check, self._size)
        return self._stream.readinto(buffer)

    def close(self) -> None:
        if self._first is not None:
            self._first.close()
            self._first = None
        if self._stream is not None:
            self._stream.close()
        super().close()
