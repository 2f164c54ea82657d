"""The test registry's HTTP side: distribution-spec 1.1 routes on a `ThreadingHTTPServer`.

One `RegistryHandler` per connection (HTTP/1.1 keep-alive) parses the route, asks the
authenticator, and answers from the `Storage`. Request bodies are read from `rfile` in large
blocks (Content-Length or chunked transfer coding) and blob bodies written to `wfile` the same
way, so a directory-backed registry moves GiB-sized blobs in constant memory. Errors are the
spec's JSON bodies: `{"errors": [{"code", "message", "detail"}]}`.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator, Optional

from oras.digest import digest_problem
from oras.testing.auth import Authenticator, Scope, TokenAuth, basic_credentials
from oras.testing.storage import COPY_BUFFER, ManifestRecord, Storage, digest_bytes

log = logging.getLogger("oras.testing")

API_VERSION = "registry/2.0"
#: Largest manifest accepted (what Distribution and most registries take).
MAX_MANIFEST_SIZE = 4 * 1024 * 1024
#: A refused request's unread body is read and dropped up to this size; above, the
#: connection is closed instead.
MAX_DRAIN = 16 * 1024 * 1024

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEXES = (OCI_INDEX, DOCKER_LIST)

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
_ROUTES = [
    ("base", re.compile(r"/v2/?")),
    ("catalog", re.compile(r"/v2/_catalog")),
    ("uploads", re.compile(r"/v2/(?P<name>.+)/blobs/uploads/?")),
    ("upload", re.compile(r"/v2/(?P<name>.+)/blobs/uploads/(?P<id>[^/]+)")),
    ("blob", re.compile(r"/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)")),
    ("manifest", re.compile(r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)")),
    ("tags", re.compile(r"/v2/(?P<name>.+)/tags/list")),
    ("referrers", re.compile(r"/v2/(?P<name>.+)/referrers/(?P<digest>[^/]+)")),
    ("token", re.compile(r"/token")),
]


@dataclass
class Settings:
    """What a `RegistryHandler` needs besides the request: storage, auth and switches."""

    storage: Storage
    auth: Optional[Authenticator] = None
    referrers: bool = True
    #: Referrers listed per page of the referrers API (0: all in one answer).
    referrers_page_size: int = 0
    delete: bool = True
    chunk_min_length: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    #: Sees every request before routing; when it returns True it has answered the request
    #: itself (tests build misbehaving registries on it).
    intercept: Optional[Callable[[RegistryHandler], bool]] = None


class Reply(Exception):
    """Stops handling a request with this answer (an error, usually)."""

    def __init__(
        self,
        status: int,
        code: str = "",
        message: str = "",
        detail: Any = None,
        headers: Optional[dict[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = headers or {}


def _error_body(code: str, message: str, detail: Any = None) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": detail}]}).encode()


def _check_digest(digest: str) -> str:
    problem = digest_problem(digest)
    if problem:
        raise Reply(400, "DIGEST_INVALID", f"invalid digest: {problem}", {"digest": digest})
    algorithm = digest.split(":", 1)[0]
    if algorithm not in ("sha256", "sha512"):
        raise Reply(400, "DIGEST_INVALID", f"unsupported digest algorithm {algorithm}")
    return digest


def _page(items: list[str], query: dict[str, list[str]]) -> tuple[list[str], Optional[int]]:
    """The `n`/`last` page of sorted `items`, and `n` when another page follows."""
    last = (query.get("last") or [""])[0]
    if last:
        items = [item for item in items if item > last]
    raw_n = (query.get("n") or [""])[0]
    if raw_n == "":
        return items, None
    if not raw_n.isdigit():
        raise Reply(400, "PAGINATION_NUMBER_INVALID", "n must be a non-negative integer")
    n = int(raw_n)
    if n == 0:
        return [], None
    return items[:n], (n if len(items) > n else None)


class RegistryHandler(BaseHTTPRequestHandler):
    """One client connection to the test registry."""

    protocol_version = "HTTP/1.1"
    server_version = "oras-testing"
    # An idle keep-alive connection is dropped after this many seconds.
    timeout = 120
    # Headers and body go out in separate writes: with Nagle's algorithm the body would wait
    # for the client's delayed ACK (40 ms per small answer on Linux).
    disable_nagle_algorithm = True
    settings: Settings  # set on a subclass per server

    # -- plumbing ----------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        self._remaining: Optional[int] = 0
        self._chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        if not self._chunked:
            try:
                self._remaining = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self._remaining = None
        url = urllib.parse.urlsplit(self.path)
        self.route_path = urllib.parse.unquote(url.path)
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        try:
            if self._remaining is None:
                raise Reply(400, "SIZE_INVALID", "invalid Content-Length")
            if self.settings.intercept is not None and self.settings.intercept(self):
                return
            self._route()
        except Reply as reply:
            if reply.status == 404 and not reply.code:
                self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")
            else:
                body = _error_body(reply.code, reply.message, reply.detail)
                self._send(reply.status, body, "application/json", reply.headers)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:  # a bug in the registry: answer 500 and keep serving
            log.exception("test registry failed on %s %s", self.command, self.path)
            self._send(500, _error_body("UNKNOWN", "internal error"), "application/json")

    def body_chunks(self) -> Iterator[bytes]:
        """The request body in blocks of at most COPY_BUFFER bytes, read once."""
        if self._chunked:
            yield from self._chunked_body()
            return
        while self._remaining:
            block = self.rfile.read(min(COPY_BUFFER, self._remaining))
            if not block:
                self.close_connection = True
                raise ConnectionError("client closed the connection mid-body")
            self._remaining -= len(block)
            yield block

    def _chunked_body(self) -> Iterator[bytes]:
        while self._chunked:
            line = self.rfile.readline(1024)
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                self._chunked = False
                return
            while size:
                block = self.rfile.read(min(COPY_BUFFER, size))
                if not block:
                    raise ConnectionError("client closed the connection mid-body")
                size -= len(block)
                yield block
            self.rfile.readline(1024)

    def read_body(self, limit: int) -> bytes:
        data = bytearray()
        for block in self.body_chunks():
            data += block
            if len(data) > limit:
                raise Reply(413, "SIZE_INVALID", f"body larger than {limit} bytes")
        return bytes(data)

    def _drain(self) -> None:
        if self._chunked or (self._remaining or 0) > MAX_DRAIN:
            self.close_connection = True
            return
        for _ in self.body_chunks():
            pass

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: Optional[str] = None,
        headers: Optional[dict[str, str]] = None,
        length: Optional[int] = None,
    ) -> None:
        self._drain()
        self.send_response(status)
        self.send_header("Docker-Distribution-API-Version", API_VERSION)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any, content_type: str = "application/json", **kw: Any):
        self._send(status, json.dumps(data).encode(), content_type, **kw)

    def _base_url(self) -> str:
        """Where the client reached us, for absolute `Location`s: honours X-Forwarded-Host and
        X-Forwarded-Proto from a proxy in front, as Distribution does."""
        address, port = self.server.server_address[:2]
        forwarded = self.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
        host = forwarded or self.headers.get("Host") or f"{address}:{port}"
        scheme = self.headers.get("X-Forwarded-Proto", "").split(",")[0].strip() or "http"
        return f"{scheme}://{host}"

    # -- routing and auth ---------------------------------------------------------------------

    def _route(self) -> None:
        for kind, pattern in _ROUTES:  # noqa: B007 (the matching kind is used below)
            match = pattern.fullmatch(self.route_path)
            if match:
                break
        else:
            raise Reply(404)
        params = match.groupdict()
        if kind == "token":
            if not isinstance(self.settings.auth, TokenAuth) or self.command not in ("GET", "POST"):
                raise Reply(404)
            return self._token()
        name = params.get("name")
        if name is not None and (not NAME_RE.fullmatch(name) or len(name) > 255):
            self._authorize([])
            raise Reply(400, "NAME_INVALID", "invalid repository name", {"name": name})
        if kind == "referrers" and not self.settings.referrers:
            raise Reply(404)
        self._authorize(self._scopes(kind, name))
        allowed = {
            "base": ("GET", "HEAD"),
            "catalog": ("GET",),
            "uploads": ("POST",),
            "upload": ("GET", "PATCH", "PUT", "DELETE"),
            "blob": ("GET", "HEAD", "DELETE"),
            "manifest": ("GET", "HEAD", "PUT", "DELETE"),
            "tags": ("GET",),
            "referrers": ("GET",),
        }[kind]
        if self.command not in allowed:
            raise Reply(405, "UNSUPPORTED", f"{self.command} is not supported here")
        getattr(self, f"_{kind}")(**params)

    def _scopes(self, kind: str, name: Optional[str]) -> list[Scope]:
        if kind == "base":
            return []
        if kind == "catalog":
            return [Scope("registry", "catalog", frozenset({"*"}))]
        assert name is not None
        if self.command == "DELETE" and kind in ("blob", "manifest"):
            actions = {"delete"}
        elif self.command in ("GET", "HEAD"):
            actions = {"pull"}
        else:
            actions = {"pull", "push"}
        scopes = [Scope("repository", name, frozenset(actions))]
        source = (self.query.get("from") or [""])[0]
        if kind == "uploads" and self.query.get("mount") and source and source != name:
            scopes.append(Scope("repository", source, frozenset({"pull"})))
        return scopes

    def _authorize(self, needed: list[Scope]) -> None:
        auth = self.settings.auth
        if auth is None:
            return
        denial = auth.check(self.headers.get("Authorization", ""), needed)
        if denial is not None:
            headers = {"WWW-Authenticate": denial.challenge} if denial.challenge else {}
            detail = [
                {"Type": s.type, "Name": s.name, "Action": a} for s in needed for a in s.actions
            ]
            raise Reply(denial.status, denial.code, denial.message, detail or None, headers)

    def _token(self) -> None:
        auth = self.settings.auth
        assert isinstance(auth, TokenAuth)
        offline = False
        if self.command == "GET":
            scopes_text = " ".join(self.query.get("scope", []))
            offline = (self.query.get("offline_token") or [""])[0] == "true"
            user: Optional[str] = None
            credentials = basic_credentials(self.headers.get("Authorization", ""))
            if credentials is not None:
                if not auth.verify(*credentials):
                    raise Reply(401, "UNAUTHORIZED", "wrong user name or password")
                user = credentials[0]
        else:
            form = urllib.parse.parse_qs(self.read_body(64 * 1024).decode(errors="replace"))

            def value(key: str) -> str:
                return (form.get(key) or [""])[0]

            scopes_text = value("scope")
            offline = value("access_type") == "offline"
            grant = value("grant_type")
            if grant == "password":
                if not auth.verify(value("username"), value("password")):
                    raise Reply(401, "UNAUTHORIZED", "wrong user name or password")
                user = value("username")
            elif grant == "refresh_token":
                user = auth.refresh_user(value("refresh_token"))
                if user is None:
                    raise Reply(401, "UNAUTHORIZED", "unknown refresh token")
            else:
                raise Reply(400, "UNSUPPORTED", f"unsupported grant_type {grant!r}")
        scopes = [s for s in map(Scope.parse, scopes_text.split()) if s is not None]
        self._json(200, auth.issue(user, scopes, offline=offline))

    # -- base, catalog, tags ---------------------------------------------------------------------

    def _base(self) -> None:
        self._json(200, {})

    def _paged(self, key: str, items: list[str], path: str, extra: dict[str, Any]) -> None:
        page, n = _page(items, self.query)
        headers = {}
        if n is not None and page:
            query = urllib.parse.urlencode({"n": n, "last": page[-1]})
            headers["Link"] = f'<{path}?{query}>; rel="next"'
        self._json(200, {**extra, key: page}, headers=headers)

    def _catalog(self) -> None:
        names = self.settings.storage.repository_names()
        self._paged("repositories", names, "/v2/_catalog", {})

    def _tags(self, name: str) -> None:
        tags = self.settings.storage.tags(name)
        if tags is None:
            raise Reply(
                404, "NAME_UNKNOWN", "repository name not known to registry", {"name": name}
            )
        self._paged("tags", tags, f"/v2/{name}/tags/list", {"name": name})

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
            _check_digest(mount)
            if source and NAME_RE.fullmatch(source) and storage.has_blob(source, mount) is not None:
                storage.link_blob(name, mount)
                return self._blob_created(name, mount)
        digest = (self.query.get("digest") or [""])[0]
        if digest and not mount:
            _check_digest(digest)
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
        _check_digest(digest)
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
        _check_digest(digest)
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

    # -- manifests ----------------------------------------------------------------------------------

    def _resolve(self, name: str, reference: str) -> str:
        storage = self.settings.storage
        if ":" in reference:
            digest = _check_digest(reference)
        else:
            if not TAG_RE.fullmatch(reference):
                raise Reply(400, "TAG_INVALID", "invalid tag", {"tag": reference})
            found = storage.resolve_tag(name, reference)
            if found is None:
                raise Reply(404, "MANIFEST_UNKNOWN", "manifest unknown", {"tag": reference})
            digest = found
        if storage.manifest(name, digest) is None:
            raise Reply(404, "MANIFEST_UNKNOWN", "manifest unknown", {"digest": digest})
        return digest

    def _manifest(self, name: str, reference: str) -> None:
        storage = self.settings.storage
        if self.command == "PUT":
            return self._put_manifest(name, reference)
        if self.command == "DELETE":
            if not self.settings.delete:
                raise Reply(405, "UNSUPPORTED", "deletes are disabled on this registry")
            if ":" not in reference:
                self._resolve(name, reference)
                storage.delete_tag(name, reference)
                return self._send(202)
            digest = self._resolve(name, reference)
            storage.delete_manifest(name, digest)
            return self._send(202)
        digest = self._resolve(name, reference)
        record = storage.manifest(name, digest)
        assert record is not None
        with storage.open_blob(digest) as f:
            data = f.read()
        headers = {"Docker-Content-Digest": digest, "ETag": f'"{digest}"'}
        self._send(200, data, record.media_type, headers)

    def _put_manifest(self, name: str, reference: str) -> None:
        storage = self.settings.storage
        tag: Optional[str] = None
        if ":" in reference:
            _check_digest(reference)
        elif not TAG_RE.fullmatch(reference):
            raise Reply(400, "TAG_INVALID", "invalid tag", {"tag": reference})
        else:
            tag = reference
        data = self.read_body(MAX_MANIFEST_SIZE)
        try:
            manifest = json.loads(data)
        except ValueError as e:
            raise Reply(400, "MANIFEST_INVALID", f"manifest is not JSON: {e}")
        if not isinstance(manifest, dict):
            raise Reply(400, "MANIFEST_INVALID", "manifest is not a JSON object")
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
        declared = manifest.get("mediaType")
        if content_type in ("", "application/octet-stream", "application/json"):
            content_type = ""
        if declared is not None and content_type and declared != content_type:
            raise Reply(
                400,
                "MANIFEST_INVALID",
                f"mediaType {declared!r} differs from Content-Type {content_type!r}",
            )
        media_type = (
            content_type
            or (declared if isinstance(declared, str) else "")
            or (OCI_INDEX if "manifests" in manifest else OCI_MANIFEST)
        )
        record = self._check_manifest(name, manifest, media_type, len(data))
        algorithm = reference.split(":", 1)[0] if tag is None else "sha256"
        digest = digest_bytes(data, algorithm)
        if tag is None and digest != reference:
            raise Reply(
                400,
                "DIGEST_INVALID",
                "manifest digest differs from the reference",
                {"digest": digest},
            )
        storage.put_manifest(name, digest, data, record, tag)
        headers = {
            "Location": f"{self._base_url()}/v2/{name}/manifests/{digest}",
            "Docker-Content-Digest": digest,
        }
        extra_tags = [t for t in self.query.get("tag", []) if TAG_RE.fullmatch(t)]
        for extra in extra_tags:
            storage.put_manifest(name, digest, data, record, extra)
        if record.subject and self.settings.referrers:
            headers["OCI-Subject"] = record.subject
        if extra_tags:
            headers["OCI-Tag"] = ", ".join(extra_tags)
        self._send(201, headers=headers)

    def _check_manifest(
        self, name: str, manifest: dict[str, Any], media_type: str, size: int
    ) -> ManifestRecord:
        storage = self.settings.storage

        def descriptor(value: Any, what: str) -> dict[str, Any]:
            if (
                not isinstance(value, dict)
                or not isinstance(value.get("digest"), str)
                or digest_problem(value["digest"])
                or not isinstance(value.get("size"), int)
            ):
                raise Reply(400, "MANIFEST_INVALID", f"invalid {what} descriptor")
            return value

        artifact_type = manifest.get("artifactType")
        if media_type in IMAGE_MANIFESTS + INDEXES and manifest.get("schemaVersion") != 2:
            raise Reply(400, "MANIFEST_INVALID", "schemaVersion must be 2")
        if media_type in IMAGE_MANIFESTS:
            config = descriptor(manifest.get("config"), "config")
            layers = manifest.get("layers")
            if not isinstance(layers, list):
                raise Reply(400, "MANIFEST_INVALID", "layers must be a list")
            for item in [config, *(descriptor(layer, "layer") for layer in layers)]:
                if item is not config and item.get("urls"):
                    continue  # a foreign layer lives elsewhere
                if storage.has_blob(name, item["digest"]) is None:
                    raise Reply(
                        400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", item["digest"]
                    )
            if not isinstance(artifact_type, str):
                artifact_type = config.get("mediaType")
        elif media_type in INDEXES:
            children = manifest.get("manifests")
            if not isinstance(children, list):
                raise Reply(400, "MANIFEST_INVALID", "manifests must be a list")
            for child in children:
                child = descriptor(child, "manifest")
                if storage.manifest(name, child["digest"]) is None:
                    raise Reply(
                        400,
                        "MANIFEST_BLOB_UNKNOWN",
                        "manifest unknown to registry",
                        child["digest"],
                    )
        subject = manifest.get("subject")
        annotations = manifest.get("annotations")
        return ManifestRecord(
            media_type,
            size,
            descriptor(subject, "subject")["digest"] if subject is not None else None,
            artifact_type if isinstance(artifact_type, str) else None,
            annotations if isinstance(annotations, dict) else None,
        )

    # -- referrers ----------------------------------------------------------------------------------

    def _referrers(self, name: str, digest: str) -> None:
        _check_digest(digest)
        wanted = [t for t in self.query.get("artifactType", []) if t]
        last = (self.query.get("last") or [""])[0]
        page_size = self.settings.referrers_page_size
        entries = []
        headers: dict[str, str] = {}
        for referrer, record in self.settings.storage.referrers(name, digest):
            if (wanted and record.artifact_type not in wanted) or (last and referrer <= last):
                continue
            if page_size and len(entries) == page_size:
                query = urllib.parse.urlencode(
                    [("last", entries[-1]["digest"])] + [("artifactType", t) for t in wanted]
                )
                headers["Link"] = f'</v2/{name}/referrers/{digest}?{query}>; rel="next"'
                break
            entry: dict[str, Any] = {
                "mediaType": record.media_type,
                "digest": referrer,
                "size": record.size,
            }
            if record.artifact_type:
                entry["artifactType"] = record.artifact_type
            if record.annotations:
                entry["annotations"] = record.annotations
            entries.append(entry)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        if wanted:
            headers["OCI-Filters-Applied"] = "artifactType"
        self._json(200, index, OCI_INDEX, headers=headers)


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


class RegistryHTTPServer(ThreadingHTTPServer):
    """A `ThreadingHTTPServer` whose handler threads do not keep the process alive."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-request; the library logs and never prints.
        log.debug("connection from %s failed", client_address, exc_info=True)


def make_server(host: str, port: int, settings: Settings) -> RegistryHTTPServer:
    handler = type("BoundRegistryHandler", (RegistryHandler,), {"settings": settings})
    return RegistryHTTPServer((host, port), handler)
