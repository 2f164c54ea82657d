"""Check that a secret never shows: in output, logs, `--debug` traces, exceptions or tracebacks.

`SecretWatch` holds a sentinel password (`S3ntinel-Pa55-<random>`, or any secrets given) and
collects everything a test produced, then `assert_clean()` fails naming where a secret showed:

    watch = SecretWatch()                       # watch.password is the sentinel
    with watch.logs():                          # DEBUG records of the `oras` logger
        try:
            client.pull(...)
        except Exception as e:
            watch.exception(e)                  # str, repr, traceback, chained causes
    watch.run(oras_cli("pull", "--debug", "-p", watch.password, ...))
    watch.assert_clean()

A secret is also looked for in its Basic form (`base64(user:secret)`), since that is how it
travels in an `Authorization` header.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import secrets
import subprocess
import traceback
from collections.abc import Iterator
from typing import Any, Optional

__all__ = ["SecretWatch", "sentinel_password"]


def sentinel_password() -> str:
    """A password no code or fixture would print by accident: `S3ntinel-Pa55-<random>`."""
    return f"S3ntinel-Pa55-{secrets.token_hex(6)}"


class _Collect(logging.Handler):
    def __init__(self, sink: list[tuple[str, str]]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not format still counts
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.sink.append((f"log record {record.name}", text))


class SecretWatch:
    """Collects texts a test produced and asserts that none holds a watched secret."""

    def __init__(self, *extra: str, username: str = "sentinel-user") -> None:
        self.username = username
        self.password = sentinel_password()
        self.secrets: list[str] = [self.password, *[s for s in extra if s]]
        self.texts: list[tuple[str, str]] = []

    def watch(self, secret: str) -> None:
        """Also watch `secret` (a token issued during the test, a second password...)."""
        if secret:
            self.secrets.append(secret)

    def _forms(self) -> list[str]:
        forms: list[str] = []
        for secret in self.secrets:
            forms.append(secret)
            for user in {self.username, ""}:
                forms.append(base64.b64encode(f"{user}:{secret}".encode()).decode())
        return forms

    @contextlib.contextmanager
    def logs(self, name: str = "oras") -> Iterator[None]:
        """Collect every record of logger `name` (and its children) at DEBUG while inside."""
        logger = logging.getLogger(name)
        handler = _Collect(self.texts)
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)

    def text(self, where: str, text: Optional[str]) -> None:
        self.texts.append((where, text or ""))

    def exception(self, exc: BaseException) -> None:
        """`str`, `repr` and the formatted traceback (chained causes included) of `exc`."""
        self.texts.append(("str(exception)", str(exc)))
        self.texts.append(("repr(exception)", repr(exc)))
        self.texts.append(
            ("traceback", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        )
        hint = getattr(exc, "hint", None)
        if hint:
            self.texts.append(("exception hint", str(hint)))

    def run(self, result: subprocess.CompletedProcess[Any]) -> subprocess.CompletedProcess[Any]:
        """The stdout and stderr of a finished command; returns it."""
        self.texts.append((f"stdout of {result.args!r}", str(result.stdout or "")))
        self.texts.append((f"stderr of {result.args!r}", str(result.stderr or "")))
        return result

    def file(self, path: Any) -> None:
        """The text of a file the test produced (a log, an error report...)."""
        with open(path, encoding="utf-8", errors="replace") as fh:
            self.texts.append((f"file {path}", fh.read()))

    def leaks(self) -> list[str]:
        """Where a watched secret showed, as `where: ...context...` lines."""
        found = []
        for where, text in self.texts:
            for form in self._forms():
                at = text.find(form)
                if at >= 0:
                    context = text[max(0, at - 60) : at].replace("\n", " ")
                    found.append(f"{where}: ...{context}<secret>")
        return found

    def assert_clean(self) -> None:
        assert self.texts, "nothing was collected: the check would pass vacuously"
        leaks = self.leaks()
        assert not leaks, "a secret showed:\n" + "\n".join(leaks)
