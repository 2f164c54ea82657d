"""What every server the tests run on loopback shares: its address and `with` support."""

from __future__ import annotations

from typing import TypeVar

S = TypeVar("S", bound="LoopbackService")


class LoopbackService:
    """A plain-HTTP server on 127.0.0.1; subclasses set `port` in `start()`."""

    port: int = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self: S) -> S:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
