"""Render transfer progress: live bars on a terminal, one line per event otherwise (stderr)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, TextIO, Union

from oras.cli.console import colour_allowed, printable
from oras.progress import DONE, EXISTS, PROGRESS, RESTORED, SKIPPED, STARTED, ProgressEvent

_PROMPTS = {
    "upload": {STARTED: "Uploading", DONE: "Uploaded ", EXISTS: "Exists   ", SKIPPED: "Skipped  "},
    "download": {
        STARTED: "Downloading",
        DONE: "Downloaded ",
        EXISTS: "Exists     ",
        SKIPPED: "Skipped    ",
        RESTORED: "Restored   ",
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
            line = f"{prompt} {short_digest(digest)} {event.name}"
            # One write per line: an interrupt's error line cannot land inside it.
            self.stream.write(printable(line) + "\n")
            self.stream.flush()

    def close(self) -> None:
        pass


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def _fit(text: str, width: int) -> str:
    """`text` cut to `width` characters (no escape sequences in it), marked when cut."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


_FINISHED = (DONE, EXISTS, SKIPPED, RESTORED)
_NAME_WIDTH = 20
#: The narrowest progress bar worth drawing; a narrower terminal shows the row without one.
_MIN_BAR = 8
_BAR_COLOUR, _DONE_COLOUR, _SPIN_COLOUR, _RESET = "\033[104m", "\033[92m", "\033[93m", "\033[0m"


