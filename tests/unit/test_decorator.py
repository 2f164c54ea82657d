"""Unit tests for oras.decorator: which failures are retried, how long it waits, ensure_container."""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, Optional

import pytest
import requests

from oras.decorator import Decorator, classretry, ensure_container, retry
from oras.errors import AuthenticationError, AuthenticationException, RegistryError


class FakeResponse:
    """Just enough of requests.Response for the retry policy."""

    def __init__(self, status: int, headers: Optional[dict[str, str]] = None, body: Any = None):
        self.status_code = status
        self.headers = headers or {}
        self.reason = {500: "Internal Server Error"}.get(status, "Reason")
        self.request = type("Req", (), {"url": "https://registry.test/v2/x/manifests/latest"})()
        self.url = self.request.url
        self._body = body
        self.closed = False

    def json(self) -> Any:
        if self._body is None:
            raise ValueError("no JSON")
        return self._body

    def close(self) -> None:
        self.closed = True


class Script:
    """A fake request function that returns or raises the given outcomes in order."""

    def __init__(self, *outcomes: Any):
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(time, "sleep", waited.append)
    return waited


def wrap(script: Script, **kwargs: Any) -> Callable[..., Any]:
    return retry(**kwargs)(script)


def test_success_is_returned_at_once(sleeps: list[float]) -> None:
    ok = FakeResponse(200)
    script = Script(ok)
    assert wrap(script)("url") is ok
    assert script.calls == 1 and sleeps == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 416])
def test_client_errors_are_not_retried(sleeps: list[float], status: int) -> None:
    response = FakeResponse(status)
    script = Script(response)
    assert wrap(script)() is response
    assert script.calls == 1 and sleeps == []


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
def test_transient_statuses_are_retried(sleeps: list[float], status: int) -> None:
    first = FakeResponse(status)
    ok = FakeResponse(201)
    script = Script(first, ok)
    assert wrap(script)() is ok
    assert script.calls == 2 and len(sleeps) == 1
    assert first.closed  # the discarded response released its connection


def test_503_with_retry_after_waits_as_asked(sleeps: list[float]) -> None:
    script = Script(FakeResponse(503, {"Retry-After": "2"}), FakeResponse(200))
    assert wrap(script)().status_code == 200
    assert script.calls == 2
    assert sleeps == [pytest.approx(2.0)]


def test_retry_after_beyond_the_cap_returns_the_answer(sleeps: list[float]) -> None:
    # waiting an hour is not a retry; the caller gets the 429 and its Retry-After to report
    script = Script(FakeResponse(429, {"Retry-After": "3600"}), FakeResponse(200))
    assert wrap(script)().status_code == 429
    assert script.calls == 1 and sleeps == []


def test_retry_after_http_date(sleeps: list[float]) -> None:
    script = Script(
        FakeResponse(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), FakeResponse(200)
    )
    wrap(script)()
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 3.0  # a date in the past: plain backoff


def test_persistent_503_is_returned_after_the_last_attempt(sleeps: list[float]) -> None:
    script = Script(FakeResponse(503))
    response = wrap(script, attempts=4)()
    assert response.status_code == 503
    assert script.calls == 4 and len(sleeps) == 3


def test_persistent_500_becomes_value_error(sleeps: list[float]) -> None:
    body = {"errors": [{"code": "UNKNOWN", "message": "boom"}]}
    script = Script(FakeResponse(500, body=body))
    with pytest.raises(ValueError, match="Issue with https://registry.test/") as info:
        wrap(script)()
    assert isinstance(info.value, RegistryError)
    assert info.value.status == 500 and info.value.codes == ["UNKNOWN"]
    assert script.calls == 5 and len(sleeps) == 4


def test_500_then_success(sleeps: list[float]) -> None:
    script = Script(FakeResponse(500), FakeResponse(200))
    assert wrap(script)().status_code == 200


def test_connection_errors_are_retried(sleeps: list[float]) -> None:
    ok = FakeResponse(200)
    script = Script(requests.ConnectionError("reset"), requests.Timeout("slow"), ok)
    assert wrap(script)() is ok
    assert script.calls == 3 and len(sleeps) == 2


