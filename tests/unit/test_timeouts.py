"""Unit tests for request timeouts: the defaults, their parsing, and how often a timed-out
request is tried."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests
import urllib3.exceptions

from oras.remote import retry
from oras.remote.timeouts import (
    CONNECT_TIMEOUT,
    DEFAULT_TIMEOUTS,
    READ_TIMEOUT,
    request_timeouts,
)


def test_defaults_bound_a_stalled_request_to_about_two_minutes() -> None:
    assert DEFAULT_TIMEOUTS == (CONNECT_TIMEOUT, READ_TIMEOUT) == (30.0, 60.0)
    worst_wait = retry.MAX_TIMEOUT_ATTEMPTS * max(DEFAULT_TIMEOUTS)
    worst_backoff = sum(
        min(retry.MAX_DELAY, retry.BASE_DELAY * 2**n * 1.5)
        for n in range(retry.MAX_TIMEOUT_ATTEMPTS - 1)
    )
    assert worst_wait + worst_backoff <= 125


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DEFAULT_TIMEOUTS),
        (5, (5.0, 5.0)),
        (0.5, (0.5, 0.5)),
        ((3, 7.5), (3.0, 7.5)),
        ([3, 7], (3.0, 7.0)),
    ],
)
def test_request_timeouts(value: Any, expected: tuple[float, float]) -> None:
    assert request_timeouts(value) == expected


@pytest.mark.parametrize(
    "value", [0, -1, float("inf"), float("nan"), "5", True, (1,), (1, 2, 3), (1, None)]
)
def test_request_timeouts_refuses_what_would_not_bound_a_request(value: Any) -> None:
    with pytest.raises(ValueError, match="timeout"):
        request_timeouts(value)


def _send_timeout() -> requests.exceptions.ConnectionError:
    """What requests raises when a write blocks for the connect timeout."""
    cause = urllib3.exceptions.ProtocolError("Connection aborted.", TimeoutError("timed out"))
    return requests.exceptions.ConnectionError(cause)


@pytest.mark.parametrize(
    ("error", "timed_out"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), True),
        (requests.exceptions.ConnectTimeout("connect timed out"), True),
        (_send_timeout(), True),
        (socket.timeout("timed out"), True),
        (requests.exceptions.ConnectionError(ConnectionResetError("reset")), False),
        (ValueError("nope"), False),
    ],
)
def test_is_timeout(error: BaseException, timed_out: bool) -> None:
    assert retry.is_timeout(error) is timed_out


@pytest.mark.parametrize(
    "error",
    [requests.exceptions.ReadTimeout("read timed out"), _send_timeout()],
    ids=["read", "send"],
)
def test_a_request_that_times_out_is_tried_twice(error: BaseException) -> None:
    calls: list[int] = []

    def send() -> Any:
        calls.append(1)
        raise error

    with pytest.raises(type(error)):
        retry.send_with_retry(send, sleep=lambda _: None)
    assert len(calls) == retry.MAX_TIMEOUT_ATTEMPTS == 2


def test_other_dropped_connections_keep_every_attempt() -> None:
    calls: list[int] = []

    def send() -> Any:
        calls.append(1)
        raise requests.exceptions.ConnectionError(ConnectionResetError("reset"))

    with pytest.raises(requests.exceptions.ConnectionError):
        retry.send_with_retry(send, sleep=lambda _: None)
    assert len(calls) == retry.MAX_ATTEMPTS
