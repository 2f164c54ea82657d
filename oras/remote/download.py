"""Blob downloads: streamed to a temporary file, resumed with `Range` after a dropped
connection, verified against digest and size, renamed into place only when they match.

A download that stalls (no byte for the read timeout, the connection still open) is not
resumed: it ends with `RegistryTimeoutError`, so a stalled transfer costs one timeout beyond
the retries of its requests."""

from __future__ import annotations

import contextlib
import http.client
import io
import logging
import os
import queue
import secrets
import threading
import urllib.parse
from typing import Any, BinaryIO, Callable, Iterator, Optional, Union

import requests
import urllib3.exceptions

from oras import scratch
from oras.concurrency import check_interrupted
from oras.digest import Hasher
from oras.errors import DigestMismatchError, RegistryTimeoutError
from oras.filewrite import write_pieces
from oras.progress import ProgressReporter
from oras.remote.timeouts import TIMEOUT_HINT

log = logging.getLogger(__name__)

#: Bytes per read (and write) while streaming to disk.
DOWNLOAD_CHUNK = 1024 * 1024
#: Times a download resumes after a dropped connection before giving up.
MAX_RESUMES = 5

#: `fetch(offset)` returns a streamed GET response for the blob from byte `offset` on.
Fetch = Callable[[int], requests.Response]

_DROPPED = (
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.Timeout,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
    http.client.IncompleteRead,
    ConnectionError,
)


#: Names tried by `new_partial_file` before giving up (a clash is already one in 2**64).
_NAME_ATTEMPTS = 100


