"""The retry layer: transient failures (connection errors, 408, 429, 5xx) are tried again with
bounded, jittered exponential backoff that honours `Retry-After`; nothing else is."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from typing import Callable, Optional

import requests

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_ATTEMPTS = 5
BASE_DELAY = 0.2
MAX_DELAY = 3.0
#: Longest `Retry-After` we wait for; a registry asking for more gets its error reported.
MAX_RETRY_AFTER = 60.0


def retry_after(response: requests.Response) -> Optional[float]:
    """Seconds asked for by `Retry-After` (delta-seconds or an HTTP date), or None."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff(attempt: int) -> float:
    """Delay before retry number `attempt` (0-based): exponential, capped, with full jitter."""
    ceiling = min(MAX_DELAY, BASE_DELAY * (2**attempt))
    return random.uniform(ceiling / 2, ceiling)


def is_transient(error: BaseException) -> bool:
    """Connection drops and timeouts are; TLS failures and unknown host names are not."""
    if isinstance(error, requests.exceptions.SSLError):
        return False
    if not isinstance(error, (requests.ConnectionError, requests.Timeout)):
        return False
    text = repr(error)
    return not any(
        marker in text
        for marker in ("NameResolutionError", "Name or service not known", "nodename nor servname")
    )


def send_with_retry(
    send: Callable[[], requests.Response],
    replayable: bool = True,
    attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> requests.Response:
    """Call `send` until it gives a non-transient answer or `attempts` run out.

    A request whose body cannot be sent twice (`replayable=False`) is never retried.
    """
    for attempt in range(attempts):
        last = attempt == attempts - 1 or not replayable
        try:
            response = send()
        except Exception as error:
            if last or not is_transient(error):
                raise
            delay = backoff(attempt)
            log.debug("retrying in %.2fs after %s", delay, type(error).__name__)
            sleep(delay)
            continue
        if last or response.status_code not in RETRY_STATUSES:
            return response
        delay = retry_after(response)
        if delay is None:
            delay = backoff(attempt)
        elif delay > MAX_RETRY_AFTER:
            return response
        log.debug("HTTP %s from %s: retrying in %.2fs", response.status_code, response.url, delay)
        response.close()
        sleep(delay)
    raise AssertionError("unreachable")
