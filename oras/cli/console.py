"""What the CLI shows: log set-up, warnings, prompts and one-line errors.

Every line the CLI prints goes through `printable`: names, titles and messages come from
registries and files, and a control character in them must not reach the terminal (an escape
sequence could retitle the window or redraw the screen, a newline could fake a line).
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import sys
import threading
import warnings
from typing import TextIO


class UsageError(Exception):
    """A mistake in the command line itself (exit code 2)."""


#: C0 and C1 controls and DEL; the Unicode line and paragraph separators and the
#: bidirectional controls, which reorder or break what follows them on screen; and lone
#: surrogates (undecodable bytes of a file name), which a UTF-8 stream cannot even write.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control character written as a Python-style escape (`\\x1b`, `\\n`):
    what a registry or a file name says is shown, never obeyed by the terminal."""
    return _UNPRINTABLE.sub(_escape, text)


def colour_allowed(stream: object) -> bool:
    """Whether `stream` may get colour codes: a terminal that is not `TERM=dumb`, and no
    `NO_COLOR` (https://no-color.org) set to a non-empty value."""
    return (
        bool(getattr(stream, "isatty", lambda: False)())
        and os.environ.get("TERM") != "dumb"
        and not os.environ.get("NO_COLOR")
    )


def _colour(text: str, code: str, stream: object) -> str:
    if colour_allowed(stream):
        return f"\033[{code}m{text}\033[0m"
    return text


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = printable(record.getMessage())
        if record.levelno >= logging.ERROR:
            return _colour(message, "31", sys.stderr)
        if record.levelno >= logging.WARNING:
            return _colour(message, "33", sys.stderr)
        return message


def setup_logging(quiet: bool = False, debug: bool = False) -> None:
    """Library logs go to stderr as bare messages; --quiet hides info, --debug adds detail.

    urllib3's warning about unverified HTTPS, repeated on every request, is silenced: on the
    command line certificates go unchecked only when a flag (`--insecure`, `--skip-tls-verify`)
    asked for it.
    """
    # By message, so that urllib3 need not be imported for this; put before urllib3's own
    # "always" filter, which it appends when imported.
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("oras")
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    if debug:
        # urllib3 logs request lines (never headers), which is what a trace should show.
        logging.getLogger("urllib3").addHandler(handler)
        logging.getLogger("urllib3").setLevel(logging.DEBUG)


_say_lock = threading.Lock()


def say(message: str) -> None:
    """A result line on standard output, whole even when workers print at once."""
    write_stdout(printable(message) + "\n")


def write_stdout(text: str) -> None:
    """Text already made printable, written to standard output in one piece."""
    with _say_lock:
        sys.stdout.write(text)
        sys.stdout.flush()


def warn(message: str) -> None:
    _line(sys.stderr, _colour(printable(message), "33", sys.stderr))


def error_line(message: str) -> None:
    _line(sys.stderr, _colour(printable(message), "31", sys.stderr))


def _line(stream: TextIO, text: str) -> None:
    """`text` and its newline in one write, so lines of two threads never run together."""
    stream.write(text + "\n")
    stream.flush()


def prompt(label: str, secret: bool = False) -> str:
    """Ask on the terminal (no echo for secrets); from piped stdin read one line.

    Raises EOFError when stdin has ended: from a pipe or file nothing is asked then (the
    label is written only once a line answered it), so the caller can say what to pass instead.
    """
    if sys.stdin.isatty():
        if secret:
            return getpass.getpass(label)
        return input(label)
    line = sys.stdin.readline()
    if not line:
        raise EOFError(label)
    sys.stderr.write(label)
    sys.stderr.flush()
    return line.rstrip("\r\n").strip()
