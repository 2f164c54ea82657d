"""A blob origin on 127.0.0.1: what a registry's blob redirect (`307 Location:`) leads to, a
CDN in production. It serves the blobs it was given at `/blobs/<digest>`, records the headers
of every request, and handles `Range` one of three ways (`ranges`):

- "serve": advertises `Accept-Ranges: bytes` and answers a range with 206 (a CDN),
- "ignore": advertises ranges but answers every request with 200 and the whole blob,
- "none": does not advertise ranges and answers every request with 200 and the whole blob.
"""

from __future__ import annotations

import http.server
import re
import threading
from typing import Optional

from tests.harness.service import LoopbackService

__all__ = ["BlobOrigin"]

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that drops a connection it no longer needs is not an error here


class BlobOrigin(LoopbackService):
    """Serves `blobs` (digest -> bytes) on a free loopback port; `requests` lists
    `(path, headers)` of every request, headers as a dict with lower-case names."""

    def __init__(self, blobs: dict[str, bytes], ranges: str = "serve") -> None:
        if ranges not in ("serve", "ignore", "none"):
            raise ValueError(f"ranges must be serve, ignore or none, not {ranges!r}")
        self.blobs = blobs
        self.ranges = ranges
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server: Optional[http.server.ThreadingHTTPServer] = None

    def url_of(self, digest: str) -> str:
        return f"{self.url}/blobs/{digest}"

    def start(self) -> BlobOrigin:
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with origin._lock:
                    origin.requests.append(
                        (self.path, {k.lower(): v for k, v in self.headers.items()})
                    )
                data = origin.blobs.get(self.path.rpartition("/")[2])
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                wanted = _RANGE.match(self.headers.get("Range") or "")
                if origin.ranges == "serve" and wanted:
                    start = int(wanted.group(1))
                    end = int(wanted.group(2)) if wanted.group(2) else len(data) - 1
                    end = min(end, len(data) - 1)
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                    body = data[start : end + 1]
                else:
                    self.send_response(200)
                    body = data
                if origin.ranges != "none":
                    self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client had what it wanted (the first part of a whole blob)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
