"""A fault-injecting HTTP/1.1 reverse proxy on 127.0.0.1 that sits in front of a test registry.

`FaultProxy(upstream_url)` forwards every request verbatim (the client's `Host` included, so
Distribution builds `Location` URLs that point back at the proxy), streams bodies in both
directions without holding them in memory, logs every request, and injects faults on demand:
an error status instead of forwarding, a connection cut mid-upload or mid-download, a download
that stalls with the connection open, flipped response bytes, or a delay. Each fault matches a method and a regular expression searched in
the request path (without the query) and fires a given number of times.
"""

from __future__ import annotations

import dataclasses
import http
import re
import select
import socket
import struct
import threading
import time
import urllib.parse
from typing import Any, BinaryIO, Callable, Iterator, Mapping, Optional, Union

from tests.harness.service import LoopbackService

__all__ = ["Fault", "FaultProxy", "ProxyRequest"]

#: Size of one read or write when relaying a body.
BUFFER_SIZE = 256 * 1024
#: Longest request or status line, and longest header section, the proxy accepts.
MAX_LINE = 64 * 1024
MAX_HEADER_LINES = 200
#: How long the proxy waits for the registry before giving up on a request.
UPSTREAM_TIMEOUT = 300.0
#: How long `log()` waits by default for requests in progress to finish.
SETTLE_TIMEOUT = 2.0
#: Overlaps shorter than this are scheduling noise, not concurrency (see `max_concurrent`).
MIN_OVERLAP = 0.005
#: How often the accept loop checks whether `stop()` was called.
_ACCEPT_POLL = 0.1
#: Bytes sent at a time on a throttled response.
_THROTTLE_SLICE = 16 * 1024
#: Hop-by-hop request headers the proxy handles itself instead of forwarding.
_NOT_FORWARDED = {b"expect"}

PathPattern = Union[str, "re.Pattern[str]"]


class _ClientGone(Exception):
    """The client closed its connection, or the proxy cut it on purpose."""


class _UpstreamError(Exception):
    """The registry closed the connection or sent something that is not HTTP/1.1."""


@dataclasses.dataclass
class ProxyRequest:
    """One request seen by the proxy; times are `time.monotonic()` values."""

    connection_id: int
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    start: float
    end: Optional[float] = None
    #: Status sent to the client (injected or forwarded); None when no response was sent.
    status: Optional[int] = None
    #: Request body bytes read from the client (payload, without chunked framing).
    bytes_in: int = 0
    #: Response body bytes sent to the client (payload, without chunked framing).
    bytes_out: int = 0
    #: Kinds of the faults applied to this request ("fail", "cut_request", ...).
    faults: list[str] = dataclasses.field(default_factory=list)

    def header(self, name: str) -> Optional[str]:
        """The first request header called `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def finished(self) -> bool:
        """Whether the proxy is done with this request."""
        return self.end is not None


@dataclasses.dataclass
class Fault:
    """One armed fault; `times=None` fires on every matching request until `clear()`."""

    kind: str
    method: str
    path_regex: re.Pattern[str]
    times: Optional[int] = 1
    status: int = 0
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""
    after_bytes: int = 0
    seconds: float = 0.0
    offset: int = 0
    bytes_per_second: int = 0
    #: How many requests this fault has been applied to.
    hits: int = 0

    @property
    def remaining(self) -> Optional[int]:
        """How many more times the fault fires (None: unlimited)."""
        return None if self.times is None else max(self.times - self.hits, 0)

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and path (no query) triggers the fault."""
        if self.method not in ("*", method.upper()):
            return False
        return self.path_regex.search(path) is not None


@dataclasses.dataclass
class _Head:
    """A parsed request or status line with its header lines (raw, for verbatim forwarding)."""

    start_line: bytes
    lines: list[bytes]
    fields: list[tuple[str, str]]

    def get(self, name: str) -> Optional[str]:
        wanted = name.lower()
        return next((value for key, value in self.fields if key.lower() == wanted), None)

    def has_token(self, name: str, token: str) -> bool:
        """Whether a comma-separated header (Connection, Transfer-Encoding) lists `token`."""
        wanted = name.lower()
        return any(
            token in (part.strip().lower() for part in value.split(","))
            for key, value in self.fields
            if key.lower() == wanted
        )


