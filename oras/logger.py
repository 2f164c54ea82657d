"""The oras-py logger: a wrapper over the stdlib "oras" loggers and an opt-in colouring handler."""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import IO, Optional

from oras.log import Logger, logger

__all__ = ["ColorizingStreamHandler", "Logger", "logger", "setup_logger"]


class ColorizingStreamHandler(logging.StreamHandler):
    """Writes the bare message, coloured by level when the stream is a colour-capable terminal."""

    BLACK, RED, GREEN, YELLOW, BLUE, MAGENTA, CYAN, WHITE = range(8)
    RESET_SEQ = "\033[0m"
    COLOR_SEQ = "\033[%dm"
    BOLD_SEQ = "\033[1m"

    colors = {
        "WARNING": YELLOW,
        "INFO": GREEN,
        "DEBUG": BLUE,
        "CRITICAL": RED,
        "ERROR": RED,
    }

    def __init__(
        self,
        nocolor: bool = False,
        stream: Optional[IO[str]] = None,
        use_threads: bool = False,
    ):
        super().__init__(stream=stream if stream is not None else sys.stderr)
        self.use_threads = use_threads
        self._output_lock = threading.Lock()
        self.setFormatter(logging.Formatter("%(message)s"))
        self.nocolor = nocolor or not self.can_color_tty()

    @property
    def is_tty(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # closed stream
            return False

    def can_color_tty(self) -> bool:
        if os.environ.get("TERM") == "dumb" or "NO_COLOR" in os.environ:
            return False
        if not self.is_tty:
            return False
        import platform  # imported on use: only a terminal needs it, and it costs start-up time

        return platform.system() != "Windows"

    def decorate(self, record: logging.LogRecord, message: Optional[str] = None) -> str:
        text = record.getMessage() if message is None else message
        if self.nocolor or record.levelname not in self.colors:
            return text
        return f"{self.COLOR_SEQ % (30 + self.colors[record.levelname])}{text}{self.RESET_SEQ}"

    def emit(self, record: logging.LogRecord) -> None:
        with self._output_lock:
            try:
                self.stream.write(self.decorate(record, self.format(record)))
                self.stream.write(self.terminator)
                self.flush()
            except (BrokenPipeError, RecursionError):
                raise
            except Exception:
                self.handleError(record)


def setup_logger(
    quiet: bool = False,
    printshellcmds: bool = False,
    nocolor: bool = False,
    stdout: bool = False,
    debug: bool = False,
    use_threads: bool = False,
) -> None:
    """Show oras log messages on stderr (or stdout) at INFO or DEBUG; a second call replaces."""
    handler = ColorizingStreamHandler(
        nocolor=nocolor,
        stream=sys.stdout if stdout else sys.stderr,
        use_threads=use_threads,
    )
    logger.set_stream_handler(handler)
    logger.set_level(logging.DEBUG if debug else logging.INFO)
    logger.quiet = quiet
    logger.printshellcmds = printshellcmds
