"""How long a request waits on a registry: to connect, and for the next bytes of an answer.

Both are limits on a lack of progress, never on a whole transfer: a download that keeps
receiving bytes runs as long as it needs. A request that times out is sent once more
(`oras.remote.retry.MAX_TIMEOUT_ATTEMPTS`), so with the defaults a registry that accepts a
connection and never answers costs about two minutes, not more.

A byte now and then is not progress either: the read timeout restarts with every byte, so a
body that drips (a byte a second) would never time out. Every answer's body is paced
(`pace`): over each stretch of the read timeout (at most RATE_WINDOW) spent waiting for it, at
least MIN_RATE bytes a second must come, like curl's `--speed-limit`/`--speed-time`. Only time
spent waiting on the network counts, so a slow reader (a disk, an upload fed by the download)
is not taken for a slow server. Small bodies also have a deadline for the whole body
(`oras.remote.response.SMALL_BODY_DEADLINE`).
"""

from __future__ import annotations

import io
import math
import time
from typing import Any, Optional, Union

#: Seconds to open a connection (TCP and TLS handshake). urllib3 also applies it to each write
#: of a request, so it bounds an upload that the registry stopped reading.
CONNECT_TIMEOUT = 30.0
#: Seconds without a byte of the answer (its headers, or the next part of its body).
READ_TIMEOUT = 60.0
#: Fewest bytes a second a body must arrive at, averaged over the time spent waiting for it...
MIN_RATE = 1024
#: ...in windows of this many seconds (or of the read timeout, when that is shorter).
RATE_WINDOW = 60.0
#: (connect, read), the form `requests` takes.
DEFAULT_TIMEOUTS = (CONNECT_TIMEOUT, READ_TIMEOUT)

#: What the CLI and library users can do about a timeout.
TIMEOUT_HINT = (
    "the registry is not answering or is overloaded; to wait longer, raise --timeout "
    "(library: Registry(timeout=SECONDS))"
)

Timeouts = tuple[float, float]


def request_timeouts(value: Union[None, float, tuple[Any, Any], list[Any]] = None) -> Timeouts:
    """(connect, read) seconds from `None` (the defaults), one number (both), or a pair.

    Raises ValueError for anything else, zero, negative or non-finite values: a request
    without a limit is what these bound.
    """
    if value is None:
        return DEFAULT_TIMEOUTS
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"timeout must be seconds or a (connect, read) pair, not {value!r}")
        pair = (value[0], value[1])
    else:
        pair = (value, value)
    out = []
    for item in pair:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise ValueError(f"timeout must be a number of seconds, not {item!r}")
        if not (item > 0 and math.isfinite(item)):
            raise ValueError(f"timeout must be a positive number of seconds, not {item!r}")
        out.append(float(item))
    return out[0], out[1]


def timeout_error(error: BaseException, method: str, url: str, timeouts: Timeouts) -> Any:
    """The typed error (RegistryTimeoutError) for a request that timed out on every attempt,
    saying which wait ran out."""
    from urllib.parse import urlsplit

    import requests

    from oras.errors import RegistryTimeoutError

    connect, read = timeouts
    parts = urlsplit(url)
    if isinstance(error, requests.exceptions.ConnectTimeout):
        what = f"no connection to {parts.netloc} within {connect:g} s"
    elif isinstance(error, requests.exceptions.ReadTimeout):
        what = f"{parts.netloc} sent no answer for {read:g} s"
    else:  # a write blocked: the registry stopped reading the request
        what = f"{parts.netloc} took no data for {connect:g} s"
    timed_out = RegistryTimeoutError(
        f"{method} {parts.path or '/'} timed out: {what}", hint=TIMEOUT_HINT
    )
    timed_out.request = getattr(error, "request", None)
    return timed_out


class _PacedReader(io.RawIOBase):
    """The socket side of one answer's body: each read takes what one receive gives and checks
    the rate (and the deadline, once `deadline` is set) against the time spent waiting."""

    def __init__(self, inner: Any, window: float, method: str, url: str) -> None:
        super().__init__()
        self._inner = inner
        self._window = window
        self._method = method
        self._url = url
        self._waited = 0.0
        self._received = 0
        self._total = 0
        self._started = time.monotonic()
        #: time.monotonic() by which the whole body must have come (None: no deadline).
        self.deadline: Optional[float] = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        began = time.monotonic()
        n = self._inner.readinto1(buffer)
        now = time.monotonic()
        self._waited += now - began
        self._received += n or 0
        self._total += n or 0
        if n and self.deadline is not None and now > self.deadline:
            self._too_slow(f"sent {self._total} bytes in {now - self._started:.0f} s, not all")
        window = min(RATE_WINDOW, self._window)
        if n and self._waited >= window:
            if self._received < MIN_RATE * self._waited:
                self._too_slow(
                    f"sent {self._received} bytes in {self._waited:.0f} s "
                    f"(under {MIN_RATE} bytes a second)"
                )
            self._waited, self._received = 0.0, 0
        return n or 0

    def _too_slow(self, what: str) -> None:
        from urllib.parse import urlsplit

        from oras.errors import TooSlowError

        parts = urlsplit(self._url)
        raise TooSlowError(
            f"{self._method} {parts.path or '/'} timed out: {parts.netloc} {what}",
            hint="the registry is sending too slowly; to wait longer, raise --timeout "
            "(library: Registry(timeout=SECONDS), oras.remote.timeouts.MIN_RATE)",
        )

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


def read_timeout_of(timeout: Any) -> float:
    """The read timeout of a `requests` timeout argument (READ_TIMEOUT when there is none)."""
    if isinstance(timeout, (tuple, list)) and len(timeout) == 2:
        timeout = timeout[1]
    read = getattr(timeout, "read_timeout", timeout)  # urllib3's Timeout
    return float(read) if isinstance(read, (int, float)) and read > 0 else READ_TIMEOUT


def paced_http_response(sock: Any, method: str, url: str, debuglevel: int = 0) -> Any:
    """An `http.client.HTTPResponse` on `sock` whose reads are paced from the status line on
    (a status line and headers that drip fail like a body that does), in windows of the
    socket's timeout: urllib3 sets the read timeout on it before the answer is read."""
    import http.client

    response = http.client.HTTPResponse(sock, debuglevel, method=method)
    window = sock.gettimeout()
    paced = _PacedReader(response.fp, window or READ_TIMEOUT, method or "GET", url)
    response.fp = io.BufferedReader(paced)
    return response


def pace(response: Any, read_timeout: float) -> None:
    """Pace the body of `response` (a requests Response whose body is not read yet): see the
    module's docstring. Answers without a body to read are left alone; one paced from its
    headers on (`paced_http_response`) is told the request it answers."""
    wire = getattr(getattr(response, "raw", None), "_fp", None)  # http.client's response
    inner = getattr(wire, "fp", None)  # the socket's buffered reader
    if inner is None or not hasattr(inner, "readinto1"):
        return
    request = getattr(response, "request", None)
    method = getattr(request, "method", None) or "GET"
    url = getattr(response, "url", None) or ""
    paced = getattr(inner, "raw", None)
    if isinstance(paced, _PacedReader):
        paced._method, paced._url, paced._window = method, url, read_timeout
    else:
        paced = _PacedReader(inner, read_timeout, method, url)
        wire.fp = io.BufferedReader(paced)
    response._oras_pace = paced


def set_deadline(response: Any, seconds: float) -> None:
    """Ask for the rest of `response`'s body within `seconds` (a paced response only)."""
    paced = getattr(response, "_oras_pace", None)
    if paced is not None:
        paced.deadline = time.monotonic() + seconds
