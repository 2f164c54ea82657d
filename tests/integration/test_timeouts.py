"""Servers that accept and never answer, and downloads that stall: every wait is bounded by the
client's timeouts (set short here), retries included, and ends in one typed error."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

import oras.client
from oras.errors import RegistryTimeoutError
from oras.remote.retry import MAX_TIMEOUT_ATTEMPTS
from tests.conftest import CliRunner
from tests.harness.impostors import SilentServer
from tests.harness.proxy import FaultProxy
from tests.harness.registry import RegistryServer

#: The timeout the tests set (seconds) and the most any of them may take with it.
SHORT = 1.0
BOUND = 15.0


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


def elapsed_since(start: float) -> float:
    return time.monotonic() - start


# -- library ------------------------------------------------------------------------------------


def test_default_timeouts_are_bounded() -> None:
    client = oras.client.OrasClient()
    connect, read = client.timeout
    assert 0 < connect <= 30 and 0 < read <= 60
    assert client.auth.timeout == client.timeout


@pytest.mark.parametrize("operation", ["get_tags", "pull", "push", "login"])
def test_a_server_that_never_answers_times_out_after_two_attempts(
    silent: SilentServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hello.txt").write_text("hello\n")
    client = oras.client.OrasClient(hostname=silent.host, insecure=True, timeout=SHORT)
    target = f"{silent.host}/test/silent:v1"
    calls: dict[str, Any] = {
        "get_tags": lambda: client.get_tags(target),
        "pull": lambda: client.pull(target=target, outdir=str(tmp_path / "out")),
        "push": lambda: client.push(files=["hello.txt"], target=target),
        "login": lambda: client.login(username="u", password="p", hostname=silent.host),
    }
    start = time.monotonic()
    with pytest.raises(RegistryTimeoutError) as caught:
        calls[operation]()
    took = elapsed_since(start)
    assert isinstance(caught.value, requests.exceptions.Timeout)  # what oras-py raised
    assert "timed out" in str(caught.value) and "1 s" in str(caught.value)
    assert caught.value.hint and "--timeout" in caught.value.hint
    # One attempt for the login check, two for the others (push asks about its layer and its
    # config at once, two attempts each); never five times the timeout.
    attempts = 1 if operation == "login" else MAX_TIMEOUT_ATTEMPTS
    requests_at_once = 2 if operation == "push" else 1
    assert attempts <= silent.connections <= attempts * requests_at_once
    assert attempts * SHORT <= took < attempts * SHORT + 5


def test_a_stalled_token_server_times_out(
    token_registry: RegistryServer, token_server: Any, unique_repo: str
) -> None:
    def slow_policy(username: Any, scope: Any) -> list[str]:
        time.sleep(SHORT * 3)
        return ["pull", "push"]

    token_server.policy = slow_policy
    client = oras.client.OrasClient(hostname=token_registry.host, insecure=True, timeout=SHORT)
    client.set_basic_auth("myuser", "mypass")
    start = time.monotonic()
    with pytest.raises(RegistryTimeoutError, match="token request"):
        client.get_tags(f"{token_registry.host}/{unique_repo}")
    assert elapsed_since(start) < BOUND


def test_a_download_that_stalls_midway_fails_without_a_partial_file(
    fault_proxy: FaultProxy, unique_repo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blob.bin").write_bytes(os.urandom(512 * 1024))
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    client = oras.client.OrasClient(insecure=True, timeout=SHORT)
    client.push(files=["blob.bin"], target=target)

    fault_proxy.stall_response("GET", r"/blobs/sha256:", after_bytes=100_000, seconds=30)
    out = tmp_path / "out"
    start = time.monotonic()
    with pytest.raises(RegistryTimeoutError, match="stopped sending"):
        client.pull(target=target, outdir=str(out))
    assert elapsed_since(start) < BOUND
    assert not out.exists() or list(out.iterdir()) == []
    # Not resumed: a stall costs one timeout, it does not start a new wait.
    assert len(fault_proxy.log("GET", r"/blobs/sha256:")) == 1


def test_a_slow_download_that_keeps_progressing_is_not_cut(
    fault_proxy: FaultProxy, unique_repo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timeout bounds each wait, not the whole operation: every answer here comes after
    most of the timeout, the pull takes several times the timeout, and it succeeds."""
    monkeypatch.chdir(tmp_path)
    data = os.urandom(64 * 1024)
    (tmp_path / "blob.bin").write_bytes(data)
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    client = oras.client.OrasClient(insecure=True, timeout=SHORT)
    client.push(files=["blob.bin"], target=target)
    fault_proxy.delay("GET", r"/v2/", seconds=SHORT * 0.6)
    [path] = client.pull(target=target, outdir=str(tmp_path / "out"))
    assert Path(path).read_bytes() == data


# -- command line -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["pull", "push", "login"])
def test_cli_timeout_flag_bounds_a_server_that_never_answers(
    oras_cli: CliRunner, silent: SilentServer, tmp_path: Path, command: str
) -> None:
    (tmp_path / "hello.txt").write_text("hello\n")
    target = f"{silent.host}/test/silent:v1"
    args = {
        "pull": ["pull", target],
        "push": ["push", target, "hello.txt"],
        "login": ["login", "-u", "u", "--password-stdin", silent.host],
    }[command]
    start = time.monotonic()
    result = oras_cli(*args, "--timeout", str(SHORT), input="p\n")
    took = elapsed_since(start)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("Error: ") and "timed out" in line and "--timeout" in line, line
    assert took < BOUND, took


@pytest.mark.parametrize("value", ["0", "-3", "soon", "inf"])
def test_cli_timeout_must_be_positive_seconds(
    oras_cli: CliRunner, registry: RegistryServer, value: str
) -> None:
    result = oras_cli("pull", f"{registry.host}/test/x:v1", "--timeout", value)
    assert result.returncode == 2
    assert "--timeout" in result.stderr and "Traceback" not in result.stderr


def test_an_upload_the_registry_stops_reading_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry that answers an upload early (403) and then neither reads the rest of the
    body nor closes: `requests` finishes sending a body before it reads the answer, so only
    the timeout on each write (the connect timeout) ends the wait, on every attempt."""
    import threading

    from tests.harness.hostile import HostileRegistry

    release = threading.Event()

    def answer_and_stop_reading(handler: Any, match: Any) -> None:
        handler.send_response(403)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        handler.wfile.flush()
        release.wait(4 * BOUND)  # holds the connection open, reading nothing
        handler.close_connection = True

    monkeypatch.chdir(tmp_path)
    blob = tmp_path / "big.bin"
    blob.write_bytes(os.urandom(32 * 1024 * 1024))  # more than the socket buffers hold
    with HostileRegistry() as reg:
        reg.on("PUT", r"/blobs/uploads/.", answer_and_stop_reading)
        client = oras.client.OrasClient(insecure=True, timeout=SHORT)
        start = time.monotonic()
        try:
            with pytest.raises(ValueError, match="403"):
                client.push(target=f"{reg.host}/repo/x:v1", files=["big.bin"])
            assert elapsed_since(start) < BOUND
        finally:
            release.set()
