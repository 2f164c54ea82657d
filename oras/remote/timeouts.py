"""How long a request waits on a registry: to connect, and for the next bytes of an answer.

Both are limits on a lack of progress, never on a whole transfer: a download that keeps
receiving bytes runs as long as it needs. A request that times out is sent once more
(`oras.remote.retry.MAX_TIMEOUT_ATTEMPTS`), so with the defaults a registry that accepts a
connection and never answers costs about two minutes, not more.
"""

from __future__ import annotations

import math
from typing import Any, Union

#: Seconds to open a connection (TCP and TLS handshake). urllib3 also applies it to each write
#: of a request, so it bounds an upload that the registry stopped reading.
CONNECT_TIMEOUT = 30.0
#: Seconds without a byte of the answer (its headers, or the next part of its body).
READ_TIMEOUT = 60.0
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
