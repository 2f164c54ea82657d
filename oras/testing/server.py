"""The test registry's HTTP side: distribution-spec 1.1 routes on a `ThreadingHTTPServer`.

One `RegistryHandler` per connection (HTTP/1.1 keep-alive) parses the route, asks the
authenticator, and answers from the `Storage`. Request bodies are read from `rfile` in large
blocks (Content-Length or chunked transfer coding) and blob bodies written to `wfile` the same
way, so a directory-backed registry moves GiB-sized blobs in constant memory. Errors are the
spec's JSON bodies: `{"errors": [{"code", "message", "detail"}]}`.

The handler's parts: `oras.testing.connection` (reading bodies, writing answers),
`oras.testing.protocol` (names, tags, digests, `Reply`), `oras.testing.routes_blobs` (blobs
and uploads) and `oras.testing.routes_manifests` (manifests, tags and referrers); this module
holds the settings, the request loop, the routing table with auth, and the server.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any, Callable, Optional

from oras.testing.auth import Authenticator, Scope, TokenAuth, basic_credentials
from oras.testing.connection import API_VERSION as API_VERSION
from oras.testing.connection import MAX_DRAIN as MAX_DRAIN
from oras.testing.protocol import NAME_RE, Reply
from oras.testing.protocol import TAG_RE as TAG_RE
from oras.testing.protocol import page as _page  # noqa: F401 (importable from here, as before)
from oras.testing.routes_blobs import BlobRoutes
from oras.testing.routes_blobs import _parse_range as _parse_range
from oras.testing.routes_manifests import DOCKER_LIST as DOCKER_LIST
from oras.testing.routes_manifests import DOCKER_MANIFEST as DOCKER_MANIFEST
from oras.testing.routes_manifests import IMAGE_MANIFESTS as IMAGE_MANIFESTS
from oras.testing.routes_manifests import INDEXES as INDEXES
from oras.testing.routes_manifests import MAX_MANIFEST_SIZE as MAX_MANIFEST_SIZE
from oras.testing.routes_manifests import OCI_INDEX as OCI_INDEX
from oras.testing.routes_manifests import OCI_MANIFEST as OCI_MANIFEST
from oras.testing.routes_manifests import ManifestRoutes
from oras.testing.storage import Storage

log = logging.getLogger("oras.testing")

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


def _error_body(code: str, message: str, detail: Any = None) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": detail}]}).encode()


class RegistryHandler(BlobRoutes, ManifestRoutes):
    """One client connection to the test registry."""

    protocol_version = "HTTP/1.1"
    server_version = "oras-testing"
    # An idle keep-alive connection is dropped after this many seconds.
    timeout = 120
    # Headers and body go out in separate writes: with Nagle's algorithm the body would wait
    # for the client's delayed ACK (40 ms per small answer on Linux).
    disable_nagle_algorithm = True

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

    def _catalog(self) -> None:
        names = self.settings.storage.repository_names()
        self._paged("repositories", names, "/v2/_catalog", {})


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
