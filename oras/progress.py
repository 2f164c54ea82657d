"""Transfer progress events: what the library reports (it never prints) and the CLI renders."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

#: Statuses, in the order a blob goes through them.
STARTED = "started"
PROGRESS = "progress"
DONE = "done"
EXISTS = "exists"
SKIPPED = "skipped"
#: Read from a local cache (`ORAS_CACHE`) instead of the registry: done, nothing downloaded.
RESTORED = "restored"


@dataclass(frozen=True)
class ProgressEvent:
    """One step of one blob: `action` is "upload" or "download"; `done` of `total` bytes."""

    action: str
    status: str
    descriptor: dict[str, Any]
    done: int = 0
    total: int = -1

    @property
    def name(self) -> str:
        annotations = self.descriptor.get("annotations") or {}
        return str(
            annotations.get("org.opencontainers.image.title")
            or self.descriptor.get("mediaType", "")
        )


ProgressCallback = Callable[[ProgressEvent], None]


class ProgressReporter:
    """Turns byte counts of one blob into events, throttled to whole steps of `step` bytes."""

    def __init__(
        self,
        callback: Optional[ProgressCallback],
        action: str,
        descriptor: dict[str, Any],
        step: int = 1024 * 1024,
    ):
        self.callback = callback
        self.action = action
        self.descriptor = descriptor
        self.total = int(descriptor.get("size", -1) or -1)
        self.done = 0
        self.step = step
        self._last = 0
        self._lock = threading.Lock()

    def emit(self, status: str) -> None:
        if self.callback is not None:
            self.callback(
                ProgressEvent(self.action, status, self.descriptor, self.done, self.total)
            )

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self.done += nbytes
            due = self.done - self._last >= self.step
            if due:
                self._last = self.done
        if due:
            self.emit(PROGRESS)

    def rewind(self, done: int) -> None:
        """After a resume: the bytes that really arrived so far."""
        with self._lock:
            self.done = self._last = done


class ByteCounter:
    """The ProgressReporter shape the transfer functions take (`advance`, `rewind`, `done`),
    adding the bytes up into `on_bytes`, from several threads one call at a time (the parts of
    a ranged download), for a caller that counts bytes rather than events."""

    def __init__(self, on_bytes: Optional[Callable[[int], None]]) -> None:
        self._on_bytes = on_bytes
        self._lock = threading.Lock()
        self.done = 0

    def advance(self, n: int) -> None:
        with self._lock:
            self.done += n
            if self._on_bytes is not None:
                self._on_bytes(n)

    def rewind(self, done: int) -> None:
        with self._lock:
            self.done = done