@dataclass
class _Row:
    event: ProgressEvent
    started: float = field(default_factory=time.monotonic)
    samples: list[tuple[float, int]] = field(default_factory=list)
    finished: float = 0.0

    def speed(self) -> float:
        """Bytes a second over the last few seconds."""
        if len(self.samples) >= 2 and self.samples[-1][0] > self.samples[0][0]:
            (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
            return (b1 - b0) / (t1 - t0)
        return 0.0


class TerminalProgress:
    """Live progress on a terminal (stderr), redrawn 5 times a second.

    Each blob in flight has a row: spinner, bar, name, bytes done of total, percent, ETA and
    speed. A finished blob's row is printed once for good above the live rows, and a summary line
    (blobs done, bytes, speed, time) stays below them; at the end only the summary remains.
    Rows are cut to the terminal's width and only as many as fit are live, so that a redraw
    never wraps or scrolls (which would leave copies of the rows behind). A terminal that does
    not know its size (0x0) is taken as `$COLUMNS`x`$LINES`, else 80x24. Without colour
    (`colour=False`, by default when `NO_COLOR` is set) the bar is drawn with `=`.

    The summary's bytes are those that went over the wire, blobs in flight included: an upload
    that turns out to exist in the registry counts what was sent before that was known, and
    the size of the blobs that existed is given beside their count.
    """

    def __init__(
        self,
        stream: TextIO = sys.stderr,
        size: Optional[Callable[[], os.terminal_size]] = None,
        interval: float = 0.2,
        colour: Optional[bool] = None,
    ):
        self.stream = stream
        self._size = size or self._terminal_size
        self._interval = interval
        self._colour = colour_allowed(stream) if colour is None else colour
        self._active: dict[int, _Row] = {}
        self._above: list[str] = []  # lines printed for good above the live rows, next redraw
        self._counts = {DONE: 0, EXISTS: 0, SKIPPED: 0, RESTORED: 0}
        self._bytes = 0  # transferred by the blobs that finished
        self._existed = 0  # size of the blobs the registry already held
        self._action = ""
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._drawn = 0
        self._tick = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._restore_logs = _route_logs_above(self)
        self._thread.start()

    def print_above(self, line: str) -> None:
        """Print `line` for good above the live rows (at the next redraw), not through them."""
        with self._lock:
            self._above.append(line)

    def _terminal_size(self) -> os.terminal_size:
        try:
            size = os.get_terminal_size(self.stream.fileno())
        except (OSError, ValueError, AttributeError):
            size = os.terminal_size((0, 0))
        # A pseudo-terminal nobody set a size on says 0x0: that is unknown, not tiny.
        columns = size.columns or _env_size("COLUMNS") or 80
        lines = size.lines or _env_size("LINES") or 24
        return os.terminal_size((columns, lines))

    def _paint(self, text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if self._colour else text

    def __call__(self, event: ProgressEvent) -> None:
        key = id(event.descriptor)
        now = time.monotonic()
        with self._lock:
            self._action = self._action or event.action
            row = self._active.get(key)
            if row is None:
                row = self._active[key] = _Row(event)
            row.event = event
            row.samples.append((now, event.done))
            row.samples = [s for s in row.samples if now - s[0] <= 3.0]
            if event.status in _FINISHED:
                row.finished = now
                del self._active[key]
                self._counts[event.status] += 1
                if event.status == DONE:
                    self._bytes += event.total if event.total >= 0 else event.done
                else:  # what was sent before the registry turned out to hold it, if anything
                    self._bytes += event.done
                if event.status == EXISTS:
                    self._existed += max(event.total, 0)
                mark = self._paint("✓", _DONE_COLOUR) + " "
                self._above.append(mark + _fit(self._finished_line(row), self._width() - 2))

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._draw()

    @staticmethod
    def _prompt(event: ProgressEvent) -> str:
        status = event.status if event.status != PROGRESS else STARTED
        return _PROMPTS.get(event.action, {}).get(status, "").strip()

    def _finished_line(self, row: _Row) -> str:
        event = row.event
        size = human(event.total) if event.total >= 0 else human(event.done)
        name = _fit(printable(event.name), _NAME_WIDTH)
        took = _clock(row.finished - row.started)
        return f"{self._prompt(event):<11} {name:<{_NAME_WIDTH}} {size:>10}  {took}"

    def _active_line(self, row: _Row, width: int) -> str:
        event, total = row.event, row.event.total
        spinner = self._paint(_SPINNER[self._tick % len(_SPINNER)], _SPIN_COLOUR) + " "
        fraction = min(1.0, event.done / total) if total > 0 else 0.0
        speed = row.speed()
        amount = f"{human(event.done)}/{human(total) if total >= 0 else '-'}"
        percent = f"{fraction * 100:5.1f}%" if total > 0 else "    -"
        eta = _clock((total - event.done) / speed) if speed > 0 and total > 0 else "-:--"
        name = _fit(printable(event.name), _NAME_WIDTH)
        text = (
            f"{self._prompt(event):<11} {name:<{_NAME_WIDTH}} {amount:>19} {percent}"
            f"  ETA {eta} {human(speed):>9}/s"
        )
        bar_width = min(_BAR, width - 2 - len(text) - 3)
        if bar_width >= _MIN_BAR:
            filled = int(fraction * bar_width)
            fill = self._paint(" " * filled, _BAR_COLOUR) if self._colour else "=" * filled
            bar = f"[{fill}{'.' * (bar_width - filled)}] "
            return spinner + bar + text
        return spinner + _fit(text, width - 2)

    def _summary(self, final: bool) -> str:
        elapsed = time.monotonic() - self._started
        verb = {"upload": "Uploaded", "download": "Downloaded"}.get(self._action, "Transferred")
        done = self._counts[DONE]
        parts = [f"{verb} {done} blob{'s' if done != 1 else ''}"]
        if self._counts[EXISTS]:
            parts.append(f"{self._counts[EXISTS]} existed ({human(self._existed)})")
        if self._counts[SKIPPED]:
            parts.append(f"{self._counts[SKIPPED]} skipped")
        if self._counts[RESTORED]:
            parts.append(f"{self._counts[RESTORED]} restored from the cache")
        if self._active and not final:
            parts.append(f"{len(self._active)} in progress")
        moved = self._bytes + sum(max(row.event.done, 0) for row in self._active.values())
        rate = moved / elapsed if elapsed > 0 else 0.0
        return f"{', '.join(parts)}: {human(moved)} in {_clock(elapsed)} ({human(rate)}/s)"

    def _draw(self, final: bool = False) -> None:
        with self._lock:
            self._tick += 1
            size = self._size()
            lines, width = size.lines, self._width(size)
            out = [f"\033[{self._drawn}F"] if self._drawn else []
            out += [f"\033[2K{line}\n" for line in self._above]
            self._above.clear()
            live: list[str] = []
            if not final:
                rows = list(self._active.values())
                room = max(1, lines - 2)  # the summary and the cursor's own line
                shown = rows if len(rows) <= room else rows[: room - 1]
                live = [self._active_line(row, width) for row in shown]
                if len(shown) < len(rows):
                    live.append(f"… and {len(rows) - len(shown)} more")
            if self._action:  # nothing to sum up before the first event
                live.append(_fit(self._summary(final), width))
            out += [f"\033[2K{line}\n" for line in live]
            out.append("\033[J")  # clear what is left of a taller previous redraw
            self._drawn = 0 if final else len(live)
            self.stream.write("".join(out))
            self.stream.flush()

    def _width(self, size: Optional[os.terminal_size] = None) -> int:
        """Characters a live row may take: one less than the terminal's width, so it never wraps."""
        return max(20, (size or self._size()).columns - 1)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self._restore_logs()
        self._draw(final=True)


def _env_size(name: str) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else 0


class _AboveLiveRows(logging.Handler):
    """Hands log records to a `TerminalProgress`, which prints them above its live rows."""

    def __init__(self, progress: TerminalProgress, like: logging.Handler):
        super().__init__(like.level)
        self.progress = progress
        self.setFormatter(like.formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            # Escaped here as well: the handler it stands in for may have any formatter.
            plain = logging.makeLogRecord(
                {**record.__dict__, "msg": printable(record.getMessage()), "args": None}
            )
            self.progress.print_above(self.format(plain))
        except Exception:
            self.handleError(record)


def _route_logs_above(progress: TerminalProgress) -> Callable[[], None]:
    """While `progress` is live, log lines bound for its stream go above its rows instead of
    through them; returns what puts the handlers back."""
    swapped: list[tuple[logging.Handler, logging.Handler, logging.Logger]] = []
    for name in ("oras", "urllib3"):
        logger = logging.getLogger(name)
        for i, handler in enumerate(logger.handlers):
            if isinstance(handler, logging.StreamHandler) and handler.stream is progress.stream:
                replacement = _AboveLiveRows(progress, handler)
                logger.handlers[i] = replacement
                swapped.append((handler, replacement, logger))

    def restore() -> None:
        for original, replacement, logger in swapped:
            logger.handlers = [original if h is replacement else h for h in logger.handlers]

    return restore


def make_renderer(
    no_tty: bool, quiet: bool, stream: TextIO = sys.stderr
) -> Optional[Union[TerminalProgress, LineProgress]]:
    """The renderer for this run: None when quiet, live rows on a terminal, else lines (also on
    a `TERM=dumb` terminal, which cannot move the cursor back over the rows)."""
    if quiet:
        return None
    if not no_tty and stream.isatty() and os.environ.get("TERM") != "dumb":
        return TerminalProgress(stream)
    return LineProgress(stream)


def concurrency_value(text: str) -> Optional[int]:
    """A `--concurrency` value: a number, or `auto` (None: adapt, as when it is not given)."""
    return None if text == "auto" else int(text)


def add_copy_concurrency(parser: argparse.ArgumentParser) -> None:
    """`--concurrency` of the commands that copy a graph node by node (cp, backup)."""
    parser.add_argument(
        "--concurrency",
        type=concurrency_value,
        default=None,
        help="nodes copied at once (default: auto, from 3 up to 16 while more move more bytes "
        "per second)",
    )


def add_transfer_flags(parser: argparse.ArgumentParser, concurrency: int) -> None:
    """`--concurrency` and `--no-tty`, shared by the commands that move blobs."""
    from oras.concurrency import MAX_CONCURRENCY

    parser.add_argument(
        "--concurrency",
        type=concurrency_value,
        default=None,
        metavar="N",
        help=f"blobs transferred at the same time (default: auto, from {concurrency} up to "
        f"{MAX_CONCURRENCY} while more move more bytes per second)",
    )
    parser.add_argument(
        "--no-tty", action="store_true", help="print one line per event instead of progress bars"
    )
