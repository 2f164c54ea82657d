"""Slow and failing servers: `Retry-After` of a day, as a date or garbage; storms of 5xx; 429s
under a concurrent pull (the host is paused for every request, other hosts are not); slow
drips of manifests, tokens and blobs. Each ends in a safe success or one typed error within a
bounded time, with nothing left in the output directory."""

from __future__ import annotations

import email.utils
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

import oras.client
from oras.errors import RegistryError, TooSlowError
from oras.remote import response as response_module
from oras.remote import retry, timeouts
from tests.harness.hostile import HostileRegistry, send, serve
from tests.harness.hostile_redirects import drip

MANIFEST = r"/manifests/"
BLOB_GET = r"/blobs/sha256:"
LAYERS = 6


@pytest.fixture
def pushed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A registry holding `t/app:v1`, an artifact of LAYERS small files."""
    monkeypatch.chdir(tmp_path)
    names = []
    for i in range(LAYERS):
        (tmp_path / f"f{i}.txt").write_text(f"layer {i}\n")
        names.append(f"f{i}.txt")
    with HostileRegistry() as registry:
        oras.client.OrasClient(insecure=True).push(files=names, target=f"{registry.host}/t/app:v1")
        registry.clear()
        yield registry


def _answer(status: int, headers: dict[str, str]) -> Any:
    return lambda h, m: send(h, status, b'{"errors":[]}', headers)


def _pull(registry: Any, out: Path, **kwargs: Any) -> list[str]:
    client = oras.client.OrasClient(insecure=True)
    return client.pull(target=f"{registry.host}/t/app:v1", outdir=str(out), **kwargs)


def _assert_empty(out: Path) -> None:
    assert not out.exists() or [p.name for p in out.rglob("*")] == []


# -- Retry-After ------------------------------------------------------------------------------


def test_retry_after_a_day_fails_at_once(pushed: Any, tmp_path: Path) -> None:
    pushed.on("GET", MANIFEST, _answer(429, {"Retry-After": "86400"}))
    started = time.monotonic()
    with pytest.raises(RegistryError) as info:
        _pull(pushed, tmp_path / "out")
    assert time.monotonic() - started < 5
    assert info.value.status == 429 and "HTTP 429" in str(info.value)
    assert len(pushed.seen("GET", MANIFEST)) == 1
    _assert_empty(tmp_path / "out")


def test_cli_retry_after_a_day_is_one_line(pushed: Any, oras_cli: Any, tmp_path: Path) -> None:
    pushed.on("GET", MANIFEST, _answer(429, {"Retry-After": "86400"}))
    started = time.monotonic()
    run = oras_cli("pull", "--plain-http", "-o", "out", f"{pushed.host}/t/app:v1")
    assert time.monotonic() - started < 20
    assert run.returncode == 1
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("Error:") and "HTTP 429" in line
    _assert_empty(tmp_path / "out")


@pytest.mark.parametrize("kind", ["date", "garbage", "past-date"])
def test_retry_after_as_a_date_or_garbage_is_retried_within_bounds(
    pushed: Any, tmp_path: Path, kind: str
) -> None:
    value = {
        "date": email.utils.formatdate(time.time() + 2, usegmt=True),
        "garbage": "after lunch",
        "past-date": email.utils.formatdate(time.time() - 3600, usegmt=True),
    }[kind]
    pushed.on("GET", MANIFEST, _answer(503, {"Retry-After": value}), times=1)
    started = time.monotonic()
    assert len(_pull(pushed, tmp_path / "out")) == LAYERS
    elapsed = time.monotonic() - started
    gets = pushed.seen("GET", MANIFEST)
    assert len(gets) == 2
    gap = gets[1].time - gets[0].time
    if kind == "date":  # whole seconds in the date: one to two seconds from now
        assert 0.9 < gap < 3.5
    else:  # the client's own short back-off
        assert gap < retry.MAX_DELAY + 0.5
    assert elapsed < 10


# -- storms of 5xx ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_storm_of_5xx_is_bounded(
    pushed: Any, tmp_path: Path, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retry, "BASE_DELAY", 0.05)
    pushed.on("*", r"^/v2/", _answer(status, {}))
    started = time.monotonic()
    with pytest.raises(RegistryError) as info:
        _pull(pushed, tmp_path / "out")
    assert time.monotonic() - started < 10
    assert info.value.status == status and f"HTTP {status}" in str(info.value)
    assert len(pushed.seen()) == retry.MAX_ATTEMPTS
    _assert_empty(tmp_path / "out")


def test_a_storm_of_503_with_retry_after_stops_at_the_total_wait(
    pushed: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retry, "MAX_RETRY_WAIT", 2.5)
    pushed.on("*", r"^/v2/", _answer(503, {"Retry-After": "1"}))
    started = time.monotonic()
    with pytest.raises(RegistryError) as info:
        _pull(pushed, tmp_path / "out")
    assert time.monotonic() - started < 6
    assert info.value.status == 503
    assert len(pushed.seen()) == 3  # waits of 1 + 1 s; a third would pass 2.5 s


def test_cli_storm_of_502_is_one_line_naming_the_status(
    pushed: Any, oras_cli: Any, tmp_path: Path
) -> None:
    pushed.on("*", r"^/v2/", _answer(502, {}))
    started = time.monotonic()
    run = oras_cli("pull", "--plain-http", "-o", "out", f"{pushed.host}/t/app:v1")
    assert time.monotonic() - started < 30
    assert run.returncode == 1
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("Error:") and "HTTP 502" in line and "Traceback" not in run.stderr
    _assert_empty(tmp_path / "out")


# -- 429 under a concurrent pull: the host is paused, other hosts are not ---------------------


def _slow_serve(delay: float) -> Any:
    def action(handler: Any, match: Any) -> None:
        time.sleep(delay)
        serve(handler)

    return action


def test_a_429_pauses_every_request_to_that_host(pushed: Any, tmp_path: Path) -> None:
    pushed.on("GET", BLOB_GET, _answer(429, {"Retry-After": "1"}), times=1)
    pushed.on("GET", BLOB_GET, _slow_serve(0.15))  # each honest blob takes a moment
    started = time.monotonic()
    assert len(_pull(pushed, tmp_path / "out", concurrency=3)) == LAYERS
    assert time.monotonic() - started < 10
    gets = pushed.seen("GET", BLOB_GET)
    assert len(gets) == LAYERS + 1  # the one 429 retried once, nothing more
    first = gets[0].time
    # requests already on the wire when the 429 came may arrive just after it; then nothing
    # until its Retry-After has passed
    during = [g for g in gets if first + 0.1 < g.time < first + 1.0 - 0.05]
    assert during == [], [round(g.time - first, 3) for g in gets]


def test_a_429_from_one_host_does_not_slow_another(tmp_path: Path, pushed: Any) -> None:
    with HostileRegistry() as other:
        oras.client.OrasClient(insecure=True).push(
            files=[f"f{i}.txt" for i in range(LAYERS)], target=f"{other.host}/t/app:v1"
        )
        pushed.on("GET", BLOB_GET, _answer(429, {"Retry-After": "2"}), times=1)
        client = oras.client.OrasClient(insecure=True)
        took: dict[str, float] = {}

        def pull(registry: Any, name: str) -> None:
            start = time.monotonic()
            client.pull(target=f"{registry.host}/t/app:v1", outdir=str(tmp_path / name))
            took[name] = time.monotonic() - start

        slow = threading.Thread(target=pull, args=(pushed, "slow"))
        slow.start()
        time.sleep(0.2)  # the first host is paused by now
        pull(other, "fast")
        slow.join(20)
    assert took["fast"] < 1.0 and took["slow"] >= 1.9


# -- slow drips: every byte resets the read timeout, the rate and the deadline do not ---------


@pytest.fixture
def fast_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pacing windows of half a second (the limits are read when a body is read)."""
    monkeypatch.setattr(timeouts, "RATE_WINDOW", 0.5, raising=False)


