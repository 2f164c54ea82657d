"""Hostile-registry actions for redirects, slow answers and back-off (used with
`tests.harness.hostile.HostileRegistry.on`)."""

from __future__ import annotations

import re
import time
from typing import Callable, Iterator, Optional

from oras.testing.server import RegistryHandler
from tests.harness.hostile import Action, send, send_chunked, serve

__all__ = ["authenticated", "drip", "redirect", "redirect_to_host"]


def redirect(location: Callable[[RegistryHandler], str], status: int = 307) -> Action:
    """Answer with `status` and `Location: location(handler)`."""

    def action(handler: RegistryHandler, match: re.Match[str]) -> None:
        send(handler, status, b"", {"Location": location(handler)})

    return action


def redirect_to_host(base_url: str, status: int = 307) -> Action:
    """Redirect the request to the same path and query on `base_url` (another origin)."""
    return redirect(lambda handler: base_url.rstrip("/") + handler.path, status)


def authenticated(action: Action) -> Action:
    """`action` for requests that carry credentials; the others are answered honestly (a 401
    challenge on a registry with auth), so that the client has credentials to leak."""

    def guarded(handler: RegistryHandler, match: re.Match[str]) -> None:
        if handler.headers.get("Authorization"):
            action(handler, match)
        else:
            serve(handler)

    return guarded


def drip(
    body: bytes,
    status: int = 200,
    headers: Optional[dict[str, str]] = None,
    every: float = 1.0,
    chunked: bool = False,
) -> Action:
    """Answer `body` one byte every `every` seconds (with an honest Content-Length, or chunked):
    each byte resets the client's read timeout, so only a bound on the whole body stops it."""

    def slowly() -> Iterator[bytes]:
        for i in range(len(body)):
            yield body[i : i + 1]
            time.sleep(every)

    def action(handler: RegistryHandler, match: re.Match[str]) -> None:
        if chunked:
            send_chunked(handler, status, slowly(), headers)
        else:
            send(handler, status, slowly(), headers, length=len(body))

    return action
