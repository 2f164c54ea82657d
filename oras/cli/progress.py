"""Render transfer progress: live bars on a terminal, one line per event otherwise (stderr)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Optional, TextIO, Union

from oras.progress import DONE, EXISTS, PROGRESS, SKIPPED, STARTED, ProgressEvent

_PROMPTS = {
    "upload": {STARTED: "Uploading", DONE: "Uploaded ", EXISTS: "Exists   ", SKIPPED: "Skipped  "},
    "download": {
        STARTED: "Downloading",
        DONE: "Downloaded ",
        EXISTS: "Exists     ",
        SKIPPED: "Skipped    ",
    },
}
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_BAR = 20


def short_digest(digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    return encoded[:12] if algorithm == "sha256" else digest


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    return f"{n:.2f} TB"


class LineProgress:
    """`<prompt> <short digest> <name>` per event, as the Go CLI prints without a terminal."""

    def __init__(self, stream: TextIO = sys.stderr, verbose: bool = True):
        self.stream = stream
        self.verbose = verbose
        self._lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        prompt = _PROMPTS.get(event.action, {}).get(event.status)
        if prompt is None:
            return
        titled = bool(
            (event.descriptor.get("annotations") or {}).get("org.opencontainers.image.title")
        )
        if not titled and not self.verbose:
            return
        digest = event.descriptor.get("digest") or "-"
        with self._lock:
            print(f"{prompt} {short_digest(digest)} {event.name}", file=self.stream, flush=True)

    def close(self) -> None:
        pass


@dataclass
class _Row:
    event: ProgressEvent
    started: float = field(default_factory=time.monotonic)
    samples: list[tuple[float, int]] = field(default_factory=list)
    finished: float = 0.0


class TerminalProgress:
    """Live rows (spinner, bar, speed, done/total, percent, elapsed) redrawn 5 times a second."""

    def __init__(self, stream: TextIO = sys.stderr):
        self.stream = stream
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        self._drawn = 0
        self._tick = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def __call__(self, event: ProgressEvent) -> None:
        key = f"{event.action}:{id(event.descriptor)}"
        with self._lock:
            row = self._rows.get(key)
            if row is None:
                row = self._rows[key] = _Row(event)
            row.event = event
            now = time.monotonic()
            row.samples.append((now, event.done))
            row.samples = [s for s in row.samples if now - s[0] <= 3.0]
            if event.status in (DONE, EXISTS, SKIPPED):
                row.finished = now

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self._draw()

    def _line(self, row: _Row) -> str:
        event, width = row.event, 24
        prompt = (
            _PROMPTS.get(event.action, {})
            .get(event.status if event.status != PROGRESS else STARTED, "")
            .strip()
        )
        name = event.name if len(event.name) <= width else event.name[: width - 1] + "."
        total = event.total
        elapsed = (row.finished or time.monotonic()) - row.started
        if row.finished:
            mark = "\033[92m✓\033[0m"
            size = human(total) if total >= 0 else human(event.done)
            return f"{mark} {prompt:<11} {name:<{width}} {size:>10}  {elapsed:6.1f}s"
        mark = f"\033[93m{_SPINNER[self._tick % len(_SPINNER)]}\033[0m"
        fraction = event.done / total if total > 0 else 0.0
        filled = int(fraction * _BAR)
        bar = "\033[104m" + " " * filled + "\033[0m" + "." * (_BAR - filled)
        speed = 0.0
        if len(row.samples) >= 2 and row.samples[-1][0] > row.samples[0][0]:
            (t0, b0), (t1, b1) = row.samples[0], row.samples[-1]
            speed = (b1 - b0) / (t1 - t0)
        amount = f"{human(event.done)}/{human(total) if total >= 0 else '-'}"
        percent = f"{fraction * 100:6.2f}%" if total > 0 else "      -"
        return (
            f"{mark} [{bar}] ({human(speed):>9}/s) {prompt:<11} {name:<{width}} "
            f"{amount:>21} {percent} {elapsed:6.1f}s"
        )

    def _draw(self, final: bool = False) -> None:
        with self._lock:
            self._tick += 1
            lines = [self._line(row) for row in self._rows.values()]
            out = []
            if self._drawn:
                out.append(f"\033[{self._drawn}F")
            out.extend(f"\033[2K{line}\n" for line in lines)
            self._drawn = len(lines)
            self.stream.write("".join(out))
            self.stream.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self._draw(final=True)


def make_renderer(
    no_tty: bool, quiet: bool, stream: TextIO = sys.stderr
) -> Optional[Union[TerminalProgress, LineProgress]]:
    """The renderer for this run: None when quiet, live rows on a terminal, else lines."""
    if quiet:
        return None
    if not no_tty and stream.isatty():
        return TerminalProgress(stream)
    return LineProgress(stream)


def add_transfer_flags(parser: argparse.ArgumentParser, concurrency: int) -> None:
    """`--concurrency` and `--no-tty`, shared by the commands that move blobs."""
    parser.add_argument(
        "--concurrency",
        type=int,
        default=concurrency,
        metavar="N",
        help=f"blobs transferred at the same time (default {concurrency})",
    )
    parser.add_argument(
        "--no-tty", action="store_true", help="print one line per event instead of progress bars"
    )