def _honest(registry: Any, path: str, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    answer = requests.get(f"{registry.url}{path}", headers=headers, timeout=5)
    answer.raise_for_status()
    return answer.content, {"Content-Type": answer.headers.get("Content-Type", "")}


MANIFEST_ACCEPT = {"Accept": "application/vnd.oci.image.manifest.v1+json"}


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_a_dripping_manifest_fails_within_the_rate_window(
    pushed: Any, tmp_path: Path, fast_bounds: None, chunked: bool
) -> None:
    body, headers = _honest(pushed, "/v2/t/app/manifests/v1", MANIFEST_ACCEPT)
    pushed.on("GET", MANIFEST, drip(body, headers=headers, every=0.02, chunked=chunked))
    started = time.monotonic()
    with pytest.raises(TooSlowError) as info:
        _pull(pushed, tmp_path / "out")
    assert time.monotonic() - started < 4  # the whole drip would take len(body) / 50 s
    assert len(body) * 0.02 > 8
    assert "GET /v2/t/app/manifests/v1 timed out" in str(info.value)
    assert "bytes a second" in str(info.value)
    assert isinstance(info.value, requests.exceptions.Timeout)
    _assert_empty(tmp_path / "out")


def test_a_manifest_that_comes_steadily_but_too_long_hits_the_deadline(
    pushed: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(response_module, "SMALL_BODY_DEADLINE", 1.0)
    body, headers = _honest(pushed, "/v2/t/app/manifests/v1", MANIFEST_ACCEPT)
    pushed.on("GET", MANIFEST, drip(body, headers=headers, every=0.02))
    started = time.monotonic()
    with pytest.raises(TooSlowError) as info:
        _pull(pushed, tmp_path / "out")
    assert time.monotonic() - started < 4
    assert "not all" in str(info.value)


def test_cli_dripping_manifest_is_one_line_bounded_by_timeout(
    pushed: Any, oras_cli: Any, tmp_path: Path
) -> None:
    body, headers = _honest(pushed, "/v2/t/app/manifests/v1", MANIFEST_ACCEPT)
    pushed.on("GET", MANIFEST, drip(body, headers=headers, every=0.05))
    started = time.monotonic()
    run = oras_cli("pull", "--plain-http", "--timeout", "1", "-o", "out", f"{pushed.host}/t/app:v1")
    assert time.monotonic() - started < 15
    assert run.returncode == 1
    [line] = run.stderr.strip().splitlines()
    assert (
        line.startswith("Error: GET /v2/t/app/manifests/v1 timed out") and "bytes a second" in line
    )
    _assert_empty(tmp_path / "out")


def test_a_dripping_blob_fails_and_leaves_no_partial_file(
    pushed: Any, tmp_path: Path, fast_bounds: None
) -> None:
    data = b"".join(f"blob byte {i:04d}\n".encode() for i in range(40))
    (tmp_path / "slow.bin").write_bytes(data)
    oras.client.OrasClient(insecure=True).push(files=["slow.bin"], target=f"{pushed.host}/t/b:v1")
    pushed.on("GET", BLOB_GET, drip(data, every=0.02))
    out = tmp_path / "out"
    started = time.monotonic()
    with pytest.raises(TooSlowError) as info:
        oras.client.OrasClient(insecure=True).pull(target=f"{pushed.host}/t/b:v1", outdir=str(out))
    assert time.monotonic() - started < 5
    assert "/blobs/sha256:" in str(info.value)
    assert len(pushed.seen("GET", BLOB_GET)) == 1  # not resumed: the drip would go on
    _assert_empty(out)


def test_a_dripping_token_answer_fails_within_the_rate_window(
    tmp_path: Path, fast_bounds: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("a\n")
    with HostileRegistry(users={"u": "token-Pa55"}, token=True) as registry:
        body = b'{"token": "' + b"t" * 400 + b'"}'
        registry.on(
            "GET", r"^/token", drip(body, headers={"Content-Type": "application/json"}, every=0.02)
        )
        client = oras.client.OrasClient(insecure=True)
        client.set_basic_auth("u", "token-Pa55")
        started = time.monotonic()
        with pytest.raises(TooSlowError) as info:
            client.push(files=["a.txt"], target=f"{registry.host}/t/app:v1")
        assert time.monotonic() - started < 5
        assert "GET /token timed out" in str(info.value)
        assert "token-Pa55" not in str(info.value)


def _dripping_headers(every: float) -> Any:
    def action(handler: Any, match: Any) -> None:
        head = b"HTTP/1.1 200 OK\r\n" + b"".join(
            b"X-Filler-%d: %s\r\n" % (i, b"z" * 40) for i in range(50)
        )
        try:
            for i in range(len(head)):
                handler.wfile.write(head[i : i + 1])
                handler.wfile.flush()
                time.sleep(every)
        except OSError:
            pass
        handler.close_connection = True

    return action


def test_dripping_headers_fail_within_the_rate_window(
    pushed: Any, tmp_path: Path, fast_bounds: None
) -> None:
    pushed.on("GET", MANIFEST, _dripping_headers(0.02))
    started = time.monotonic()
    with pytest.raises(TooSlowError) as info:
        _pull(pushed, tmp_path / "out")
    # tried once more, as a request that timed out is
    assert time.monotonic() - started < 5
    assert "/v2/t/app/manifests/v1 timed out" in str(info.value)
    assert len(pushed.seen("GET", MANIFEST)) == retry.MAX_TIMEOUT_ATTEMPTS
    _assert_empty(tmp_path / "out")
