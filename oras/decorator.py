"""oras-py's method decorators: turn a name into a Container, and retry transient failures."""

from __future__ import annotations

import email.utils
import functools
import logging
import random
import socket
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional, TypeVar, Union

import requests

from oras.errors import RegistryError

__all__ = ["Decorator", "classretry", "ensure_container", "retry"]

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

# Longest wait a server's Retry-After can impose between two attempts; beyond it we retry early
# and, if the server still refuses, hand its response back to the caller.
RETRY_AFTER_CAP = 10.0


class Decorator:
    """0.1.x base of method decorators: binds like a function, calls the wrapped one."""

    def __init__(self, func: Callable[..., Any]):
        functools.update_wrapper(self, func)
        self.func = func

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self.__call__, obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)


def ensure_container(func: F) -> F:
    """Pass `container=` or the first positional argument through `self.get_container`."""

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if "container" in kwargs:
            kwargs["container"] = self.get_container(kwargs["container"])
        elif args:
            args = (self.get_container(args[0]), *args[1:])
        return func(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _is_retryable_status(status: int) -> bool:
    return status in (408, 429) or 500 <= status <= 599


def _is_name_resolution_failure(exc: BaseException) -> bool:
    """True when a DNS lookup failed anywhere in the chain (requests wraps urllib3 wraps socket)."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror) or type(current).__name__ == "NameResolutionError":
            return True
        stack.extend((getattr(current, "reason", None), current.__cause__, current.__context__))
        stack.extend(current.args)
    return False


def _is_transient_error(exc: BaseException) -> bool:
    # SSLError is a ConnectionError to requests, but a bad certificate will not heal by waiting;
    # neither will an unknown host name.
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.Timeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        return not _is_name_resolution_failure(exc)
    return False


def _retry_after(response: Any) -> Optional[float]:
    """Seconds a response's Retry-After header asks for (delta-seconds or HTTP-date), if any."""
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After")
    if not value:
        return None
    value = str(value).strip()
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


def _backoff(attempt: int, timeout: float) -> float:
    """Wait before retry `attempt` (1-based): 0.1*timeout doubling, jittered, capped at 1.5*timeout.

    With the default timeout of 2 that is about 0.2 s, 0.4 s, 0.8 s, 1.6 s, never above 3 s.
    """
    timeout = max(0.0, float(timeout))
    delay = 0.1 * timeout * 2 ** (attempt - 1)
    return min(1.5 * timeout, delay * random.uniform(1.0, 1.5))


def _server_error(response: Any) -> RegistryError:
    request = getattr(response, "request", None)
    url = getattr(request, "url", None) or getattr(response, "url", None)
    errors: list[dict[str, Any]] = []
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("errors"), list):
            errors = [e for e in body["errors"] if isinstance(e, dict)]
    except Exception:  # the body of a 500 is often not JSON at all
        pass
    return RegistryError(
        f"Issue with {url}: {getattr(response, 'reason', None)}",
        status=response.status_code,
        errors=errors,
        url=url,
        response=response,
    )


def _release(response: Any) -> None:
    # A discarded streamed response would otherwise hold its pooled connection.
    close = getattr(response, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            pass


def retry(attempts: Union[int, Callable[..., Any]] = 5, timeout: float = 2) -> Any:
    """Retry a call on connection errors, timeouts and 408/429/5xx responses, with bounded backoff.

    At most `attempts` calls. Everything else (authentication, TLS, DNS, import and value errors,
    any 4xx) propagates or returns at once. A 500 still returned by the last attempt raises a
    `RegistryError`, which is a ValueError as in oras-py. `timeout` scales the waits (see
    `_backoff`); a returned response's Retry-After is honoured up to RETRY_AFTER_CAP seconds.
    """
    if callable(attempts):  # used bare, as @retry
        return retry()(attempts)
    tries = max(1, int(attempts))

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            attempt = 1
            while True:
                last = attempt >= tries
                try:
                    result = func(*args, **kwargs)
                except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                    if last or not _is_transient_error(exc):
                        raise
                    wait = _backoff(attempt, timeout)
                    log.info("Retrying in %.1f seconds - error: %s", wait, exc)
                else:
                    status = getattr(result, "status_code", None)
                    if not isinstance(status, int) or not _is_retryable_status(status):
                        return result
                    if last:
                        if status == 500:
                            raise _server_error(result)
                        return result
                    wait = _backoff(attempt, timeout)
                    asked = _retry_after(result)
                    if asked is not None:
                        wait = max(wait, min(asked, RETRY_AFTER_CAP))
                    log.info("Retrying in %.1f seconds - status %s", wait, status)
                    _release(result)
                time.sleep(wait)
                attempt += 1

        return wrapper  # type: ignore[return-value]

    return decorator


def classretry(
    func: Optional[Callable[..., Any]] = None, attempts: int = 5, timeout: float = 2
) -> Any:
    """0.1.x name: `@classretry` on a method is `@retry()` with the same policy."""
    if func is None:
        return retry(attempts, timeout)
    return retry(attempts, timeout)(func)
