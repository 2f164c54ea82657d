"""The pacing of answer bodies: a drip fails the rate, a slow reader of a fast body does not,
and a deadline bounds a small body however steadily it comes."""

from __future__ import annotations

import io
import time

import pytest

from oras.errors import TooSlowError
from oras.remote import timeouts


class _Dripping(io.RawIOBase):
    """A socket that gives one byte per receive, `delay` seconds apart."""

    def __init__(self, size: int, delay: float) -> None:
        self.left, self.delay = size, delay

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:
        if not self.left:
            return 0
        time.sleep(self.delay)
        buffer[0:1] = b"x"
        self.left -= 1
        return 1


def _paced(inner: io.RawIOBase, window: float = 60.0) -> io.BufferedReader:
    reader = timeouts._PacedReader(io.BufferedReader(inner), window, "GET", "http://r/v2/x")
    return io.BufferedReader(reader)


def test_a_drip_fails_after_a_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeouts, "RATE_WINDOW", 0.2)
    started = time.monotonic()
    with pytest.raises(TooSlowError) as info:
        _paced(_Dripping(1000, 0.01)).read()
    assert time.monotonic() - started < 1
    assert "GET /v2/x timed out: r sent" in str(info.value)


def test_the_read_timeout_shortens_the_window() -> None:
    started = time.monotonic()
    with pytest.raises(TooSlowError):
        _paced(_Dripping(1000, 0.01), window=0.2).read()
    assert time.monotonic() - started < 1


def test_a_slow_reader_of_a_fast_body_is_not_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeouts, "RATE_WINDOW", 0.1)
    body = _paced(io.BytesIO(b"y" * 40000))  # type: ignore[arg-type]
    got = b""
    for _ in range(5):
        got += body.read(8000)
        time.sleep(0.05)  # the reader, not the server, is slow
    assert got == b"y" * 40000


def test_a_drip_above_the_rate_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeouts, "RATE_WINDOW", 0.1)
    monkeypatch.setattr(timeouts, "MIN_RATE", 10)
    assert _paced(_Dripping(20, 0.01)).read() == b"x" * 20


def test_the_deadline_bounds_a_steady_body() -> None:
    inner = timeouts._PacedReader(
        io.BufferedReader(_Dripping(1000, 0.005)), 60.0, "GET", "http://r/t"
    )
    inner.deadline = time.monotonic() + 0.2
    with pytest.raises(TooSlowError) as info:
        io.BufferedReader(inner).read()
    assert "not all" in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [((3, 7), 7.0), (5, 5.0), (None, timeouts.READ_TIMEOUT), ((3, None), timeouts.READ_TIMEOUT)],
)
def test_read_timeout_of(value: object, expected: float) -> None:
    assert timeouts.read_timeout_of(value) == expected
