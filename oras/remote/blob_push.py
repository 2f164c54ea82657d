"""Pushing blobs to one registry repository, for `oras.remote.repository.Repository`, which
delegates to it: a blob of known digest (a local file, small content read whole, or a stream),
a cross-repository mount, and content whose digest is not known in advance (hashed while it
uploads). The protocol steps (POST, PUT, PATCH, resume, cancel) are `oras.remote.upload`'s.
"""

from __future__ import annotations

import io
import logging
import os
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Optional

import requests

from oras.content.reader import read_all
from oras.descriptor import Descriptor
from oras.errors import DigestMismatchError, NotFoundError
from oras.progress import ByteCounter
from oras.remote.body import StreamBody
from oras.remote.response import registry_error, with_query
from oras.remote.upload import (
    _OCTET,
    AUTO_CHUNK_SIZE,
    UploadSession,
    cancel_upload,
    check_stored_digest,
    put_chunked,
    put_file,
    upload_file_blob,
)

if TYPE_CHECKING:
    from oras.remote.repository import Repository

# The logger these uploads have always logged to, before they left `oras.remote.repository`.
log = logging.getLogger("oras.remote.repository")

#: Content up to this size that is not a local file is read whole before it is uploaded.
SMALL_BLOB_SIZE = 4 * 1024 * 1024


def _upload_url(repository: Repository) -> str:
    """Where the repository's upload sessions start (`POST .../blobs/uploads/`)."""
    return f"{repository._base}/blobs/uploads/"


class RepositoryBlobs:
    """The blob-pushing side of one `Repository` (its `send`, URLs and `upload_file`)."""

    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    @property
    def _send(self) -> Callable[..., requests.Response]:
        return self._repository.send

    def push(self, expected: Descriptor, content: BinaryIO) -> None:
        """Upload `content` as the blob `expected`: a local file from disk, small content
        read whole first, anything else as one stream."""
        repository = self._repository
        start = _upload_url(repository)
        path = getattr(content, "path", None)
        progress = ByteCounter(getattr(content, "count", None))
        if isinstance(path, str) and os.path.isfile(path):
            # A local file: sent from disk, restarted or resumed after a dropped connection.
            response = repository.upload_file(path, expected.digest, expected.size, progress)
        elif expected.size <= SMALL_BLOB_SIZE:
            # Small content is read whole (and verified) first, so a dropped connection or a
            # refused size can be answered by sending it again.
            data = read_all(content, expected, limit=SMALL_BLOB_SIZE)  # counted as it is read
            response = self._put_bytes(start, expected, data)
        else:
            response = self._put_stream(start, expected, content)
        response.close()
        if response.status_code not in (201, 204):
            raise registry_error(response, f"uploading blob {expected.digest} to {repository.name}")
        check_stored_digest(response, expected.digest)

    def upload_file(
        self, path: str, digest: str, size: int, progress: Any, chunk_size: Optional[int]
    ) -> requests.Response:
        """`Repository.upload_file`: monolithic, or chunked as `upload_file_blob` decides."""
        start = _upload_url(self._repository)
        return upload_file_blob(
            lambda: put_file(self._send, start, path, digest, size, progress),
            lambda chunk: put_chunked(self._send, start, path, chunk, digest, size, progress)[0],
            size,
            chunk_size,
        )

    def _put_bytes(self, start: str, expected: Descriptor, data: bytes) -> requests.Response:
        """POST then one PUT of `data`, started over in a new session after a dropped
        connection; in chunks when the registry refuses the size (413)."""
        from oras.remote.body import BytesBody
        from oras.remote.upload import MAX_RESTARTS, start_upload

        for attempt in range(MAX_RESTARTS + 1):
            session = start_upload(self._send, start, expected.digest)
            try:
                response = self._send(
                    with_query(session.location, digest=expected.digest),
                    "PUT",
                    data=BytesBody(data, replayable=False),
                    headers={"Content-Length": str(len(data)), "Content-Type": _OCTET},
                )
            except (requests.ConnectionError, requests.Timeout) as e:
                cancel_upload(self._send, session)
                if attempt == MAX_RESTARTS:
                    raise
                log.info("upload of %s interrupted (%s): starting over", expected.digest, e)
                continue
            if response.status_code == 413:
                response.close()
                cancel_upload(self._send, session)
                response, _, _ = put_chunked(self._send, start, io.BytesIO(data), AUTO_CHUNK_SIZE)
            return response
        raise AssertionError("unreachable")

    def _put_stream(self, start: str, expected: Descriptor, content: BinaryIO) -> requests.Response:
        from oras.remote.upload import start_upload

        session = start_upload(self._send, start, expected.digest)
        return self._finish_stream(session, expected, content)

    def _finish_stream(
        self, session: UploadSession, expected: Descriptor, content: BinaryIO
    ) -> requests.Response:
        try:
            return self._send(
                with_query(session.location, digest=expected.digest),
                "PUT",
                data=StreamBody(content, expected.size),
                headers={"Content-Length": str(expected.size), "Content-Type": _OCTET},
            )
        except BaseException:
            cancel_upload(self._send, session)
            raise

    def mount(
        self, desc: Descriptor, from_repository: str, get_content: Optional[Callable[[], BinaryIO]]
    ) -> None:
        """`Repository.mount`: POST `?mount=&from=`, else upload into the session offered."""
        repository = self._repository
        url = with_query(_upload_url(repository), mount=desc.digest, **{"from": from_repository})
        response = self._send(url, "POST", headers={"Content-Length": "0"})
        response.close()
        if response.status_code == 201:
            check_stored_digest(response, desc.digest)
            return
        if response.status_code != 202:
            raise registry_error(response, f"mounting {desc.digest} from {from_repository}")
        from oras.remote.response import resolve_location

        session = UploadSession(resolve_location(response))
        if get_content is None:
            cancel_upload(self._send, session)
            raise NotFoundError(
                f"{repository.reference.registry} did not mount {desc.digest} "
                f"from {from_repository}",
                status=202,
            )
        with get_content() as content:
            done = self._finish_stream(session, desc, content)
        done.close()
        if done.status_code not in (201, 204):
            raise registry_error(done, f"uploading blob {desc.digest} to {repository.name}")


