"""One client connection of the test registry: the request body read from `rfile` in blocks
(Content-Length or chunked transfer coding) and answers written to `wfile` with the
registry's headers. Route handlers build on it; `oras.testing.server` routes the requests."""

from __future__ import annotations

import json
import logging
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, Iterator, Optional

from oras.testing.protocol import Reply, page
from oras.testing.storage import COPY_BUFFER

if TYPE_CHECKING:
    from oras.testing.server import Settings

log = logging.getLogger("oras.testing")

API_VERSION = "registry/2.0"
#: A refused request's unread body is read and dropped up to this size; above, the
#: connection is closed instead.
MAX_DRAIN = 16 * 1024 * 1024


class Connection(BaseHTTPRequestHandler):
    """The request and answer plumbing of a `RegistryHandler`."""

    settings: Settings  # set on a subclass per server
    route_path: str
    query: dict[str, list[str]]
    #: Body bytes not read yet (Content-Length), None when it was invalid; set per request.
    _remaining: Optional[int]
    #: Whether the body comes in chunked transfer coding (and is not read to its end yet).
    _chunked: bool

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

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

    def _paged(self, key: str, items: list[str], path: str, extra: dict[str, Any]) -> None:
        shown, n = page(items, self.query)
        headers = {}
        if n is not None and shown:
            query = urllib.parse.urlencode({"n": n, "last": shown[-1]})
            headers["Link"] = f'<{path}?{query}>; rel="next"'
        self._json(200, {**extra, key: shown}, headers=headers)
