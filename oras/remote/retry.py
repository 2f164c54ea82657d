"""The retry layer: transient failures (connection errors, 408, 429, 5xx) are tried again with
bounded, jittered exponential backoff that honours `Retry-After`; nothing else is."""

from __future__ import annotations

import email.utils
import logging
import random
import socket
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional

import requests

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
#: First wait; it doubles per attempt, jittered, never above MAX_DELAY.
BASE_DELAY = 0.2
MAX_DELAY = 3.0
#: Longest `Retry-After` we wait for; a registry asking for more gets its answer returned.
MAX_RETRY_AFTER = 60.0
#: Most attempts of a request whose attempts time out: each costs a whole timeout, so with the
#: default timeouts (`oras.remote.timeouts`) a stalled request fails within about two minutes.
MAX_TIMEOUT_ATTEMPTS = 2


def is_retryable_status(status: int) -> bool:
    return status in (408, 429) or 500 <= status <= 599


def retry_after(response: Any) -> Optional[float]:
    """Seconds asked for by `Retry-After` (delta-seconds or an HTTP date), or None."""
    value = str((getattr(response, "headers", None) or {}).get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def backoff(attempt: int, base: float = BASE_DELAY, ceiling: float = MAX_DELAY) -> float:
    """Delay before retry number `attempt` (0-based): base doubling, jittered, capped."""
    return min(ceiling, base * (2**attempt) * random.uniform(1.0, 1.5))


def _in_chain(error: BaseException, found: Callable[[BaseException], bool]) -> bool:
    """True when `found` holds for `error` or any exception it wraps (requests wraps urllib3
    wraps socket, through `reason`, causes, contexts and arguments)."""
    seen: set[int] = set()
    stack: list[Any] = [error]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if found(current):
            return True
        stack.extend((getattr(current, "reason", None), current.__cause__, current.__context__))
        stack.extend(current.args)
    return False


def _permanent_connection_failure(error: BaseException) -> bool:
    """True when a DNS lookup failed or nothing listens on the port: waiting will not change
    either."""
    return _in_chain(
        error,
        lambda e: (
            isinstance(e, (socket.gaierror, ConnectionRefusedError))
            or type(e).__name__ == "NameResolutionError"
        ),
    )


def is_timeout(error: BaseException) -> bool:
    """True when a timeout ended the request: connecting, sending (urllib3 reports that as a
    dropped connection caused by a socket timeout) or waiting for the answer."""
    return _in_chain(
        error,
        lambda e: (
            # socket.timeout: TimeoutError itself from Python 3.10, only an OSError before
            isinstance(e, (requests.exceptions.Timeout, TimeoutError, socket.timeout))
            or type(e).__name__ in ("ReadTimeoutError", "ConnectTimeoutError")
        ),
    )


def is_transient(error: BaseException) -> bool:
    """Connection drops and timeouts are; TLS failures, unknown hosts and refusals are not."""
    if isinstance(error, requests.exceptions.SSLError):
        return False
    if isinstance(error, requests.exceptions.Timeout):
        return True
    if isinstance(error, requests.exceptions.ConnectionError):
        return not _permanent_connection_failure(error)
    return False


def _release(response: Any) -> None:
    # A discarded streamed response would otherwise keep its pooled connection.
    close = getattr(response, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            pass


def send_with_retry(
    send: Callable[[], Any],
    replayable: bool = True,
    attempts: int = MAX_ATTEMPTS,
    base: float = BASE_DELAY,
    ceiling: float = MAX_DELAY,
    sleep: Callable[[float], None] = time.sleep,
    timeout_attempts: int = MAX_TIMEOUT_ATTEMPTS,
) -> Any:
    """Call `send` until it gives a non-transient answer or `attempts` run out; the last
    answer is returned (or its exception raised). A request whose body cannot be sent twice
    (`replayable=False`) is never retried; one that timed out `timeout_attempts` times is not
    tried again either."""
    attempts = max(1, attempts)
    timeouts = 0
    for attempt in range(attempts):
        last = attempt == attempts - 1 or not replayable
        try:
            response = send()
        except Exception as error:
            if is_timeout(error):
                timeouts += 1
                last = last or timeouts >= timeout_attempts
            if last or not is_transient(error):
                raise
            delay = backoff(attempt, base, ceiling)
            log.debug("retrying in %.2fs after %s", delay, type(error).__name__)
            sleep(delay)
            continue
        status = getattr(response, "status_code", None)
        if last or not isinstance(status, int) or not is_retryable_status(status):
            return response
        delay = backoff(attempt, base, ceiling)
        asked = retry_after(response)
        if asked is not None:
            if asked > MAX_RETRY_AFTER:
                return response
            delay = max(delay, asked)
        log.debug("HTTP %s: retrying in %.2fs", status, delay)
        _release(response)
        sleep(delay)
    raise AssertionError("unreachable")
