"""Loopback servers that are not registries, for the client's checks that it talks to one.

`FileServer(directory)` serves a directory as a plain static file server does (a `v2/` folder
makes `GET /v2/` answer 200 with an HTML listing). `SilentServer()` accepts connections, reads
what is sent and never answers.
"""

from __future__ import annotations

import functools
import http.server
import socket
import threading
from pathlib import Path
from typing import Optional

from tests.harness.service import LoopbackService

__all__ = ["FileServer", "SilentServer"]

#: How often the silent server's accept loop checks whether `stop()` was called.
_ACCEPT_POLL = 0.1


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class FileServer(LoopbackService):
    """`python -m http.server` over `directory`, on 127.0.0.1:<free port>."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._server: Optional[http.server.ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    def start(self) -> FileServer:
        handler = functools.partial(_QuietHandler, directory=str(self.directory))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class SilentServer(LoopbackService):
    """Accepts every connection on 127.0.0.1:<free port>, reads and discards what comes, and
    never sends a byte; `connections` counts the connections accepted."""

    def __init__(self) -> None:
        self.connections = 0
        self._lock = threading.Lock()
        self._listener: Optional[socket.socket] = None
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    def start(self) -> SilentServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(_ACCEPT_POLL)
        self._listener = listener
        self.port = listener.getsockname()[1]
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._sockets.append(client)
            reader = threading.Thread(target=self._drain, args=(client,), daemon=True)
            reader.start()
            self._threads.append(reader)

    def _drain(self, client: socket.socket) -> None:
        try:
            while client.recv(65536):
                pass
        except OSError:
            pass

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
