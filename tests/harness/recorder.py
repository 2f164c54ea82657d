"""A small loopback HTTP server that records every GET and HEAD it is sent (path and headers)
and answers through a handler subclass: a registry that redirects elsewhere, a storage host."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class RecordingServer(ThreadingHTTPServer):
    """Serves `handler` on a free port of 127.0.0.1 until `stop()`; `seen` holds one dict
    per request (`path` and the request headers), `settings` what the handler reads."""

    daemon_threads = True

    def __init__(self, handler: type[RecordingHandler], **settings: Any) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.seen: list[dict[str, str]] = []
        self.settings = settings
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class RecordingHandler(BaseHTTPRequestHandler):
    """Records the request, then `handle_get()` answers it (HEAD as GET, without a body)."""

    server: RecordingServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, body: bytes = b"", **headers: str) -> None:
        """Answer `status` with `body`; header names are given with `_` for `-`."""
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self.server.seen.append({"path": self.path, **dict(self.headers.items())})
        self.handle_get()

    def handle_get(self) -> None:
        raise NotImplementedError
