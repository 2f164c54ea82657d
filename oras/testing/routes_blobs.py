"""The test registry's blob routes: blob uploads (monolithic, chunked, cross-repository
mounts) and blob reads (with single byte ranges) and deletes."""

from __future__ import annotations

import re
from typing import Any, Optional

from oras.testing.connection import Connection
from oras.testing.protocol import NAME_RE, Reply, check_digest
from oras.testing.storage import COPY_BUFFER


class BlobRoutes(Connection):
    """The `uploads`, `upload` and `blob` routes of a `RegistryHandler`."""

    # -- uploads ------------------------------------------------------------------------------------

    def _upload_headers(self, name: str, upload_id: str, size: int) -> dict[str, str]:
        return {
            "Location": f"{self._base_url()}/v2/{name}/blobs/uploads/{upload_id}",
            "Range": f"0-{max(size - 1, 0)}",
            "Docker-Upload-UUID": upload_id,
        }

    def _blob_created(self, name: str, digest: str) -> None:
        headers = {
            "Location": f"{self._base_url()}/v2/{name}/blobs/{digest}",
            "Docker-Content-Digest": digest,
        }
        self._send(201, headers=headers)

    def _uploads(self, name: str) -> None:
        storage = self.settings.storage
        mount = (self.query.get("mount") or [""])[0]
        source = (self.query.get("from") or [""])[0]
        if mount:
            check_digest(mount)
            if source and NAME_RE.fullmatch(source) and storage.has_blob(source, mount) is not None:
                storage.link_blob(name, mount)
                return self._blob_created(name, mount)
        digest = (self.query.get("digest") or [""])[0]
        if digest and not mount:
            check_digest(digest)
        upload_id = storage.start_upload(name)
        if digest and not mount:
            return self._finish_upload(name, upload_id, digest)
        headers = self._upload_headers(name, upload_id, 0)
        if self.settings.chunk_min_length:
            headers["OCI-Chunk-Min-Length"] = str(self.settings.chunk_min_length)
        self._send(202, headers=headers)

    def _session(self, name: str, upload_id: str) -> Any:
        upload = self.settings.storage.upload(name, upload_id)
        if upload is None:
            raise Reply(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        return upload

    def _append(self, name: str, upload_id: str, upload: Any) -> None:
        content_range = self.headers.get("Content-Range")
        if content_range:
            match = re.fullmatch(r"(?:bytes[ =])?(\d+)-(\d+)(?:/\S+)?", content_range.strip())
            if not match:
                raise Reply(400, "BLOB_UPLOAD_INVALID", f"invalid Content-Range {content_range!r}")
            start, end = int(match.group(1)), int(match.group(2))
            if start != upload.size or end < start:
                raise Reply(
                    416,
                    "BLOB_UPLOAD_INVALID",
                    f"chunk {start}-{end} does not follow the {upload.size} bytes received",
                    headers=self._upload_headers(name, upload_id, upload.size),
                )
            if not self._chunked and self._remaining != end - start + 1:
                raise Reply(400, "SIZE_INVALID", "Content-Length differs from Content-Range")
        self.settings.storage.append_upload(upload, upload_id, self.body_chunks())

    def _upload(self, name: str, id: str) -> None:
        storage = self.settings.storage
        upload = self._session(name, id)
        if self.command == "GET":
            return self._send(204, headers=self._upload_headers(name, id, upload.size))
        if self.command == "DELETE":
            storage.cancel_upload(id)
            return self._send(204)
        if self.command == "PATCH":
            if not upload.lock.acquire(blocking=False):
                raise Reply(416, "BLOB_UPLOAD_INVALID", "another request writes this upload")
            try:
                self._append(name, id, upload)
            finally:
                upload.lock.release()
            return self._send(202, headers=self._upload_headers(name, id, upload.size))
        digest = (self.query.get("digest") or [""])[0]
        if not digest:
            raise Reply(400, "DIGEST_INVALID", "the final PUT needs ?digest=")
        check_digest(digest)
        self._finish_upload(name, id, digest)

    def _finish_upload(self, name: str, upload_id: str, digest: str) -> None:
        storage = self.settings.storage
        upload = self._session(name, upload_id)
        if not upload.lock.acquire(blocking=False):
            raise Reply(416, "BLOB_UPLOAD_INVALID", "another request writes this upload")
        try:
            self._append(name, upload_id, upload)
            actual = storage.upload_digest(upload, upload_id, digest.split(":", 1)[0])
            if actual != digest:
                storage.cancel_upload(upload_id)
                raise Reply(
                    400,
                    "DIGEST_INVALID",
                    "provided digest did not match uploaded content",
                    {"expected": digest, "actual": actual},
                )
            storage.commit_upload(upload_id, digest)
        finally:
            upload.lock.release()
        self._blob_created(name, digest)

    # -- blobs ----------------------------------------------------------------------------------------

    def _blob(self, name: str, digest: str) -> None:
        check_digest(digest)
        storage = self.settings.storage
        if self.command == "DELETE":
            if not self.settings.delete:
                raise Reply(405, "UNSUPPORTED", "deletes are disabled on this registry")
            if not storage.unlink_blob(name, digest):
                raise Reply(404, "BLOB_UNKNOWN", "blob unknown to registry", {"digest": digest})
            return self._send(202, headers={"Docker-Content-Digest": digest})
        size = storage.has_blob(name, digest)
        if size is None:
            raise Reply(404, "BLOB_UNKNOWN", "blob unknown to registry", {"digest": digest})
        headers = {
            "Docker-Content-Digest": digest,
            "Accept-Ranges": "bytes",
            "ETag": f'"{digest}"',
            "Cache-Control": "max-age=31536000",
        }
        start, end, status = 0, size - 1, 200
        wanted = self.headers.get("Range")
        if wanted:
            span = _parse_range(wanted, size)
            if span is None:
                raise Reply(
                    416,
                    "RANGE_INVALID",
                    "requested range not satisfiable",
                    headers={"Content-Range": f"bytes */{size}"},
                )
            start, end = span
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self._send(status, b"", "application/octet-stream", headers, length=end - start + 1)
        if self.command == "HEAD":
            return
        with storage.open_blob(digest) as f:
            f.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                block = f.read(min(COPY_BUFFER, remaining))
                if not block:
                    raise ConnectionError("blob shorter than recorded")
                self.wfile.write(block)
                remaining -= len(block)


def _parse_range(header: str, size: int) -> Optional[tuple[int, int]]:
    """The inclusive byte span a single `bytes=` range asks for, or None if unsatisfiable."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        length = int(last)
        if length == 0 or size == 0:
            return None
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end