class PushedBlob:
    """What an upload of content whose digest was not known in advance found out."""

    def __init__(self, digest: str, size: int, existed: bool) -> None:
        self.digest = digest
        self.size = size
        #: The registry had it already (the upload stopped early).
        self.existed = existed


def push_stream(
    repository: Repository,
    stream: BinaryIO,
    chunk_size: int,
    on_bytes: Optional[Callable[[int], None]] = None,
) -> PushedBlob:
    """Upload a stream of unknown size and digest in chunks, hashing it on the way."""
    response, digest, size = put_chunked(
        repository.send, _upload_url(repository), stream, chunk_size, progress=ByteCounter(on_bytes)
    )
    response.close()
    check_stored_digest(response, digest)
    return PushedBlob(digest, size, existed=False)


def push_file_while_hashing(
    repository: Repository,
    path: str,
    on_bytes: Optional[Callable[[int], None]] = None,
) -> Optional[PushedBlob]:
    """Upload a large file in the same pass that hashes it (on a second thread), stopping
    early when the registry turns out to hold it. None when the registry does not take
    chunked uploads: the caller then hashes first and uploads in one request."""
    from concurrent.futures import ThreadPoolExecutor

    from oras.concurrency import in_this_context
    from oras.digest import digest_file
    from oras.remote.upload import ChunkedUnsupported, put_file_while_hashing

    size = os.path.getsize(path)
    hashed: dict[str, int] = {}

    def hash_file() -> str:
        found, hashed["size"] = digest_file(path)
        return found

    with ThreadPoolExecutor(max_workers=1) as hasher:
        digest = hasher.submit(in_this_context(hash_file))  # stops with this worker
        try:
            response = put_file_while_hashing(
                repository.send,
                _upload_url(repository),
                path,
                size,
                digest,
                exists=lambda d: repository.exists(Descriptor("", d, size)),
                progress=ByteCounter(on_bytes),
            )
        except ChunkedUnsupported:
            return None
        found = digest.result()
    if hashed["size"] != size:
        raise DigestMismatchError(f"{path} changed size while it was being uploaded")
    if response is None:
        return PushedBlob(found, size, existed=True)
    response.close()
    if response.status_code not in (201, 204):
        raise registry_error(response, f"uploading blob {found} to {repository.name}")
    check_stored_digest(response, found)
    return PushedBlob(found, size, existed=False)
