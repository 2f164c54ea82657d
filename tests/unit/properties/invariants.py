"""What every parser of outside input promises, as helpers the property tests and the fuzz
targets share: a well-formed value, or one of the library's typed errors with a one-line message.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

from oras.errors import OrasError

T = TypeVar("T")

#: Seconds a parser may take on one adversarial input (64 KiB or so); linear parsers take
#: milliseconds, a backtracking regex takes minutes. Generous: CI machines are shared.
TIME_BOUND = 2.0


class Refused(Exception):
    """The parser refused the input with a typed error (carried in `error`)."""

    def __init__(self, error: OrasError) -> None:
        super().__init__(str(error))
        self.error = error


def check_typed(
    error: BaseException, also: tuple[type[BaseException], ...] = (ValueError,)
) -> None:
    """Fail unless `error` is one of the library's typed errors (an OrasError that is also one of
    `also`, ValueError by default) whose message is one line."""
    if not isinstance(error, OrasError) or not isinstance(error, also):
        raise AssertionError(f"untyped error {type(error).__name__}: {error!r}") from error
    message = str(error)
    if "\n" in message or "\r" in message:
        raise AssertionError(f"multi-line message: {message!r}") from error


def parse_or_refuse(
    parse: Callable[..., T],
    *args: Any,
    also: tuple[type[BaseException], ...] = (ValueError,),
    **kwargs: Any,
) -> T:
    """`parse(*args)`; a typed refusal becomes `Refused`, anything else fails the test."""
    try:
        return parse(*args, **kwargs)
    except Exception as e:  # every exception is judged: typed ones pass, the rest fail
        check_typed(e, also)
        raise Refused(e) from None  # type: ignore[arg-type]


@contextmanager
def time_bound(seconds: float = TIME_BOUND) -> Iterator[None]:
    """Fail when the block takes longer than `seconds` (catastrophic backtracking, blowups)."""
    start = time.monotonic()
    yield
    took = time.monotonic() - start
    if took > seconds:
        raise AssertionError(f"took {took:.2f} s, more than {seconds} s")
