"""Blob uploads: monolithic (POST, PUT) and chunked (POST, PATCH..., PUT), resumable and cancellable.

The functions take `send`, the client's request function (`do_request(url, method, data=...,
headers=...)`), so authentication, retries and overrides in custom clients apply to every step.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass
from typing import IO, Callable, Optional, Union

import requests

from oras.concurrency import check_interrupted
from oras.digest import Hasher
from oras.errors import DigestMismatchError, ProtocolError
from oras.progress import ProgressReporter
from oras.remote.body import BytesBody, FileRangeBody
from oras.remote.response import registry_error, resolve_location, with_query

log = logging.getLogger(__name__)

Send = Callable[..., requests.Response]

#: Blobs larger than this go up in chunks (resumable; some registries cap a single PUT).
CHUNKED_THRESHOLD = 4 * 1024**3
#: Chunk size of automatic chunked uploads (oras-py's own default, 16 MiB, is used when asked).
AUTO_CHUNK_SIZE = 64 * 1024 * 1024
#: Times a chunked upload resumes after a dropped connection before giving up.
MAX_RESUMES = 5
#: Times a monolithic upload starts over after a dropped connection.
MAX_RESTARTS = 3

_CONNECTION_ERRORS = (requests.ConnectionError, requests.Timeout)
_OCTET = "application/octet-stream"


@dataclass
class UploadSession:
    """An open upload: where to send the next request, and how many bytes the registry holds."""

    location: str
    offset: int = 0
    min_chunk: int = 0


def start_upload(send: Send, start_url: str, what: str) -> UploadSession:
    """POST for a new upload session."""
    response = send(start_url, "POST", headers={"Content-Length": "0", "Content-Type": _OCTET})
    if response.status_code != 202:
        raise registry_error(response, f"starting the upload of {what}")
    min_chunk = response.headers.get("OCI-Chunk-Min-Length", "")
    return UploadSession(
        resolve_location(response), min_chunk=int(min_chunk) if min_chunk.isdigit() else 0
    )


def upload_status(send: Send, session: UploadSession) -> UploadSession:
    """Ask the registry how much of the upload it holds (GET on the upload URL)."""
    response = send(session.location, "GET")
    if response.status_code not in (200, 204):
        raise registry_error(response, "reading the upload's status")
    stored = (response.headers.get("Range") or "").replace("bytes=", "")
    _, _, end = stored.partition("-")
    if not end.isdigit():
        raise ProtocolError(f"upload status without a usable Range header: {stored!r}")
    location = resolve_location(response) if response.headers.get("Location") else session.location
    # Distribution answers "0-0" for both 0 and 1 stored bytes: that is ambiguous.
    offset = int(end) + 1 if int(end) > 0 else -1
    return UploadSession(location, offset, session.min_chunk)


def cancel_upload(send: Send, session: UploadSession) -> None:
    """DELETE the session so the registry can drop what it holds; errors are ignored."""
    try:
        send(session.location, "DELETE").close()
    except Exception as e:  # best effort: the upload already failed
        log.debug("cancelling upload failed: %s", e)


def finish_upload(send: Send, session: UploadSession, digest: str) -> requests.Response:
    response = send(
        with_query(session.location, digest=digest),
        "PUT",
        headers={"Content-Length": "0", "Content-Type": _OCTET},
    )
    if response.status_code not in (201, 204):
        raise registry_error(response, f"completing the upload of {digest}")
    return response


def put_file(
    send: Send,
    start_url: str,
    path: str,
    digest: str,
    size: int,
    progress: Optional[ProgressReporter] = None,
) -> requests.Response:
    """Monolithic upload: POST, then one PUT streaming the file. A dropped connection starts
    a new session (the registry may hold part of the failed PUT)."""
    for attempt in range(MAX_RESTARTS + 1):
        session = start_upload(send, start_url, digest)
        if progress is not None:
            progress.rewind(0)
        body = FileRangeBody(
            path, 0, size, replayable=False, on_read=progress.advance if progress else None
        )
        try:
            return send(
                with_query(session.location, digest=digest),
                "PUT",
                data=body,
                headers={"Content-Length": str(size), "Content-Type": _OCTET},
            )
        except _CONNECTION_ERRORS as e:
            cancel_upload(send, session)
            if attempt == MAX_RESTARTS:
                raise
            log.info("upload of %s interrupted (%s): starting over", digest, type(e).__name__)
        except BaseException:  # stopped (Ctrl-C, SIGTERM) or failed: the session is dropped
            cancel_upload(send, session)
            raise
    raise AssertionError("unreachable")


def upload_file_blob(
    monolithic: Callable[[], requests.Response],
    chunked: Callable[[int], requests.Response],
    size: int,
    chunk_size: Optional[int] = None,
) -> requests.Response:
    """The one choice of how a local file goes up: in chunks of `chunk_size` when asked, in
    AUTO_CHUNK_SIZE chunks above CHUNKED_THRESHOLD, otherwise in one PUT, and in chunks after
    all when the registry refuses that size (413). `monolithic()` and `chunked(chunk_size)`
    do the requests (a client's overridable upload methods, or the store's own)."""
    if chunk_size is not None:
        return chunked(chunk_size)
    if size > CHUNKED_THRESHOLD:
        return chunked(AUTO_CHUNK_SIZE)
    response = monolithic()
    if response.status_code == 413:
        log.info("registry refused a %d-byte body: uploading in chunks", size)
        response.close()
        response = chunked(AUTO_CHUNK_SIZE)
    return response


Source = Union[str, IO[bytes]]


def put_chunked(
    send: Send,
    start_url: str,
    source: Source,
    chunk_size: int,
    digest: Optional[str] = None,
    size: Optional[int] = None,
    progress: Optional[ProgressReporter] = None,
) -> tuple[requests.Response, str, int]:
    """Chunked upload of a file path (resumable) or a stream of unknown size (hashed as it
    goes); returns the final response, the digest and the size."""
    session = start_upload(send, start_url, digest or "a stream")
    chunk_size = max(chunk_size, session.min_chunk)
    try:
        if isinstance(source, str):
            session = _patch_file(send, start_url, session, source, size or 0, chunk_size, progress)
        else:
            session, digest, size = _patch_stream(send, session, source, chunk_size, progress)
        assert digest is not None and size is not None
        return finish_upload(send, session, digest), digest, size
    except BaseException:
        cancel_upload(send, session)
        raise


def _patch(
    send: Send, session: UploadSession, body: Union[FileRangeBody, BytesBody], start: int
) -> requests.Response:
    return send(
        session.location,
        "PATCH",
        data=body,
        headers={
            "Content-Type": _OCTET,
            "Content-Range": f"{start}-{start + len(body) - 1}",
            "Content-Length": str(len(body)),
        },
    )


class ChunkedUnsupported(Exception):
    """The registry refused a PATCH: it does not take chunked uploads (Google Artifact Registry)."""


def _patch_file(
    send: Send,
    start_url: str,
    session: UploadSession,
    path: str,
    size: int,
    chunk_size: int,
    progress: Optional[ProgressReporter],
    stop: Optional[Callable[[], bool]] = None,
    first_chunk: int = 0,
) -> Optional[UploadSession]:
    """PATCH the file chunk by chunk, resuming after dropped connections; returns None when
    `stop()` says so between chunks. `first_chunk` (if set) probes with a small first PATCH."""
    offset, resumes = 0, 0
    on_read = progress.advance if progress else None
    while offset < size:
        if stop is not None and stop():
            return None
        length = min(first_chunk if offset == 0 and first_chunk else chunk_size, size - offset)
        body = FileRangeBody(path, offset, length, replayable=False, on_read=on_read)
        try:
            response = _patch(send, session, body, offset)
        except _CONNECTION_ERRORS as e:
            resumes += 1
            if resumes > MAX_RESUMES:
                raise
            status = upload_status(send, session)
            if status.offset < 0:  # position unknown: start a clean session
                cancel_upload(send, status)
                status = start_upload(send, start_url, path)
                status = UploadSession(status.location, 0, session.min_chunk)
            log.info(
                "upload interrupted (%s): resuming at byte %d", type(e).__name__, status.offset
            )
            session, offset = status, status.offset
            if progress is not None:
                progress.rewind(offset)
            continue
        if response.status_code == 416:
            session = upload_status(send, session)
            offset = max(session.offset, 0)
            continue
        if response.status_code not in (201, 202):
            if offset == 0 and first_chunk and response.status_code in (400, 404, 405, 415, 501):
                raise ChunkedUnsupported(response.status_code)
            raise registry_error(response, "uploading a chunk")
        session = UploadSession(resolve_location(response), offset + length, session.min_chunk)
        offset += length
    return session


#: Files at least this large are uploaded while they are hashed (one read pass instead of two).
OVERLAP_THRESHOLD = 128 * 1024 * 1024
#: The first PATCH of an overlapped upload is small: a registry without chunked uploads
#: refuses it cheaply, and the client falls back to hashing first.
PROBE_CHUNK = 1024 * 1024


def put_file_while_hashing(
    send: Send,
    start_url: str,
    path: str,
    size: int,
    digest: Future[str],
    exists: Callable[[str], bool],
    chunk_size: int = AUTO_CHUNK_SIZE,
    progress: Optional[ProgressReporter] = None,
) -> Optional[requests.Response]:
    """Upload `path` in chunks while `digest` (hashing it on another thread) resolves; once it
    does, stop if the registry already holds the blob. Returns the final response, or None when
    the blob existed. Raises ChunkedUnsupported (before much is sent) if PATCH is refused."""
    session = start_upload(send, start_url, path)
    checked = {"done": False, "exists": False}

    def stop() -> bool:
        if not checked["done"] and digest.done():
            checked["done"] = True
            checked["exists"] = exists(digest.result())
        return checked["exists"]

    try:
        finished = _patch_file(
            send,
            start_url,
            session,
            path,
            size,
            max(chunk_size, session.min_chunk),
            progress,
            stop=stop,
            first_chunk=max(PROBE_CHUNK, session.min_chunk),
        )
        if finished is None:
            cancel_upload(send, session)
            return None
        return finish_upload(send, finished, digest.result())
    except BaseException:
        cancel_upload(send, session)
        raise


def _patch_stream(
    send: Send,
    session: UploadSession,
    stream: IO[bytes],
    chunk_size: int,
    progress: Optional[ProgressReporter],
) -> tuple[UploadSession, str, int]:
    hasher = Hasher()
    offset = 0
    while True:
        check_interrupted()
        data = _read_full(stream, chunk_size)
        if not data:
            break
        hasher.update(data)
        body = BytesBody(data, replayable=False, on_read=progress.advance if progress else None)
        response = _patch(send, session, body, offset)
        if response.status_code not in (201, 202):
            raise registry_error(response, "uploading a chunk")
        offset += len(data)
        session = UploadSession(resolve_location(response), offset, session.min_chunk)
    return session, hasher.digest(), hasher.size


def _read_full(stream: IO[bytes], size: int) -> bytes:
    """Read up to `size` bytes, looping over short reads of pipes."""
    parts, remaining = [], size
    while remaining > 0:
        data = stream.read(remaining)
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts)


def check_stored_digest(response: requests.Response, digest: str) -> None:
    """The registry must store what we sent under the digest we computed."""
    stored = response.headers.get("Docker-Content-Digest")
    if stored and stored != digest:
        raise DigestMismatchError(f"registry stored the blob as {stored}, expected {digest}")


def check_stored_manifest(response: requests.Response, body: bytes) -> None:
    """The registry must store a manifest under the digest of the bytes we sent."""
    from oras.digest import digest_bytes

    expected = digest_bytes(body)
    stored = response.headers.get("Docker-Content-Digest")
    if stored and stored != expected:
        raise DigestMismatchError(
            f"registry stored manifest as {stored}, but its bytes digest to {expected}"
        )


__all__ = [
    "AUTO_CHUNK_SIZE",
    "CHUNKED_THRESHOLD",
    "UploadSession",
    "cancel_upload",
    "put_chunked",
    "put_file",
    "start_upload",
    "upload_status",
]