def new_partial_file(directory: str, suffix: str = ".partial") -> tuple[int, str]:
    """Create a new, uniquely named `.oras-*` file in `directory`; returns its open descriptor
    and path. Unlike `tempfile.mkstemp` (always 0600), it is created with mode 0666 so that the
    umask (or the directory's default ACL) gives it the mode of any newly created file, which
    the pulled file keeps when it is renamed into place."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(_NAME_ATTEMPTS):
        path = os.path.join(directory, f".oras-{secrets.token_hex(8)}{suffix}")
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name in {directory}")


def download_verified(
    fetch: Fetch,
    digest: str,
    outfile: str,
    size: Optional[int] = None,
    progress: Optional[ProgressReporter] = None,
    check: Optional[Callable[[requests.Response], None]] = None,
    head: Union[bytes, bytearray] = b"",
) -> None:
    """Write the blob `digest` to `outfile`; nothing is left at `outfile` unless it verifies.
    `head`: the blob's first bytes, read already from the answer `fetch(len(head))` gives
    first, which goes on from there (the progress counted them already)."""
    hasher = Hasher.for_digest(digest)
    directory = os.path.dirname(os.path.abspath(outfile))
    fd, tmp = new_partial_file(directory)
    try:
        scratch.track(tmp)
        with os.fdopen(fd, "wb") as fh:
            if head:
                hasher.update(head)
                write_pieces(fh.write, head)
            _stream(fetch, hasher, fh, size, progress, check, len(head), digest)
        if size is not None and hasher.size != size:
            raise DigestMismatchError(
                f"blob {digest} is {hasher.size} bytes, but its descriptor says {size}"
            )
        actual = hasher.digest()
        if actual != digest:
            raise DigestMismatchError(
                f"digest mismatch: blob {digest} failed verification: the registry sent content "
                f"with digest {actual}"
            )
        os.replace(tmp, outfile)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        scratch.untrack(tmp)


#: Buffers a download cycles through: one being read into, the rest queued for hashing.
RING = 4


def raw_chunks(response: requests.Response, ring: int = 1) -> Iterator[memoryview]:
    """The body's bytes as they came off the wire (no Content-Encoding undone), read into
    `ring` reused buffers in turn: a chunk stays valid until `ring - 1` more were asked for.
    A body read to its end hands its connection back to the pool for the next request; one
    that stops coming for the read timeout raises RegistryTimeoutError."""
    try:
        buffers = [memoryview(bytearray(DOWNLOAD_CHUNK)) for _ in range(ring)]
        wire = getattr(response.raw, "_fp", None)  # http.client's response under urllib3's
        if wire is not None and hasattr(wire, "readinto"):
            turn = 0
            while True:
                buffer = buffers[turn % ring]
                n = wire.readinto(buffer)
                if not n:
                    if wire.isclosed():  # the whole body was read: the connection is reusable
                        response.raw.release_conn()
                    return
                turn += 1
                yield buffer[:n]
        for chunk in response.raw.stream(DOWNLOAD_CHUNK, decode_content=False):
            yield memoryview(chunk)
    except (TimeoutError, urllib3.exceptions.ReadTimeoutError) as e:
        raise _stalled(response) from e


def _stalled(response: requests.Response) -> RegistryTimeoutError:
    parts = urllib.parse.urlsplit(response.url or "")
    error = RegistryTimeoutError(
        f"GET {parts.path or '/'} timed out: {parts.netloc or 'the registry'} stopped sending "
        "the body (nothing came for the read timeout)",
        hint=TIMEOUT_HINT,
    )
    error.request = response.request
    return error


#: Blobs from this size on are hashed on a second thread while they download.
THREADED_HASH_SIZE = 32 * 1024 * 1024


class _InlineHashing:
    """The `_HashingThread` interface, hashing on the calling thread (one buffer suffices)."""

    ring = 1

    def __init__(self, hasher: Hasher):
        self.hasher = hasher

    def update(self, chunk: memoryview) -> None:
        self.hasher.update(chunk)

    def sync(self) -> None:
        pass


class _HashingThread:
    """Feeds a Hasher on a second thread (hashlib releases the GIL), so hashing a download
    overlaps reading and writing it. At most RING - 2 chunks wait, so the ring is never
    overwritten while a chunk is still queued or being hashed."""

    ring = RING

    def __init__(self, hasher: Hasher):
        self.hasher = hasher
        self._queue: queue.Queue[Optional[memoryview]] = queue.Queue(maxsize=RING - 2)
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            chunk = self._queue.get()
            try:
                if chunk is None:
                    return
                if self._error is None:
                    self.hasher.update(chunk)
            except BaseException as e:  # reported by sync()
                self._error = e
            finally:
                self._queue.task_done()

    def update(self, chunk: memoryview) -> None:
        self._queue.put(chunk)

    def sync(self) -> None:
        """Wait until every queued chunk is hashed (then the ring may be reused freely)."""
        self._queue.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


def _stream(
    fetch: Fetch,
    hasher: Hasher,
    fh: BinaryIO,
    size: Optional[int],
    progress: Optional[ProgressReporter],
    check: Optional[Callable[[requests.Response], None]],
    start: int = 0,
    digest: str = "",
) -> None:
    # A second thread pays off for large blobs only; small ones are hashed inline.
    background = _HashingThread(hasher) if size is None or size >= THREADED_HASH_SIZE else None
    try:
        _receive(
            fetch, background or _InlineHashing(hasher), fh, size, progress, check, start, digest
        )
    finally:
        if background is not None:
            background.close()


def _receive(
    fetch: Fetch,
    background: Union[_HashingThread, _InlineHashing],
    fh: BinaryIO,
    size: Optional[int],
    progress: Optional[ProgressReporter],
    check: Optional[Callable[[requests.Response], None]],
    start: int = 0,
    digest: str = "",
) -> None:
    """Stream the blob into `fh` from byte `start` on (`fetch(start)` first gives an answer
    that goes on from there), resuming with `Range` after a dropped connection."""
    resumes = 0
    offset = start
    going_on = bool(start)  # the first answer is not a range: it goes on from `start`
    while True:
        response = fetch(offset)
        try:
            if check is not None:
                check(response)
            if offset and response.status_code != 206 and not going_on:
                # The server ignored our Range: start over from the first byte.
                log.info("registry does not resume downloads: starting over")
                fh.seek(0)
                fh.truncate()
                background.sync()
                background.hasher.reset()
                offset = 0
                if progress is not None:
                    progress.rewind(0)
            if size is not None:
                _check_length(response, offset, size, digest)
            for chunk in raw_chunks(response, background.ring):
                check_interrupted()
                if size is not None and offset + len(chunk) > size:
                    raise _overrun(digest, size)
                background.update(chunk)
                write_pieces(fh.write, chunk)
                offset += len(chunk)
                if progress is not None:
                    progress.advance(len(chunk))
            declared = response.headers.get("Content-Length")
            received = offset if response.status_code != 206 else None
            if (
                declared
                and declared.isdigit()
                and received is not None
                and received < int(declared)
            ):
                raise requests.exceptions.ChunkedEncodingError("body shorter than Content-Length")
            if size is not None and offset < size:
                raise requests.exceptions.ChunkedEncodingError("body shorter than the blob")
            background.sync()
            return
        except RegistryTimeoutError:
            raise
        except _DROPPED as e:
            resumes += 1
            if resumes > MAX_RESUMES:
                raise
            log.info("download interrupted at byte %d (%s): resuming", offset, type(e).__name__)
        finally:
            going_on = False
            response.close()


def _overrun(digest: str, size: int) -> DigestMismatchError:
    return DigestMismatchError(f"blob {digest} is longer than the {size} bytes its descriptor says")


def _check_length(response: requests.Response, offset: int, size: int, digest: str) -> None:
    """DigestMismatchError when the answer declares more bytes than the blob has left after
    `offset` (a 206 counts from its own start): nothing of it is read."""
    declared = response.headers.get("Content-Length", "")
    start = offset if response.status_code == 206 else 0
    if declared.isdigit() and start + int(declared) > size:
        raise _overrun(digest, size)


class BlobStream(io.RawIOBase):
    """A blob's bytes as a readable stream, resumed with `Range` after a dropped connection
    (at most MAX_RESUMES times). The bytes are not verified here: the reader does that; a
    stream of known `size` stops with DigestMismatchError at the first byte past it (a
    registry that keeps sending never fills a disk or memory)."""

    def __init__(
        self,
        fetch: Fetch,
        digest: str,
        check: Optional[Callable[[requests.Response], None]] = None,
        size: Optional[int] = None,
    ) -> None:
        super().__init__()
        self._fetch = fetch
        self._digest = digest
        self._check = check
        self._size = size
        self._offset = 0
        self._resumes = 0
        self._response: Optional[requests.Response] = None
        self._eof = False
        self._open(0)

    def _open(self, offset: int) -> None:
        response = self._fetch(offset)
        if self._check is not None:
            try:
                self._check(response)
            except BaseException:
                response.close()
                raise
        if offset and response.status_code != 206:
            response.close()
            raise requests.exceptions.ChunkedEncodingError(
                f"the registry does not resume downloads of {self._digest}"
            )
        if self._size is not None:
            try:
                _check_length(response, offset, self._size, self._digest)
            except BaseException:
                response.close()
                raise
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._eof or self._response is None or not len(view):
            return 0
        while True:
            try:
                n = self._read_some(view)
            except RegistryTimeoutError:
                raise
            except _DROPPED as e:
                self._resumes += 1
                if self._resumes > MAX_RESUMES or not self._offset:
                    raise
                log.info(
                    "download of %s interrupted at byte %d (%s): resuming",
                    self._digest,
                    self._offset,
                    type(e).__name__,
                )
                self._response.close()
                self._open(self._offset)
                continue
            if n:
                if self._size is not None and self._offset + n > self._size:
                    raise _overrun(self._digest, self._size)
                self._offset += n
                return n
            self._finish()
            return 0

    def _read_some(self, view: memoryview) -> int:
        response = self._response
        assert response is not None
        wire = getattr(response.raw, "_fp", None)
        if wire is not None and hasattr(wire, "readinto"):
            n = wire.readinto(view) or 0
        else:
            data = response.raw.read(len(view), decode_content=False)
            n = len(data)
            view[:n] = data
        if not n:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and response.status_code == 200:
                if self._offset < int(declared):
                    raise requests.exceptions.ChunkedEncodingError("body shorter than declared")
        return n

    def _finish(self) -> None:
        self._eof = True
        if self._response is not None:
            raw = self._response.raw
            if getattr(raw, "_fp", None) is not None and raw._fp.isclosed():
                raw.release_conn()  # read to its end: the connection goes back to the pool
            self._response.close()
            self._response = None

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None
        super().close()