def test_connection_errors_propagate_after_the_last_attempt(sleeps: list[float]) -> None:
    script = Script(requests.ConnectionError("refused"))
    with pytest.raises(requests.ConnectionError):
        wrap(script)()
    assert script.calls == 5 and len(sleeps) == 4


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationException("bad credentials"),
        AuthenticationError("denied", status=401),
        requests.exceptions.SSLError("certificate verify failed"),
        ImportError("no boto3"),
        ValueError("bad reference"),
        KeyError("x"),
        RuntimeError("anything else"),
        requests.HTTPError("404"),
    ],
)
def test_other_errors_propagate_at_once(sleeps: list[float], error: BaseException) -> None:
    script = Script(error)
    with pytest.raises(type(error)):
        wrap(script)()
    assert script.calls == 1 and sleeps == []


def test_dns_failures_are_not_retried(sleeps: list[float]) -> None:
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as cause:
            raise requests.ConnectionError("Max retries exceeded") from cause
    except requests.ConnectionError as exc:
        error = exc
    script = Script(error)
    with pytest.raises(requests.ConnectionError):
        wrap(script)()
    assert script.calls == 1 and sleeps == []


def test_backoff_is_bounded(sleeps: list[float]) -> None:
    script = Script(requests.ConnectionError("down"))
    with pytest.raises(requests.ConnectionError):
        wrap(script, attempts=8)()
    assert len(sleeps) == 7
    assert all(0.2 <= s <= 3.0 for s in sleeps)
    assert sleeps[0] <= 0.3 and sleeps[-1] == 3.0
    assert sleeps == sorted(sleeps)


def test_timeout_zero_never_waits(sleeps: list[float]) -> None:
    script = Script(FakeResponse(502), FakeResponse(200))
    wrap(script, timeout=0)()
    assert sleeps == [0.0]


def test_single_attempt_does_not_retry(sleeps: list[float]) -> None:
    script = Script(requests.ConnectionError("down"))
    with pytest.raises(requests.ConnectionError):
        wrap(script, attempts=1)()
    assert script.calls == 1


def test_non_response_results_pass_through(sleeps: list[float]) -> None:
    assert retry()(lambda: {"a": 1})() == {"a": 1}
    assert retry()(lambda: None)() is None


def test_retry_keeps_the_function_name_and_works_on_methods(sleeps: list[float]) -> None:
    class Client:
        def __init__(self) -> None:
            self.calls = 0

        @retry(attempts=3)
        def do_request(self, url: str) -> FakeResponse:
            """Docstring kept."""
            self.calls += 1
            return FakeResponse(503 if self.calls < 3 else 200)

    client = Client()
    assert client.do_request("u").status_code == 200
    assert client.calls == 3
    assert Client.do_request.__name__ == "do_request"
    assert Client.do_request.__doc__ == "Docstring kept."


def test_bare_retry_and_classretry(sleeps: list[float]) -> None:
    class Client:
        def __init__(self) -> None:
            self.calls = 0

        @classretry
        def first(self) -> FakeResponse:
            self.calls += 1
            return FakeResponse(502 if self.calls == 1 else 200)

        @classretry(attempts=2, timeout=0)
        def second(self) -> FakeResponse:
            self.calls += 1
            raise requests.ConnectionError("down")

        @retry
        def third(self) -> int:
            return 7

    client = Client()
    assert client.first().status_code == 200
    assert client.calls == 2
    with pytest.raises(requests.ConnectionError):
        client.second()
    assert client.calls == 4
    assert client.third() == 7


def test_ensure_container_converts_positional_and_keyword() -> None:
    class Registry:
        def get_container(self, name: Any) -> Any:
            return ("container", name) if isinstance(name, str) else name

        @ensure_container
        def get_tags(self, container: Any, N: Optional[int] = None) -> tuple[Any, Optional[int]]:
            return container, N

    registry = Registry()
    assert registry.get_tags("ghcr.io/a/b:1") == (("container", "ghcr.io/a/b:1"), None)
    assert registry.get_tags(container="x", N=3) == (("container", "x"), 3)
    already = ("container", "y")
    assert registry.get_tags(already)[0] is already
    assert Registry.get_tags.__name__ == "get_tags"


def test_decorator_base_binds_like_a_method() -> None:
    class Shout(Decorator):
        def __call__(self, obj: Any, *args: Any, **kwargs: Any) -> Any:
            return self.func(obj, *args, **kwargs).upper()

    class Thing:
        name = "thing"

        @Shout
        def greet(self, greeting: str) -> str:
            """Say hello."""
            return f"{greeting} {self.name}"

    assert Thing().greet("hi") == "HI THING"
    assert Thing.greet.__doc__ == "Say hello."
    assert isinstance(Thing.__dict__["greet"], Decorator)
