"""A hostile registry: the shipped test registry, with misbehaviours switched on per test.

`HostileRegistry` is an `oras.testing.TestRegistry` (same constructor: storage, users, token,
referrers...) that records every request it sees and, before routing, asks its rules whether to
misbehave. A rule matches a method (or "*") and a regular expression searched in the request
path (without the query); it fires `times` times (None: for ever) and runs an action that
answers the request itself, as raw as it likes:

    with HostileRegistry() as reg:
        reg.on("GET", r"/manifests/", oversized_manifest)
        ...
        assert not reg.saw_header("authorization", path=r"/blobs/")

An action is `action(handler, match)`: `handler` is the `oras.testing.server.RegistryHandler`
of the connection (its `wfile` is the socket, `storage_of(handler)` the registry's storage),
`match` the rule's regular-expression match. The helpers below write the common answers:
`send(...)` with any status, headers and body (an iterable body streams; `length` may lie),
`send_chunked(...)` with chunked transfer coding, `serve(handler)` answers as the honest registry
would. Requests not matched by any rule are answered honestly.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from typing import Any, Callable, Iterable, Optional, Union

from oras.testing import TestRegistry
from oras.testing.server import RegistryHandler
from oras.testing.storage import Storage

__all__ = [
    "Action",
    "HostileRegistry",
    "Rule",
    "SeenRequest",
    "send",
    "send_chunked",
    "serve",
    "storage_of",
]

Action = Callable[[RegistryHandler, "re.Match[str]"], None]
Body = Union[bytes, Iterable[bytes]]


@dataclasses.dataclass
class SeenRequest:
    """One request the hostile registry received (header names lower-case)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    time: float


@dataclasses.dataclass
class Rule:
    """A misbehaviour: `action` answers `method` requests whose path matches `path`."""

    method: str
    path: re.Pattern[str]
    action: Action
    times: Optional[int] = None
    fired: int = 0

    def take(self, method: str, path: str) -> Optional[re.Match[str]]:
        if self.method not in ("*", method):
            return None
        if self.times is not None and self.fired >= self.times:
            return None
        return self.path.search(path)


class HostileRegistry(TestRegistry):
    """A `TestRegistry` whose answers tests can turn hostile with `on(...)`."""

    __test__ = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests: list[SeenRequest] = []
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self.settings.intercept = self._intercept

    def on(
        self,
        method: str,
        path: Union[str, re.Pattern[str]],
        action: Action,
        *,
        times: Optional[int] = None,
    ) -> Rule:
        """Answer `method` (or "*") requests whose path matches `path` with `action`, `times`
        times (None: every time). Earlier rules win."""
        rule = Rule(method.upper(), re.compile(path), action, times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Forget the rules and the requests seen."""
        with self._lock:
            self._rules.clear()
            self.requests.clear()

    def seen(self, method: str = "*", path: str = "") -> list[SeenRequest]:
        """Requests received so far, filtered by method and a regex searched in the path."""
        pattern = re.compile(path)
        with self._lock:
            requests = list(self.requests)
        return [
            r for r in requests if method in ("*", r.method) and pattern.search(r.path) is not None
        ]

    def saw_header(self, name: str, *, method: str = "*", path: str = "") -> bool:
        """Whether any request matching `method` and `path` carried header `name`."""
        return any(name.lower() in r.headers for r in self.seen(method, path))

    def _intercept(self, handler: RegistryHandler) -> bool:
        path, _, query = handler.path.partition("?")
        seen = SeenRequest(
            handler.command,
            path,
            query,
            {k.lower(): v for k, v in handler.headers.items()},
            time.monotonic(),
        )
        with self._lock:
            self.requests.append(seen)
            for rule in self._rules:
                match = rule.take(handler.command, path)
                if match is not None:
                    rule.fired += 1
                    break
            else:
                return False
        rule.action(handler, match)
        return True


def storage_of(handler: RegistryHandler) -> Storage:
    """The storage behind the registry that `handler` serves."""
    return handler.settings.storage


def serve(handler: RegistryHandler) -> None:
    """Answer the request as the honest registry would."""
    handler._route()


def _drain(handler: RegistryHandler) -> None:
    handler._drain()


def send(
    handler: RegistryHandler,
    status: int,
    body: Body = b"",
    headers: Optional[dict[str, str]] = None,
    *,
    length: Optional[int] = None,
    close: bool = False,
) -> None:
    """Answer with `status`, `headers` and `body`. `length` is the Content-Length sent (the
    body's real length by default for bytes; an iterable body needs it or is sent until it
    ends with the connection closed after; a body that does not match it is followed by the
    connection's close). `close` closes the connection afterwards."""
    _drain(handler)
    if isinstance(body, (bytes, bytearray)):
        chunks: Iterable[bytes] = [bytes(body)]
        if length is None:
            length = len(body)
    else:
        chunks = body
    handler.send_response(status)
    handler.send_header("Docker-Distribution-API-Version", "registry/2.0")
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    if length is not None:
        handler.send_header("Content-Length", str(length))
    if close or length is None:
        handler.close_connection = True
        handler.send_header("Connection", "close")
    handler.end_headers()
    if handler.command == "HEAD":
        return
    written = 0
    try:
        for chunk in chunks:
            handler.wfile.write(chunk)
            handler.wfile.flush()
            written += len(chunk)
    except (ConnectionError, OSError):
        handler.close_connection = True
    if written != length:  # a lying length: only closing the connection ends the answer
        handler.close_connection = True


def send_chunked(
    handler: RegistryHandler,
    status: int,
    chunks: Iterable[bytes],
    headers: Optional[dict[str, str]] = None,
) -> None:
    """Answer with chunked transfer coding, one HTTP chunk per item of `chunks` (an endless
    iterable makes an answer without end; the write fails once the client hangs up)."""
    _drain(handler)
    handler.send_response(status)
    handler.send_header("Docker-Distribution-API-Version", "registry/2.0")
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    if handler.command == "HEAD":
        return
    try:
        for chunk in chunks:
            if chunk:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                handler.wfile.flush()
        handler.wfile.write(b"0\r\n\r\n")
    except (ConnectionError, OSError):
        handler.close_connection = True
