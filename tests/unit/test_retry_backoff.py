"""The retry layer's bounds: `Retry-After` in its forms, the total wait of one request, and the
per-host pause a 429 puts on every request of the session."""

from __future__ import annotations

import email.utils
import time
from typing import Any, Optional

import pytest

from oras.remote import retry


class _Answer:
    def __init__(self, status: int, after: Optional[str] = None) -> None:
        self.status_code = status
        self.headers = {"Retry-After": after} if after is not None else {}

    def close(self) -> None:
        pass


class _Clock:
    """A fake monotonic clock that sleeping advances."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_retry_after_forms() -> None:
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (retry.retry_after(_Answer(429, soon)) or 0) <= 31
    past = email.utils.formatdate(time.time() - 3600, usegmt=True)
    assert retry.retry_after(_Answer(429, past)) == 0.0
    assert retry.retry_after(_Answer(429, "86400")) == 86400.0
    for garbage in ("soon", "-", "1e999x", "\x00", "Mon, 99 Foo 2020"):
        assert retry.retry_after(_Answer(429, garbage)) is None
    assert retry.retry_after(_Answer(429, "-5")) == 0.0


def test_a_day_of_retry_after_is_not_waited_for() -> None:
    calls: list[int] = []
    slept: list[float] = []

    def send() -> Any:
        calls.append(1)
        return _Answer(429, "86400")

    assert retry.send_with_retry(send, sleep=slept.append).status_code == 429
    assert calls == [1] and slept == []


def test_a_storm_of_retry_after_stops_at_the_total_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "MAX_RETRY_WAIT", 100.0)
    clock = _Clock()
    calls: list[int] = []

    def send() -> Any:
        calls.append(1)
        return _Answer(503, "40")

    answer = retry.send_with_retry(send, sleep=clock.sleep, pause=retry.HostPause(clock), host="h")
    assert answer.status_code == 503
    assert len(calls) == 3  # 40 + 40 waited; a third wait would pass 100 s
    assert sum(clock.slept) == pytest.approx(80.0)


def test_a_storm_of_5xx_is_bounded_in_attempts_and_time() -> None:
    slept: list[float] = []
    calls: list[int] = []

    def send() -> Any:
        calls.append(1)
        return _Answer(502)

    assert retry.send_with_retry(send, sleep=slept.append).status_code == 502
    assert len(calls) == retry.MAX_ATTEMPTS
    assert sum(slept) <= (retry.MAX_ATTEMPTS - 1) * retry.MAX_DELAY


def test_a_429_pauses_the_host_for_every_request_and_not_other_hosts() -> None:
    clock = _Clock()
    pause = retry.HostPause(clock)
    answers = iter([_Answer(429, "2"), _Answer(200)])
    assert (
        retry.send_with_retry(
            lambda: next(answers), sleep=clock.sleep, pause=pause, host="a"
        ).status_code
        == 200
    )
    assert clock.slept == [2.0]
    pause.hold("a", 5)
    assert pause.remaining("a") == pytest.approx(5.0)
    assert pause.remaining("b") == 0.0
    # another request to "a" waits the hold out first; one to "b" goes at once
    sent_at: dict[str, float] = {}

    def send_to(host: str) -> Any:
        sent_at[host] = clock.now
        return _Answer(200)

    start = clock.now
    retry.send_with_retry(lambda: send_to("b"), sleep=clock.sleep, pause=pause, host="b")
    retry.send_with_retry(lambda: send_to("a"), sleep=clock.sleep, pause=pause, host="a")
    assert sent_at["b"] == start and sent_at["a"] == pytest.approx(start + 5)


def test_a_hold_never_exceeds_the_longest_retry_after() -> None:
    clock = _Clock()
    pause = retry.HostPause(clock)
    pause.hold("a", 10 * retry.MAX_RETRY_AFTER)
    assert pause.wait("a", clock.sleep) == pytest.approx(retry.MAX_RETRY_AFTER)
