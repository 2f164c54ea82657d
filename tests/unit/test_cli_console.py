"""What the CLI writes to a terminal: control characters from names and messages are escaped."""

from __future__ import annotations

import io
import logging
import os
import re

import pytest

from oras.cli import console
from oras.cli.progress import LineProgress, TerminalProgress
from oras.progress import DONE, STARTED, ProgressEvent

#: What a terminal would obey: every C0/C1 control but the line feed ending a line.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
EVIL = "a\x1b]0;PWNED\x07b\nSuccessfully pulled /etc/shadow.txt\r\x9b2J\u202e"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def evil_blob() -> dict:
    return {
        "digest": "sha256:" + "ab" * 32,
        "size": 10,
        "annotations": {"org.opencontainers.image.title": EVIL},
    }


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain name.txt", "plain name.txt"),
        ("\x1b]0;PWNED\x07", "\\x1b]0;PWNED\\x07"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x00\x7f\x9b", "\\x00\\x7f\\x9b"),
        ("abc\u202etxt.exe", "abc\\u202etxt.exe"),
        ("bad\udcff", "bad\\udcff"),  # an undecodable byte of a file name
        ("ünïcödé ✓ 文件", "ünïcödé ✓ 文件"),  # printable text is left alone
    ],
)
def test_printable_escapes_control_characters_only(text: str, shown: str) -> None:
    assert console.printable(text) == shown
    assert console.printable(shown) == shown  # escaping twice changes nothing


def test_error_and_warning_lines_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    console.error_line(f"Error: {EVIL}")
    console.warn(EVIL)
    console.say(EVIL)
    out, err = capsys.readouterr()
    assert not CONTROL.search(out + err)
    assert err.count("\n") == 2 and out.count("\n") == 1
    assert "\\x1b]0;PWNED\\x07" in err


def test_log_lines_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger("oras")
    saved = root.handlers[:], root.propagate, root.level
    try:
        console.setup_logging()
        logging.getLogger("oras.provider").info("Successfully pulled %s.", EVIL)
    finally:
        # all of what setup_logging changed: a logger left not propagating hides later
        # tests' records from caplog (pytest 8, the last for Python 3.9)
        root.handlers[:], root.propagate, root.level = saved
    err = capsys.readouterr().err
    assert not CONTROL.search(err) and err.count("\n") == 1
    assert not any(line.startswith("Successfully pulled /etc") for line in err.splitlines())


def test_progress_lines_escape_names() -> None:
    stream = io.StringIO()
    progress = LineProgress(stream)
    progress(ProgressEvent("download", STARTED, evil_blob(), 0, 10))
    progress(ProgressEvent("download", DONE, evil_blob(), 10, 10))
    assert not CONTROL.search(stream.getvalue())
    assert stream.getvalue().count("\n") == 2


def test_live_rows_escape_names_and_log_lines() -> None:
    stream = FakeTerminal()
    logger = logging.getLogger("oras")
    saved = logger.handlers[:]
    # A handler with the default formatter, which escapes nothing itself.
    logger.handlers[:] = [logging.StreamHandler(stream)]
    try:
        size = os.terminal_size((200, 10))
        progress = TerminalProgress(stream, size=lambda: size, interval=3600)
        blob = evil_blob()
        progress(ProgressEvent("download", STARTED, blob, 0, 10))
        progress._draw()
        logger.warning("pulled %s", EVIL)
        progress(ProgressEvent("download", DONE, blob, 10, 10))
        progress.close()
    finally:
        logger.handlers[:] = saved
    # Only the renderer's own codes are left: colours, line erase, cursor up, clear below.
    ours = re.compile(r"\x1b\[(?:[0-9;]*m|2K|\d+F|J)")
    assert not CONTROL.search(ours.sub("", stream.getvalue()))
    assert "pulled a\\x1b]0;PWNED\\x07b\\nSuccessfully" in stream.getvalue()
