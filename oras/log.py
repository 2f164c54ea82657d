"""oras-py's logger object, shared by the library: level-named methods over the stdlib "oras"
loggers. It lives below the oras-py modules because the auth backends expose it too; the
terminal handler and `setup_logger` stay in `oras.logger`."""

from __future__ import annotations

import inspect
import logging
import sys
from typing import Any, Callable, Optional

__all__ = ["ROOT_LOGGER_NAME", "Logger", "logger"]

# Every library module logs under this name (logging.getLogger(__name__) in oras.*), so one
# handler on it shows them all; the wrapper itself logs as its child "oras.logger".
ROOT_LOGGER_NAME = "oras"


class Logger:
    """oras-py's logger object: level-named methods over the stdlib logger "oras.logger".

    Each message is a dict (`{"level": "info", "msg": ...}`, progress has `done`/`total`)
    passed by `handler` to every callable in `log_handler`; the default, `text_handler`, hands
    it to the stdlib logger. Append a callable to `log_handler` to receive messages too.
    """

    def __init__(self, name: str = ROOT_LOGGER_NAME + ".logger"):
        self.logger = logging.getLogger(name)
        self.log_handler: list[Callable[[dict[str, Any]], None]] = [self.text_handler]
        self.stream_handler: Optional[logging.Handler] = None
        self.printshellcmds = False
        self.quiet = False
        self.logfile: Optional[str] = None
        self.logfile_handler: Optional[logging.Handler] = None

    @property
    def _root(self) -> logging.Logger:
        return logging.getLogger(ROOT_LOGGER_NAME)

    def set_stream_handler(self, stream_handler: logging.Handler) -> None:
        """Install a handler on the "oras" logger, replacing the one installed before."""
        if self.stream_handler is not None:
            self._root.removeHandler(self.stream_handler)
        self.stream_handler = stream_handler
        self._root.addHandler(stream_handler)

    def set_level(self, level: int | str) -> None:
        self._root.setLevel(level)

    def cleanup(self) -> None:
        """Remove the handlers this object installed; `log_handler` is back to the default."""
        for attr in ("logfile_handler", "stream_handler"):
            handler = getattr(self, attr)
            if handler is not None:
                self._root.removeHandler(handler)
                handler.close()
                setattr(self, attr, None)
        self.log_handler = [self.text_handler]

    def handler(self, msg: dict[str, Any]) -> None:
        """Pass one message dict to every callable in `log_handler`."""
        for handler in self.log_handler:
            handler(msg)

    def text_handler(self, msg: dict[str, Any]) -> None:
        """The default handler: log the message through the stdlib logger (info and progress
        are dropped when `quiet`, shell commands unless `printshellcmds`)."""
        level = msg.get("level")
        if level == "progress":
            done, total = msg.get("done"), msg.get("total")
            if self.quiet or done is None or not total:
                return
            fraction = done / total
            percent = ("{:.2%}" if fraction < 0.01 else "{:.0%}").format(fraction)
            self._emit(logging.INFO, f"{done} of {total} steps ({percent}) done")
        elif level == "shellcmd":
            if self.printshellcmds:
                self._emit(logging.WARNING, msg["msg"])
        elif level in _LEVELS and not (level == "info" and self.quiet):
            self._emit(_LEVELS[level], msg["msg"])

    def _emit(self, level: int, msg: Any) -> None:
        # The record names the first caller outside this module (whoever called info() and
        # so on), however many of our frames (handler, text_handler, ...) sit in between.
        stacklevel = 2
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__") == __name__:
            stacklevel += 1
            frame = frame.f_back
        self.logger.log(level, msg, stacklevel=stacklevel)

    @staticmethod
    def _text(msg: Any, args: tuple[Any, ...]) -> Any:
        return msg % args if args else msg

    def info(self, msg: Any, *args: Any) -> None:
        self.handler({"level": "info", "msg": self._text(msg, args)})

    def warning(self, msg: Any, *args: Any) -> None:
        self.handler({"level": "warning", "msg": self._text(msg, args)})

    def debug(self, msg: Any, *args: Any) -> None:
        self.handler({"level": "debug", "msg": self._text(msg, args)})

    def error(self, msg: Any, *args: Any) -> None:
        self.handler({"level": "error", "msg": self._text(msg, args)})

    def exit(self, msg: Any, return_code: int = 1) -> None:
        """Log an error and raise SystemExit (oras-py API; the library itself never calls it)."""
        self.handler({"level": "error", "msg": msg})
        raise SystemExit(return_code)

    def progress(self, done: Optional[int] = None, total: Optional[int] = None) -> None:
        self.handler({"level": "progress", "done": done, "total": total})

    def shellcmd(self, msg: Optional[str]) -> None:
        if msg is not None:
            self.handler({"level": "shellcmd", "msg": msg})

    def location(self, msg: Any) -> None:
        """Debug-log a message with the caller's file, function and line."""
        frame = inspect.currentframe()
        caller = frame.f_back if frame is not None else None
        if caller is None:
            self.debug(msg)
            return
        info = inspect.getframeinfo(caller)
        self.debug("%s: %s, %s, %s", msg, info.filename, info.function, info.lineno)


_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

logger = Logger()
