"""An HTTP CONNECT proxy on 127.0.0.1 that tunnels named public hosts to local servers.

Point a client's `HTTPS_PROXY` at `ConnectTunnel({"ghcr.io:443": "127.0.0.1:PORT"})` and its
requests to https://ghcr.io reach the local server instead (a TLS registry whose certificate
names ghcr.io). Bytes are relayed untouched, so TLS stays end to end between the client and the
local server. Every other CONNECT target, and any request that is not a CONNECT (point
`HTTP_PROXY` here too), is refused: through the tunnel nothing leaves the machine. `log` lists
each request and whether it was routed.
"""

from __future__ import annotations

import selectors
import socket
import threading
from typing import Mapping, Optional

from tests.harness.service import LoopbackService

__all__ = ["ConnectTunnel"]

#: Longest CONNECT request head the tunnel reads.
MAX_HEAD = 16 * 1024
#: Size of one relayed read.
BUFFER_SIZE = 64 * 1024
#: A tunnel with no traffic for this long is closed (clients keep pooled connections open).
IDLE_TIMEOUT = 300.0
#: How often the accept loop checks whether `stop()` was called.
_ACCEPT_POLL = 0.1


class ConnectTunnel(LoopbackService):
    """Answers `CONNECT host:port` for the hosts in `routes` ("host:port" -> "127.0.0.1:port")."""

    def __init__(self, routes: Mapping[str, str]) -> None:
        self.routes = {target.lower(): upstream for target, upstream in routes.items()}
        #: (CONNECT target, routed?) for every CONNECT request seen; any other request is
        #: logged as ("METHOD target", False).
        self.log: list[tuple[str, bool]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: Optional[socket.socket] = None
        self._accept_thread: Optional[threading.Thread] = None
        self._open: set[socket.socket] = set()

    def start(self) -> ConnectTunnel:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(_ACCEPT_POLL)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="connect-tunnel", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            for sock in list(self._open):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._open.clear()

    def routed(self, target: str) -> int:
        """How many CONNECTs to `target` were tunnelled."""
        with self._lock:
            return sum(1 for seen, ok in self.log if ok and seen == target.lower())

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            (self._open.add if add else self._open.discard)(sock)

    def _handle(self, client: socket.socket) -> None:
        self._track(client, True)
        try:
            client.settimeout(IDLE_TIMEOUT)
            head, rest = self._read_head(client)
            parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(parts) != 3 or parts[0].upper() != "CONNECT":
                # A plain-HTTP proxy request (HTTP_PROXY pointed here): logged, never forwarded.
                with self._lock:
                    self.log.append((" ".join(parts[:2]), False))
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            target = parts[1].lower()
            upstream = self.routes.get(target)
            with self._lock:
                self.log.append((target, upstream is not None))
            if upstream is None:
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            host, port = upstream.rsplit(":", 1)
            try:
                server = socket.create_connection((host, int(port)), timeout=IDLE_TIMEOUT)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            self._track(server, True)
            try:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    server.sendall(rest)
                self._relay(client, server)
            finally:
                self._track(server, False)
                server.close()
        except OSError:
            pass  # the client or the server went away: the tunnel ends
        finally:
            self._track(client, False)
            client.close()

    @staticmethod
    def _read_head(client: socket.socket) -> tuple[bytes, bytes]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(4096)
            if not chunk or len(data) > MAX_HEAD:
                raise OSError("no complete CONNECT request")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        return head, rest

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        peer = {client: server, server: client}
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ)
            selector.register(server, selectors.EVENT_READ)
            while not self._stopping.is_set():
                events = selector.select(timeout=IDLE_TIMEOUT)
                if not events:
                    return
                for key, _ in events:
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(BUFFER_SIZE)
                    if not data:
                        return
                    peer[source].sendall(data)
