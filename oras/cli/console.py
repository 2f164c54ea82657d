"""What the CLI shows: log set-up, warnings, prompts and one-line errors."""

from __future__ import annotations

import getpass
import logging
import os
import sys
import warnings


class UsageError(Exception):
    """A mistake in the command line itself (exit code 2)."""


def _colour(text: str, code: str, stream: object) -> str:
    if getattr(stream, "isatty", lambda: False)() and os.environ.get("TERM") != "dumb":
        return f"\033[{code}m{text}\033[0m"
    return text


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
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


def warn(message: str) -> None:
    print(_colour(message, "33", sys.stderr), file=sys.stderr)


def error_line(message: str) -> None:
    print(_colour(message, "31", sys.stderr), file=sys.stderr)


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