def _read_head(reader: BinaryIO, *, eof_ok: bool) -> Optional[_Head]:
    """Read a start line and headers; None on a clean EOF before the first byte when `eof_ok`."""
    start_line = reader.readline(MAX_LINE + 1)
    while start_line in (b"\r\n", b"\n"):  # RFC 9112: ignore empty lines before a request
        start_line = reader.readline(MAX_LINE + 1)
    if not start_line:
        if eof_ok:
            return None
        raise _UpstreamError("connection closed before a response")
    if len(start_line) > MAX_LINE or not start_line.endswith(b"\n"):
        raise _UpstreamError("start line too long or truncated")
    lines: list[bytes] = []
    fields: list[tuple[str, str]] = []
    while True:
        line = reader.readline(MAX_LINE + 1)
        if not line.endswith(b"\n") or len(lines) > MAX_HEADER_LINES:
            raise _UpstreamError("header section truncated or too long")
        if line in (b"\r\n", b"\n"):
            break
        name, sep, value = line.partition(b":")
        if not sep:
            raise _UpstreamError(f"malformed header line {line!r}")
        lines.append(line)
        fields.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
    return _Head(start_line, lines, fields)


def _body_framing(head: _Head, *, has_body: bool) -> tuple[str, int]:
    """("none" | "chunked" | "length" | "close", length) for a message with this head."""
    if not has_body:
        return "none", 0
    if head.has_token("Transfer-Encoding", "chunked"):
        return "chunked", 0
    length = head.get("Content-Length")
    if length is not None:
        try:
            return "length", int(length)
        except ValueError:
            raise _UpstreamError(f"bad Content-Length {length!r}")
    return "close", 0


def _iter_body(reader: BinaryIO, framing: str, length: int) -> Iterator[tuple[bool, bytes]]:
    """Yield `(is_payload, bytes)` pieces of a body as they arrive; framing bytes are not payload.

    Raises `EOFError` when the peer closes before a length- or chunk-delimited body is complete.
    """
    if framing == "length":
        left = length
        while left > 0:
            piece = reader.read1(min(left, BUFFER_SIZE))  # type: ignore[attr-defined]
            if not piece:
                raise EOFError(f"body ended {left} bytes early")
            left -= len(piece)
            yield True, piece
    elif framing == "close":
        while True:
            piece = reader.read1(BUFFER_SIZE)  # type: ignore[attr-defined]
            if not piece:
                return
            yield True, piece
    elif framing == "chunked":
        while True:
            size_line = reader.readline(MAX_LINE + 1)
            if not size_line.endswith(b"\n"):
                raise EOFError("chunk size line truncated")
            yield False, size_line
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise EOFError(f"bad chunk size line {size_line!r}")
            if size == 0:
                while True:  # trailer section, ended by an empty line
                    trailer = reader.readline(MAX_LINE + 1)
                    if not trailer.endswith(b"\n"):
                        raise EOFError("trailer truncated")
                    yield False, trailer
                    if trailer in (b"\r\n", b"\n"):
                        return
            yield from _iter_body(reader, "length", size)
            crlf = reader.readline(MAX_LINE + 1)
            if not crlf.endswith(b"\n"):
                raise EOFError("chunk terminator missing")
            yield False, crlf


def _abort(sock: socket.socket) -> None:
    """Close with a TCP RST, as a crashed peer or a dropped link would."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def _close_gracefully(sock: socket.socket) -> None:
    """Send FIN so every byte already written reaches the client, then close."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class _Upstream:
    """The registry connection of one client connection, kept between its requests as a
    client's keep-alive connection would reach the registry itself (a connection per request
    would cost the registry and the proxy a TCP set-up per request that no real link adds)."""

    def __init__(self) -> None:
        self.sock: Optional[socket.socket] = None
        self.reader: Optional[BinaryIO] = None

    def take(self) -> Optional[tuple[socket.socket, BinaryIO]]:
        """The kept connection, if the registry has not closed it meanwhile."""
        sock, reader = self.sock, self.reader
        self.sock = self.reader = None
        if sock is None or reader is None:
            return None
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:  # an idle connection that is readable was closed (or is out of step)
            reader.close()
            sock.close()
            return None
        return sock, reader

    def keep(self, sock: socket.socket, reader: BinaryIO) -> None:
        self.sock, self.reader = sock, reader


