"""Unit tests for oras.logger: silent import, setup_logger's handler, quiet, exit and colours."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from typing import Iterator

import pytest

import oras.logger
from oras.logger import ColorizingStreamHandler, Logger, logger, setup_logger


@pytest.fixture(autouse=True)
def restore_logger() -> Iterator[None]:
    root = logging.getLogger("oras")
    level, handlers = root.level, list(root.handlers)
    yield
    logger.cleanup()
    root.setLevel(level)
    root.handlers[:] = handlers
    logger.quiet = False
    logger.printshellcmds = False


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def capture(**kwargs: object) -> io.StringIO:
    """Run setup_logger with stderr replaced, return the stream its handler writes to."""
    stream = io.StringIO()
    setup_logger(**kwargs)  # type: ignore[arg-type]
    assert isinstance(logger.stream_handler, ColorizingStreamHandler)
    logger.stream_handler.setStream(stream)
    return stream


def test_import_installs_nothing_and_prints_nothing() -> None:
    code = (
        "import logging, oras.logger, oras.utils, oras.oci, oras.decorator\n"
        "names = ['', 'oras', 'oras.logger']\n"
        "assert all(not logging.getLogger(n).handlers for n in names), names\n"
        "assert logging.getLogger('oras').level == logging.NOTSET\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_public_names() -> None:
    assert isinstance(logger, Logger)
    assert logger.logger.name == "oras.logger"
    assert logger.logger.parent is logging.getLogger("oras")
    assert set(oras.logger.__all__) == {
        "logger",
        "setup_logger",
        "Logger",
        "ColorizingStreamHandler",
    }


def test_setup_logger_shows_bare_messages_of_the_whole_package() -> None:
    stream = capture(nocolor=True)
    logger.info("Successfully pushed localhost:5000/a:b")
    logger.debug("hidden at INFO")
    logging.getLogger("oras.provider").warning("from a library module")
    assert stream.getvalue() == "Successfully pushed localhost:5000/a:b\nfrom a library module\n"


def test_setup_logger_twice_replaces_the_handler() -> None:
    setup_logger()
    setup_logger(debug=True)
    ours = [h for h in logging.getLogger("oras").handlers if isinstance(h, ColorizingStreamHandler)]
    assert ours == [logger.stream_handler]
    assert logging.getLogger("oras").level == logging.DEBUG


def test_setup_logger_streams() -> None:
    setup_logger(stdout=True)
    assert logger.stream_handler.stream is sys.stdout  # type: ignore[union-attr]
    setup_logger()
    assert logger.stream_handler.stream is sys.stderr  # type: ignore[union-attr]


def test_debug_level() -> None:
    stream = capture(debug=True, nocolor=True)
    logger.debug("details")
    assert stream.getvalue() == "details\n"


def test_quiet_suppresses_info_only() -> None:
    stream = capture(quiet=True, nocolor=True)
    logger.info("chatter")
    logger.progress(1, 2)
    logger.warning("careful")
    logger.error("broken")
    assert stream.getvalue() == "careful\nbroken\n"


def test_progress_and_shellcmd() -> None:
    stream = capture(nocolor=True)
    logger.progress(1, 4)
    logger.shellcmd("docker login")
    logger.printshellcmds = True
    logger.shellcmd("docker login")
    assert stream.getvalue() == "1 of 4 steps (25%) done\ndocker login\n"


def test_exit_logs_and_raises_system_exit() -> None:
    stream = capture(nocolor=True)
    with pytest.raises(SystemExit) as info:
        logger.exit("fatal problem", return_code=3)
    assert info.value.code == 3
    assert stream.getvalue() == "fatal problem\n"
    with pytest.raises(SystemExit) as info:
        logger.exit("again")
    assert info.value.code == 1


def test_records_name_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="oras"):
        logger.warning("where am I")
        logger.location("here")
    first, second = caplog.records
    assert first.name == "oras.logger" and first.levelno == logging.WARNING
    assert first.funcName == "test_records_name_the_caller"
    assert "test_records_name_the_caller" in second.getMessage()


def test_percent_arguments(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="oras"):
        logger.info("pulled %s layers", 3)
    assert caplog.records[0].getMessage() == "pulled 3 layers"


def test_colours_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    record = logging.LogRecord("oras", logging.ERROR, __file__, 1, "bad", None, None)

    tty = TTY()
    ColorizingStreamHandler(stream=tty).emit(record)
    assert tty.getvalue() == "\033[31mbad\033[0m\n"

    plain = io.StringIO()
    ColorizingStreamHandler(stream=plain).emit(record)
    assert plain.getvalue() == "bad\n"

    forced_off = TTY()
    ColorizingStreamHandler(nocolor=True, stream=forced_off).emit(record)
    assert forced_off.getvalue() == "bad\n"

    monkeypatch.setenv("TERM", "dumb")
    dumb = TTY()
    ColorizingStreamHandler(stream=dumb).emit(record)
    assert dumb.getvalue() == "bad\n"


def test_standalone_logger_instance() -> None:
    mine = Logger("oras.test-instance")
    stream = io.StringIO()
    handler = ColorizingStreamHandler(nocolor=True, stream=stream)
    mine.set_stream_handler(handler)
    mine.set_level(logging.INFO)
    try:
        mine.info("hello")
        assert stream.getvalue() == "hello\n"
    finally:
        mine.cleanup()
    assert handler not in logging.getLogger("oras").handlers


def test_messages_go_through_handler_to_every_log_handler() -> None:
    """oras-py's Logger.handler/text_handler: each message is a dict passed to `log_handler`."""
    stream = capture(nocolor=True)
    seen: list[dict] = []
    assert logger.log_handler == [logger.text_handler]
    logger.log_handler.append(seen.append)
    logger.info("pulled %s layers", 2)
    logger.progress(1, 2)
    logger.handler({"level": "warning", "msg": "straight to the handlers"})
    assert seen == [
        {"level": "info", "msg": "pulled 2 layers"},
        {"level": "progress", "done": 1, "total": 2},
        {"level": "warning", "msg": "straight to the handlers"},
    ]
    assert (
        stream.getvalue() == "pulled 2 layers\n1 of 2 steps (50%) done\nstraight to the handlers\n"
    )
    logger.cleanup()
    assert logger.log_handler == [logger.text_handler]


def test_text_handler_alone(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="oras"):
        logger.text_handler({"level": "debug", "msg": "direct"})
        logger.quiet = True
        logger.text_handler({"level": "info", "msg": "hidden when quiet"})
        logger.text_handler({"level": "shellcmd", "msg": "hidden without printshellcmds"})
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.DEBUG, "direct")]
    assert caplog.records[0].funcName == "test_text_handler_alone"


def test_modules_that_had_a_logger_still_name_it() -> None:
    """oras-py modules exposed the shared logger object as a module attribute."""
    import importlib

    for name in (
        "oras.provider",
        "oras.decorator",
        "oras.auth.base",
        "oras.auth.token",
        "oras.auth.utils",
        "oras.auth.ecr",
        "oras.layout.layout",
    ):
        assert importlib.import_module(name).logger is logger, name
