"""oras-py's method decorators: turn a name into a Container, and retry transient failures."""

from __future__ import annotations

import functools
import logging
import time
from typing import Any, Callable, Optional, TypeVar, Union

from oras.errors import RegistryError
from oras.logger import logger as logger  # oras-py's module-level name
from oras.remote.retry import send_with_retry

__all__ = ["Decorator", "classretry", "ensure_container", "retry"]

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


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


def retry(attempts: Union[int, Callable[..., Any]] = 5, timeout: float = 2) -> Any:
    """Retry a call on connection errors, timeouts and 408/429/5xx responses, with bounded backoff.

    At most `attempts` calls. Everything else (authentication, TLS, DNS, import and value errors,
    any 4xx) propagates or returns at once. A 500 still returned by the last attempt raises a
    `RegistryError`, which is a ValueError as in oras-py. `timeout` scales the waits (0.1 to
    1.5 times it); the policy itself is `oras.remote.retry`.
    """
    if callable(attempts):  # used bare, as @retry
        return retry()(attempts)
    tries = max(1, int(attempts))
    scale = max(0.0, float(timeout))

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = send_with_retry(
                lambda: func(*args, **kwargs),
                attempts=tries,
                base=0.1 * scale,
                ceiling=1.5 * scale,
                sleep=lambda seconds: time.sleep(seconds),
            )
            if getattr(result, "status_code", None) == 500:
                raise _server_error(result)
            return result

        return wrapper  # type: ignore[return-value]

    return decorator


def classretry(
    func: Optional[Callable[..., Any]] = None, attempts: int = 5, timeout: float = 2
) -> Any:
    """0.1.x name: `@classretry` on a method is `@retry()` with the same policy."""
    if func is None:
        return retry(attempts, timeout)
    return retry(attempts, timeout)(func)
