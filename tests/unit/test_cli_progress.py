"""The CLI's progress renderers: what a terminal and a log file are shown."""

from __future__ import annotations

import io
import logging
import os
import re

import pytest

from oras.cli.progress import LineProgress, TerminalProgress, make_renderer
from oras.progress import DONE, EXISTS, PROGRESS, RESTORED, STARTED, ProgressEvent

ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
UP = re.compile(r"\x1b\[(\d+)F")
MiB = 1024 * 1024


def blob(i: int, size: int = MiB) -> dict:
    return {
        "digest": f"sha256:{i:064x}",
        "size": size,
        "annotations": {"org.opencontainers.image.title": f"file-{i}.bin"},
    }


def visible_lines(output: str) -> list[str]:
    return ESCAPE.sub("", output).split("\n")


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal():
    stream = FakeTerminal()
    size = os.terminal_size((60, 8))
    progress = TerminalProgress(stream, size=lambda: size, interval=3600)
    yield stream, progress
    progress.close()


def test_rows_never_outgrow_the_terminal_and_finished_blobs_print_once(terminal):
    stream, progress = terminal
    descriptors = [blob(i) for i in range(30)]
    for d in descriptors:  # more blobs in flight than the terminal has lines
        progress(ProgressEvent("upload", STARTED, d, 0, MiB))
        progress(ProgressEvent("upload", PROGRESS, d, MiB // 2, MiB))
    progress._draw()
    for d in descriptors[:20]:
        progress(ProgressEvent("upload", DONE, d, MiB, MiB))
        progress._draw()
    for d in descriptors[20:]:
        progress(ProgressEvent("upload", EXISTS, d, 0, MiB))
    progress.close()
    output = stream.getvalue()

    # A redraw moves up over the live rows only, and they fit on the screen, so nothing scrolls.
    assert max(int(n) for n in UP.findall(output)) <= 8 - 1
    assert all(len(line) <= 60 - 1 for line in visible_lines(output))
    assert "… and" in output  # the rows that did not fit are counted instead
    text = ESCAPE.sub("", output)
    for i in range(20):
        assert len(re.findall(rf"✓ Uploaded +file-{i}\.bin ", text)) == 1
    for i in range(20, 30):
        assert len(re.findall(rf"✓ Exists +file-{i}\.bin ", text)) == 1
    # At the end only the summary is left below the finished rows.
    assert visible_lines(output)[-2].startswith(
        "Uploaded 20 blobs, 10 existed (10.49 MB): 20.97 MB in"
    )


def test_a_live_row_shows_bytes_percent_speed_and_eta(terminal):
    stream, progress = terminal
    d = blob(1, 10 * MiB)
    progress(ProgressEvent("download", STARTED, d, 0, 10 * MiB))
    progress._active[id(d)].samples = [(0.0, 0), (1.0, 2 * MiB)]  # 2 MiB/s so far
    progress._active[id(d)].event = ProgressEvent("download", PROGRESS, d, 2 * MiB, 10 * MiB)
    size = os.terminal_size((120, 8))
    progress._size = lambda: size
    progress._draw()
    row = next(line for line in visible_lines(stream.getvalue()) if "file-1.bin" in line)
    assert "Downloading" in row and "[" in row  # a bar on a wide terminal
    assert "2.10 MB/10.49 MB" in row and "20.0%" in row
    assert "ETA 0:04" in row and "2.10 MB/s" in row


def test_log_lines_go_above_the_live_rows_and_handlers_come_back(terminal):
    stream, progress = terminal
    logger = logging.getLogger("oras")
    original = logging.StreamHandler(stream)
    saved = logger.handlers[:]
    logger.handlers[:] = [original]
    try:
        # The renderer was made before this handler: route logs the way the CLI sets them up.
        again = TerminalProgress(stream, size=lambda: os.terminal_size((60, 8)), interval=3600)
        d = blob(2)
        again(ProgressEvent("download", STARTED, d, 0, MiB))
        again._draw()
        logger.warning("Successfully pulled /tmp/file-2.bin.")
        assert "Successfully pulled" not in stream.getvalue()  # not written through the rows
        again._draw()
        assert stream.getvalue().count("Successfully pulled /tmp/file-2.bin.") == 1
        again.close()
        assert logger.handlers == [original]
    finally:
        logger.handlers[:] = saved


def test_nothing_is_summed_up_when_nothing_happened(terminal):
    stream, progress = terminal
    progress.close()
    assert "blobs" not in stream.getvalue()


def test_without_a_terminal_one_line_per_event():
    stream = io.StringIO()
    renderer = make_renderer(no_tty=False, quiet=False, stream=stream)
    assert isinstance(renderer, LineProgress)
    d = blob(3)
    renderer(ProgressEvent("upload", STARTED, d, 0, MiB))
    renderer(ProgressEvent("upload", PROGRESS, d, MiB // 2, MiB))
    renderer(ProgressEvent("upload", DONE, d, MiB, MiB))
    short = f"{3:064x}"[:12]
    assert stream.getvalue().splitlines() == [
        f"Uploading {short} file-3.bin",
        f"Uploaded  {short} file-3.bin",
    ]
    assert make_renderer(no_tty=False, quiet=True, stream=stream) is None


def test_a_blob_restored_from_the_cache_has_its_own_prompt_and_count(terminal):
    stream = io.StringIO()
    lines = LineProgress(stream)
    d, e = blob(8), blob(9)
    lines(ProgressEvent("download", STARTED, d, 0, MiB))
    lines(ProgressEvent("download", DONE, d, MiB, MiB))
    lines(ProgressEvent("download", RESTORED, e, 0, MiB))
    short_d, short_e = f"{8:064x}"[:12], f"{9:064x}"[:12]
    assert stream.getvalue().splitlines() == [
        f"Downloading {short_d} file-8.bin",
        f"Downloaded  {short_d} file-8.bin",
        f"Restored    {short_e} file-9.bin",
    ]
    screen, progress = terminal
    progress(ProgressEvent("download", STARTED, d, 0, MiB))
    progress(ProgressEvent("download", DONE, d, MiB, MiB))
    progress(ProgressEvent("download", RESTORED, e, 0, MiB))
    progress.close()
    output = visible_lines(screen.getvalue())
    assert any(line.startswith("✓ Restored    file-9.bin") for line in output)
    assert output[-2].startswith("Downloaded 1 blob, 1 restored from the cache: 1.05 MB in")


SGR = re.compile(r"\x1b\[[0-9;]*m")


def test_no_color_draws_the_bar_without_colour_codes(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    stream = FakeTerminal()
    progress = TerminalProgress(stream, size=lambda: os.terminal_size((120, 8)), interval=3600)
    d = blob(4, 10 * MiB)
    progress(ProgressEvent("upload", STARTED, d, 0, 10 * MiB))
    progress(ProgressEvent("upload", PROGRESS, d, 5 * MiB, 10 * MiB))
    progress._draw()
    progress(ProgressEvent("upload", DONE, d, 10 * MiB, 10 * MiB))
    progress.close()
    output = stream.getvalue()
    assert not SGR.search(output)
    assert "[==========..........]" in output  # half done, drawn with characters
    assert "✓ Uploaded" in output


def test_a_dumb_terminal_gets_lines_and_no_colour(monkeypatch, capsys):
    from oras.cli import console

    monkeypatch.setenv("TERM", "dumb")
    assert isinstance(make_renderer(no_tty=False, quiet=False, stream=FakeTerminal()), LineProgress)
    monkeypatch.setattr("sys.stderr", FakeTerminal())
    console.error_line("Error: boom")
    console.warn("careful")
    assert "\x1b" not in __import__("sys").stderr.getvalue()


def test_no_color_keeps_messages_plain(monkeypatch):
    from oras.cli import console

    monkeypatch.delenv("TERM", raising=False)
    stream = FakeTerminal()
    monkeypatch.setattr("sys.stderr", stream)
    console.error_line("Error: boom")
    assert "\x1b[31m" in stream.getvalue()  # a terminal gets colour by default
    monkeypatch.setenv("NO_COLOR", "1")
    console.error_line("Error: boom")
    assert stream.getvalue().splitlines()[-1] == "Error: boom"


def test_a_terminal_of_unknown_size_is_taken_as_80_columns(monkeypatch):
    import pty

    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    leader, follower = pty.openpty()  # nobody set a size: the kernel says 0x0
    try:
        with open(follower, "w", closefd=False) as stream:
            assert os.get_terminal_size(follower) == (0, 0)
            progress = TerminalProgress(stream, interval=3600)
            try:
                assert tuple(progress._size()) == (80, 24)
                assert progress._width() == 79
                monkeypatch.setenv("COLUMNS", "132")
                assert tuple(progress._size()) == (132, 24)
            finally:
                progress._stop.set()
                progress._restore_logs()
    finally:
        os.close(leader)
        os.close(follower)


def test_the_summary_counts_bytes_in_flight_and_sent_before_a_blob_turned_out_to_exist(terminal):
    stream, progress = terminal
    size = os.terminal_size((120, 8))
    progress._size = lambda: size
    small, big, busy = blob(5, 3), blob(6, 500 * MiB), blob(7, 100 * MiB)
    progress(ProgressEvent("upload", STARTED, small, 0, 3))
    progress(ProgressEvent("upload", DONE, small, 3, 3))
    # Uploaded while it was hashed, then found in the registry: 64 MiB went over first.
    progress(ProgressEvent("upload", STARTED, big, 0, 500 * MiB))
    progress(ProgressEvent("upload", EXISTS, big, 64 * MiB, 500 * MiB))
    progress(ProgressEvent("upload", STARTED, busy, 0, 100 * MiB))
    progress(ProgressEvent("upload", PROGRESS, busy, 10 * MiB, 100 * MiB))
    progress._draw()
    live = visible_lines(stream.getvalue())[-2]
    assert live.startswith("Uploaded 1 blob, 1 existed (524.29 MB), 1 in progress: 77.59 MB in")
    progress(ProgressEvent("upload", DONE, busy, 100 * MiB, 100 * MiB))
    progress.close()
    final = visible_lines(stream.getvalue())[-2]
    assert final.startswith("Uploaded 2 blobs, 1 existed (524.29 MB): 171.97 MB in")