class FaultProxy(LoopbackService):
    """Reverse proxy on 127.0.0.1:<free port> in front of `upstream_url` (plain HTTP).

    After `start()`: `host` ("127.0.0.1:PORT"), `port`, `url`. Faults are armed with `fail`,
    `cut_request`, `cut_response`, `corrupt_response` and `delay`; each returns its `Fault`
    (see `.hits`). `log()` lists the requests seen; `clear()` drops faults and log.
    """

    def __init__(self, upstream_url: str) -> None:
        parts = urllib.parse.urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(
                f"FaultProxy forwards to plain http:// URLs only, not {upstream_url!r}"
            )
        self.upstream_url = upstream_url.rstrip("/")
        self.upstream_address = (parts.hostname, parts.port or 80)
        self.port = 0
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)
        self._faults: list[Fault] = []
        self._log: list[ProxyRequest] = []
        self._next_connection_id = 0
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listener: Optional[socket.socket] = None
        self._accept_thread: Optional[threading.Thread] = None
        self._stopping = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        """Listen on a free loopback port and serve in background threads."""
        if self._listener is not None:
            return self
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        listener.settimeout(_ACCEPT_POLL)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._stopping.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"fault-proxy-{self.port}", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut every open connection and wait for the worker threads."""
        self._stopping.set()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
            self._accept_thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(timeout=5)

    # -- faults ---------------------------------------------------------------------------------
    def _arm(self, kind: str, method: str, path_regex: PathPattern, **settings: object) -> Fault:
        fault = Fault(
            kind=kind,
            method=method.upper(),
            path_regex=re.compile(path_regex),
            **settings,  # type: ignore[arg-type]
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def fail(
        self,
        method: str,
        path_regex: PathPattern,
        status: int,
        headers: Optional[Mapping[str, str]] = None,
        body: bytes = b"",
        times: Optional[int] = 1,
    ) -> Fault:
        """Answer matching requests with `status` (and headers, body) instead of forwarding.

        The request body is read and discarded first, so the client sees the response.
        """
        settings = {"status": status, "headers": dict(headers or {}), "body": body}
        return self._arm("fail", method, path_regex, times=times, **settings)

    def cut_request(
        self, method: str, path_regex: PathPattern, after_bytes: int, times: Optional[int] = 1
    ) -> Fault:
        """Read `after_bytes` of the request body, then reset the client connection.

        Nothing is forwarded and no response is sent: a connection dropped mid-upload.
        """
        return self._arm("cut_request", method, path_regex, after_bytes=after_bytes, times=times)

    def cut_response(
        self, method: str, path_regex: PathPattern, after_bytes: int, times: Optional[int] = 1
    ) -> Fault:
        """Forward, send the response head and `after_bytes` of its body, then close the client.

        The close is a clean FIN, so the client reliably holds exactly `after_bytes` bytes.
        """
        return self._arm("cut_response", method, path_regex, after_bytes=after_bytes, times=times)

    def stall_response(
        self,
        method: str,
        path_regex: PathPattern,
        after_bytes: int,
        seconds: float,
        times: Optional[int] = 1,
    ) -> Fault:
        """Forward, send the response head and `after_bytes` of its body, then send nothing
        for `seconds` (the connection stays open) before closing the client.

        A transfer that stalls without the connection dropping.
        """
        settings = {"after_bytes": after_bytes, "seconds": seconds}
        return self._arm("stall_response", method, path_regex, times=times, **settings)

    def corrupt_response(
        self, method: str, path_regex: PathPattern, times: Optional[int] = 1, offset: int = 0
    ) -> Fault:
        """Forward, but invert the response body byte at `offset` (the length is unchanged).

        A body with a Content-Length shorter than `offset + 1` gets its last byte inverted.
        """
        return self._arm("corrupt_response", method, path_regex, offset=offset, times=times)

    def delay(
        self, method: str, path_regex: PathPattern, seconds: float, times: Optional[int] = None
    ) -> Fault:
        """Wait `seconds` after reading a matching request's head, before handling it."""
        return self._arm("delay", method, path_regex, seconds=seconds, times=times)

    def throttle(
        self,
        method: str,
        path_regex: PathPattern,
        bytes_per_second: int,
        times: Optional[int] = None,
    ) -> Fault:
        """Relay matching responses' bodies at `bytes_per_second`: a slow link, to catch a
        client mid-download."""
        return self._arm(
            "throttle", method, path_regex, bytes_per_second=bytes_per_second, times=times
        )

    def throttle_request(
        self,
        method: str,
        path_regex: PathPattern,
        bytes_per_second: int,
        times: Optional[int] = None,
    ) -> Fault:
        """Relay matching requests' bodies to the registry at `bytes_per_second`: a slow
        uplink."""
        return self._arm(
            "throttle_request", method, path_regex, bytes_per_second=bytes_per_second, times=times
        )

    def _take(self, kind: str, method: str, path: str) -> Optional[Fault]:
        """The first armed fault of `kind` matching the request, counting the hit."""
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and fault.remaining != 0 and fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None

    # -- log ------------------------------------------------------------------------------------
    def log(
        self,
        method: Optional[str] = None,
        path_regex: Optional[PathPattern] = None,
        settle: float = SETTLE_TIMEOUT,
    ) -> list[ProxyRequest]:
        """The requests seen so far (oldest first), optionally those matching method and path.

        A client may hold its whole response a moment before the proxy thread books the last
        bytes and the end time, so this first waits up to `settle` seconds for requests in
        progress to finish (0: take the snapshot at once).
        """
        pattern = re.compile(path_regex) if path_regex is not None else None
        deadline = time.monotonic() + settle
        with self._finished:
            while any(entry.end is None for entry in self._log):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._finished.wait(left)
            entries = list(self._log)
        return [
            entry
            for entry in entries
            if (method in (None, "*") or entry.method == method.upper())
            and (pattern is None or pattern.search(entry.path))
        ]

    def max_concurrent(
        self,
        method: str = "*",
        path_regex: PathPattern = "",
        settle: float = SETTLE_TIMEOUT,
        min_overlap: float = MIN_OVERLAP,
        where: Optional[Callable[[Any], bool]] = None,
    ) -> int:
        """The largest number of matching requests (and, with `where`, only those it accepts)
        that were in progress at the same moment.

        Overlaps shorter than `min_overlap` seconds do not count: a client can start its next
        request a moment before the proxy thread books the end of the previous one. Requests
        still in progress after `settle` seconds (see `log`) count as never ending.
        """
        events: list[tuple[float, int]] = []
        for entry in self.log(method, path_regex, settle=settle):
            if where is not None and not where(entry):
                continue
            end = float("inf") if entry.end is None else entry.end - min_overlap
            events.append((entry.start, 1))
            # Every request still counts for itself, however short.
            events.append((max(end, entry.start + 1e-9), -1))
        # At equal times an end sorts before a start: touching intervals do not overlap.
        events.sort()
        current = peak = 0
        for _, change in events:
            current += change
            peak = max(peak, current)
        return peak

    def clear(self) -> None:
        """Disarm every fault and empty the log."""
        with self._lock:
            self._faults.clear()
            self._log.clear()

    # -- serving --------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._listener is not None
        listener = self._listener
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            client.settimeout(None)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._next_connection_id += 1
                connection_id = self._next_connection_id
                thread = threading.Thread(
                    target=self._serve_connection,
                    args=(client, connection_id),
                    name=f"fault-proxy-{self.port}-conn-{connection_id}",
                    daemon=True,
                )
                self._sockets.add(client)
                self._threads.add(thread)
            thread.start()

    def _serve_connection(self, client: socket.socket, connection_id: int) -> None:
        reader = client.makefile("rb", buffering=BUFFER_SIZE)
        upstream = _Upstream()
        reset = False
        try:
            while not self._stopping.is_set():
                head = _read_head(reader, eof_ok=True)
                if head is None or not self._serve_request(
                    client, reader, head, connection_id, upstream
                ):
                    break
        except _UpstreamError:
            reset = True  # the client must notice that its response is incomplete
        except (_ClientGone, OSError, EOFError):
            pass
        finally:
            reader.close()
            kept = upstream.take()
            if kept is not None:
                self._drop_upstream(*kept)
            if reset:
                _abort(client)
            else:
                _close_gracefully(client)
            with self._lock:
                self._sockets.discard(client)
                self._threads.discard(threading.current_thread())

    def _serve_request(
        self,
        client: socket.socket,
        reader: BinaryIO,
        head: _Head,
        connection_id: int,
        upstream: _Upstream,
    ) -> bool:
        """Handle one request; True when the client connection stays usable for the next one."""
        try:
            method, target, version = head.start_line.decode("latin-1").split()
        except ValueError:
            raise _ClientGone(f"malformed request line {head.start_line!r}")
        parts = urllib.parse.urlsplit(target)
        entry = ProxyRequest(
            connection_id=connection_id,
            method=method.upper(),
            path=parts.path or target,
            query=parts.query,
            headers=list(head.fields),
            start=time.monotonic(),
        )
        with self._lock:
            self._log.append(entry)
        try:
            return self._dispatch(client, reader, head, entry, version, upstream)
        finally:
            with self._finished:
                entry.end = time.monotonic()
                self._finished.notify_all()

    def _dispatch(
        self,
        client: socket.socket,
        reader: BinaryIO,
        head: _Head,
        entry: ProxyRequest,
        version: str,
        upstream: _Upstream,
    ) -> bool:
        client_keeps_alive = version == "HTTP/1.1" and not head.has_token("Connection", "close")
        framing, length = _body_framing(head, has_body=True)
        if framing == "close":  # a request without length or chunking has no body
            framing = "none"

        delay = self._take("delay", entry.method, entry.path)
        if delay is not None:
            entry.faults.append("delay")
            time.sleep(delay.seconds)

        if (head.get("Expect") or "").lower() == "100-continue" and framing != "none":
            # The Expect header is not forwarded; the proxy invites the body itself.
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

        cut = self._take("cut_request", entry.method, entry.path)
        if cut is not None:
            entry.faults.append("cut_request")
            for is_payload, piece in _iter_body(reader, framing, length):
                if is_payload:
                    entry.bytes_in += len(piece)
                if entry.bytes_in >= cut.after_bytes:
                    break
            _abort(client)
            raise _ClientGone("request cut on purpose")

        failure = self._take("fail", entry.method, entry.path)
        if failure is not None:
            entry.faults.append("fail")
            for is_payload, piece in _iter_body(reader, framing, length):
                if is_payload:
                    entry.bytes_in += len(piece)
            self._send_injected(client, failure, entry, client_keeps_alive)
            return client_keeps_alive

        return self._forward(
            client, reader, head, entry, framing, length, client_keeps_alive, upstream
        )

    def _send_injected(
        self, client: socket.socket, fault: Fault, entry: ProxyRequest, keep_alive: bool
    ) -> None:
        try:
            reason = http.HTTPStatus(fault.status).phrase
        except ValueError:
            reason = "Injected"
        lines = [f"HTTP/1.1 {fault.status} {reason}"]
        names = {name.lower() for name in fault.headers}
        lines += [f"{name}: {value}" for name, value in fault.headers.items()]
        if "content-length" not in names:
            lines.append(f"Content-Length: {len(fault.body)}")
        if fault.body and "content-type" not in names:
            lines.append("Content-Type: text/plain")
        if not keep_alive:
            lines.append("Connection: close")
        body = b"" if entry.method == "HEAD" else fault.body
        client.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        entry.status = fault.status
        entry.bytes_out = len(body)

    def _forward(
        self,
        client: socket.socket,
        reader: BinaryIO,
        head: _Head,
        entry: ProxyRequest,
        framing: str,
        length: int,
        client_keeps_alive: bool,
        kept: _Upstream,
    ) -> bool:
        connection = kept.take()
        if connection is None:
            upstream = socket.create_connection(self.upstream_address, timeout=UPSTREAM_TIMEOUT)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets.add(upstream)
            upstream_reader: BinaryIO = upstream.makefile("rb", buffering=BUFFER_SIZE)
        else:
            upstream, upstream_reader = connection
        reusable = False
        try:
            forwarded = [head.start_line] + [
                line
                for line in head.lines
                if line.partition(b":")[0].strip().lower() not in _NOT_FORWARDED
            ]
            upstream.sendall(b"".join(forwarded) + b"\r\n")
            uplink = self._take("throttle_request", entry.method, entry.path)
            if uplink is not None:
                entry.faults.append("throttle_request")
            started = time.monotonic()
            try:
                for is_payload, piece in _iter_body(reader, framing, length):
                    if is_payload:
                        entry.bytes_in += len(piece)
                        if uplink is not None:
                            due = started + entry.bytes_in / uplink.bytes_per_second
                            time.sleep(max(0.0, due - time.monotonic()))
                    upstream.sendall(piece)
            except EOFError:
                raise _ClientGone("client closed mid-request")

            response = _read_head(upstream_reader, eof_ok=False)
            assert response is not None
            while True:
                status = int(response.start_line.split()[1])
                if status >= 200:
                    break
                client.sendall(response.start_line + b"".join(response.lines) + b"\r\n")
                response = _read_head(upstream_reader, eof_ok=False)
                assert response is not None
            entry.status = status
            has_body = entry.method != "HEAD" and status not in (204, 304)
            response_framing, response_length = _body_framing(response, has_body=has_body)
            client.sendall(response.start_line + b"".join(response.lines) + b"\r\n")
            registry_keeps_alive = self._relay_response(
                client, upstream_reader, entry, response, response_framing, response_length
            ) and (response_framing != "close" and not head.has_token("Connection", "close"))
            reusable = registry_keeps_alive
            return registry_keeps_alive and client_keeps_alive
        finally:
            if reusable:
                kept.keep(upstream, upstream_reader)
            else:
                self._drop_upstream(upstream, upstream_reader)

    def _drop_upstream(self, upstream: socket.socket, upstream_reader: BinaryIO) -> None:
        upstream_reader.close()
        upstream.close()
        with self._lock:
            self._sockets.discard(upstream)

    def _relay_response(
        self,
        client: socket.socket,
        upstream_reader: BinaryIO,
        entry: ProxyRequest,
        response: _Head,
        framing: str,
        length: int,
    ) -> bool:
        """Stream the response body to the client; False when the client connection must end."""
        cut = self._take("cut_response", entry.method, entry.path)
        stall = None if cut is not None else self._take("stall_response", entry.method, entry.path)
        corrupt = self._take("corrupt_response", entry.method, entry.path)
        throttle = self._take("throttle", entry.method, entry.path)
        if cut is not None:
            entry.faults.append("cut_response")
        if stall is not None:
            entry.faults.append("stall_response")
            cut = stall
        if corrupt is not None:
            entry.faults.append("corrupt_response")
        if throttle is not None:
            entry.faults.append("throttle")
        started = time.monotonic()
        flip_at: Optional[int] = None
        if corrupt is not None:
            flip_at = corrupt.offset
            if framing == "length" and length > 0:
                flip_at = min(flip_at, length - 1)
        try:
            for is_payload, piece in _iter_body(upstream_reader, framing, length):
                if not is_payload:
                    client.sendall(piece)
                    continue
                data = piece
                if flip_at is not None and entry.bytes_out <= flip_at < entry.bytes_out + len(data):
                    mutable = bytearray(data)
                    mutable[flip_at - entry.bytes_out] ^= 0xFF
                    data = bytes(mutable)
                    flip_at = None
                if cut is not None:
                    room = cut.after_bytes - entry.bytes_out
                    if len(data) >= room:
                        client.sendall(data[:room])
                        entry.bytes_out += room
                        if stall is not None:
                            self._stopping.wait(stall.seconds)
                        _close_gracefully(client)
                        raise _ClientGone("response cut on purpose")
                if throttle is None:
                    client.sendall(data)
                    entry.bytes_out += len(data)
                    continue
                # Slices of 10 ms of a fast link: fewer wake-ups, the same average rate.
                step = max(_THROTTLE_SLICE, throttle.bytes_per_second // 100)
                for start in range(0, len(data), step):
                    piece = data[start : start + step]
                    due = started + (entry.bytes_out + len(piece)) / throttle.bytes_per_second
                    time.sleep(max(0.0, due - time.monotonic()))
                    client.sendall(piece)
                    entry.bytes_out += len(piece)
        except EOFError:
            raise _UpstreamError("registry closed mid-response")
        if cut is not None:  # the whole body was shorter than the cut point
            if stall is not None:
                self._stopping.wait(stall.seconds)
            _close_gracefully(client)
            raise _ClientGone("response cut on purpose")
        return not response.has_token("Connection", "close")
