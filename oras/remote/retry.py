"""The retry layer: transient failures (connection errors, 408, 429, 5xx) are tried again with
bounded, jittered exponential backoff that honours `Retry-After`; nothing else is. A 429 (or
any answer with `Retry-After`) pauses every request of the session to that host, not only the
one that got it (`HostPause`)."""

from __future__ import annotations

import email.utils
import logging
import random
import socket
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional

import requests

from oras.errors import in_chain

log = logging.getLogger(__name__)

#: Most attempts of one request (the first included) on connection errors, 408, 429 and 5xx.
MAX_ATTEMPTS = 5
#: First wait; it doubles per attempt, jittered, never above MAX_DELAY.
BASE_DELAY = 0.2
#: Longest wait between two attempts (a `Retry-After` aside).
MAX_DELAY = 3.0
#: Longest `Retry-After` we wait for; a registry asking for more gets its answer returned.
MAX_RETRY_AFTER = 60.0
#: Most seconds one request spends waiting between its attempts, all waits together: a storm of
#: 5xx or 429 answers each asking for MAX_RETRY_AFTER fails within this, not after
#: (MAX_ATTEMPTS - 1) * MAX_RETRY_AFTER.
MAX_RETRY_WAIT = 90.0
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
    """True when `found` holds for `error` or any exception it wraps."""
    return in_chain(error, found) is not None


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


class HostPause:
    """When each host may be sent requests again, shared by the requests of one session: a 429
    (or an answer with `Retry-After`) to one request holds back the others to that host too,
    instead of them hammering it, while other hosts go on. Waits never exceed MAX_RETRY_AFTER:
    holds longer than that are not taken."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def hold(self, host: str, seconds: float) -> None:
        """No new request to `host` for `seconds` from now (a longer hold already set stays)."""
        until = self._clock() + min(max(0.0, seconds), MAX_RETRY_AFTER)
        with self._lock:
            if until > self._until.get(host, 0.0):
                self._until[host] = until

    def remaining(self, host: str) -> float:
        """Seconds until requests to `host` may go (0: now)."""
        with self._lock:
            until = self._until.get(host)
            if until is None:
                return 0.0
            left = until - self._clock()
            if left <= 0:
                del self._until[host]
                return 0.0
            return left

    def wait(self, host: str, sleep: Callable[[float], None] = time.sleep) -> float:
        """Sleep until requests to `host` may go; the seconds slept."""
        slept = 0.0
        while slept < MAX_RETRY_AFTER:
            left = self.remaining(host)
            if left <= 0:
                break
            step = min(left, MAX_RETRY_AFTER - slept)
            sleep(step)
            slept += step
        return slept


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
    attempts: Optional[int] = None,
    base: Optional[float] = None,
    ceiling: Optional[float] = None,
    sleep: Callable[[float], None] = time.sleep,
    timeout_attempts: Optional[int] = None,
    pause: Optional[HostPause] = None,
    host: str = "",
) -> Any:
    """Call `send` until it gives a non-transient answer or `attempts` run out; the last
    answer is returned (or its exception raised). A request whose body cannot be sent twice
    (`replayable=False`) is never retried; one that timed out `timeout_attempts` times is not
    tried again either, nor one whose waits would pass MAX_RETRY_WAIT. With `pause`, each
    attempt first waits for `host` to be free, and a 429 or a `Retry-After` holds `host`
    for every request sharing `pause`."""
    # the module's limits are read now, so that a program (or a test) can change them
    attempts = max(1, MAX_ATTEMPTS if attempts is None else attempts)
    base = BASE_DELAY if base is None else base
    ceiling = MAX_DELAY if ceiling is None else ceiling
    timeout_attempts = MAX_TIMEOUT_ATTEMPTS if timeout_attempts is None else timeout_attempts
    timeouts = 0
    waited = 0.0
    for attempt in range(attempts):
        last = attempt == attempts - 1 or not replayable
        if pause is not None:
            waited += pause.wait(host, sleep)
        try:
            response = send()
        except Exception as error:
            if is_timeout(error):
                timeouts += 1
                last = last or timeouts >= timeout_attempts
            if last or not is_transient(error):
                raise
            delay = backoff(attempt, base, ceiling)
            if waited + delay > MAX_RETRY_WAIT:
                raise
            log.debug("retrying in %.2fs after %s", delay, type(error).__name__)
            sleep(delay)
            waited += delay
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
        if waited + delay > MAX_RETRY_WAIT:
            return response
        log.debug("HTTP %s: retrying in %.2fs", status, delay)
        _release(response)
        if pause is not None and (status == 429 or asked is not None):
            pause.hold(host, delay)  # the next attempt waits in pause.wait, and so do the others
            continue
        sleep(delay)
        waited += delay
    raise AssertionError("unreachable")
