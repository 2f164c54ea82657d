"""Hostile token endpoints: huge or garbage answers, no token, odd lifetimes, foreign or plain
HTTP realms, and a registry that refuses every fresh token.

Every case runs against `HostileRegistry(users=..., token=True)` (its own `/token` realm made to
misbehave) through the library and, where the case applies to it, the CLI. Each asserts the
typed one-line error, a time bound, how many token requests were made (never a loop), that the
output directory holds nothing, and that the sentinel password shows nowhere.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

import oras.auth.token
import oras.client
from oras.errors import AuthenticationError, ProtocolError
from tests.harness.certs import CertPaths
from tests.harness.hostile import HostileRegistry, send, send_chunked
from tests.harness.hostile_tokens import (
    TlsHostileRegistry,
    always_401,
    token_body,
    token_requests,
)
from tests.harness.leaks import SecretWatch
from tests.harness.proxy import FaultProxy

#: Generous wall-time bound of one failing call (the failures here are immediate).
BOUND = 10.0
USER = "sentinel-user"
LIMIT = oras.auth.token.MAX_TOKEN_RESPONSE


def _endless() -> Iterator[bytes]:
    return (b"x" * 65536 for _ in itertools.count())


Action = Callable[[Any, Any], None]

#: name -> (the /token endpoint's answer, the error type, words of its message)
BAD_ANSWERS: dict[str, tuple[Action, type, str]] = {
    "huge-honest-length": (
        lambda h, m: send(h, 200, b'{"token":"' + b"x" * LIMIT + b'"}'),
        ProtocolError,
        f"larger than {LIMIT} bytes",
    ),
    "huge-lying-length": (
        lambda h, m: send(h, 200, _endless(), length=100),
        ProtocolError,
        "not valid JSON",
    ),
    "huge-no-length": (
        lambda h, m: send(h, 200, _endless()),
        ProtocolError,
        f"larger than {LIMIT} bytes",
    ),
    "endless-chunked": (
        lambda h, m: send_chunked(h, 200, _endless()),
        ProtocolError,
        f"larger than {LIMIT} bytes",
    ),
    "not-json": (lambda h, m: send(h, 200, b"<html>login</html>"), ProtocolError, "not valid JSON"),
    "json-not-object": (lambda h, m: send(h, 200, b'["t"]'), ProtocolError, "not a JSON object"),
    "token-not-string": (lambda h, m: send(h, 200, b'{"token": 42}'), ProtocolError, "no token"),
    "token-empty": (lambda h, m: send(h, 200, b'{"token": ""}'), ProtocolError, "no token"),
    "empty-body": (lambda h, m: send(h, 200, b""), ProtocolError, "not valid JSON"),
    "no-token": (lambda h, m: send(h, 200, b'{"expires_in": 60}'), ProtocolError, "no token"),
    "token-with-newline": (
        lambda h, m: send(h, 200, b'{"token": "a\\r\\nX-Injected: 1"}'),
        ProtocolError,
        "no HTTP header can carry",
    ),
    "server-error": (lambda h, m: send(h, 500, b"oops"), AuthenticationError, "answered HTTP 500"),
}


@pytest.fixture
def watch() -> SecretWatch:
    return SecretWatch(username=USER)


@pytest.fixture
def reg(watch: SecretWatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A token registry holding `repo/x:v1`, pushed honestly before any misbehaviour."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("a\n")
    with HostileRegistry(users={USER: watch.password}, token=True) as registry:
        client = oras.client.OrasClient(insecure=True)
        client.login(username=USER, password=watch.password, hostname=registry.host)
        client.push(target=f"{registry.host}/repo/x:v1", files=["a.txt"])
        registry.clear()
        yield registry


def _client(reg: HostileRegistry, password: str) -> oras.client.OrasClient:
    client = oras.client.OrasClient(insecure=True)
    client.set_basic_auth(USER, password)
    return client


def _fail(watch: SecretWatch, call: Callable[[], Any]) -> tuple[BaseException, float]:
    """Run `call` with the `oras` logger at DEBUG, expecting it to raise."""
    start = time.monotonic()
    with watch.logs():
        try:
            call()
        except Exception as e:  # the test checks the type
            watch.exception(e)
            return e, time.monotonic() - start
    raise AssertionError("the call succeeded")


def _one_error_line(result: Any, *words: str) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    if "--debug" not in result.args:  # --debug adds the traceback on purpose
        assert "Traceback" not in result.stderr
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def _nothing_in(directory: Path) -> None:
    assert not directory.exists() or not any(directory.rglob("*")), list(directory.rglob("*"))


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
def test_bad_token_answers_are_one_typed_error_library(
    case: str, reg: HostileRegistry, watch: SecretWatch, tmp_path: Path
) -> None:
    action, error, words = BAD_ANSWERS[case]
    reg.on("*", r"^/token", action)
    out = tmp_path / "out"
    exc, took = _fail(
        watch,
        lambda: _client(reg, watch.password).pull(target=reg.ref("repo/x", "v1"), outdir=str(out)),
    )
    assert isinstance(exc, error) and words in str(exc), repr(exc)
    assert "\n" not in str(exc)
    assert took < BOUND
    assert len(token_requests(reg)) == 1  # not retried: another try gets the same answer
    _nothing_in(out)
    watch.assert_clean()


#: case -> the command run against it (one interpreter start-up per case keeps the set fast)
CLI_CASES = {
    "huge-honest-length": ("pull", "--debug", "-o", "out", "repo/x:v1"),
    "endless-chunked": ("repo", "tags", "repo/x"),
    "not-json": ("push", "repo/y:v1", "a.txt"),
    "no-token": ("pull", "-o", "out", "repo/x:v1"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_bad_token_answers_are_one_error_line_cli(
    case: str, reg: HostileRegistry, watch: SecretWatch, oras_cli: Any, tmp_path: Path
) -> None:
    action, _, words = BAD_ANSWERS[case]
    reg.on("*", r"^/token", action)
    command = [a if "/" not in a else f"{reg.host}/{a}" for a in CLI_CASES[case]]
    start = time.monotonic()
    run = watch.run(oras_cli(*command, "-u", USER, "-p", watch.password))
    assert time.monotonic() - start < BOUND + 10  # an interpreter start-up included
    _one_error_line(run, words)
    assert len(token_requests(reg)) <= 2  # the GET and, at most, one OAuth2 POST
    _nothing_in(tmp_path / "out")
    watch.assert_clean()


@pytest.mark.parametrize("expires_in", [0, -5, -(10**30), "soon", None])
def test_odd_token_lifetimes_get_the_default_lifetime_and_no_token_loop(
    expires_in: Any, reg: HostileRegistry, watch: SecretWatch, tmp_path: Path
) -> None:
    """`expires_in` of 0, negative or not a number is taken as the default lifetime
    (`oras.auth.token.DEFAULT_EXPIRES_IN`, 60 s, the spec's default), as Docker's distribution
    client does; a token is therefore reused for the whole push and pull, not fetched per request."""

    def edit(body: dict) -> dict:
        body["expires_in"] = expires_in
        return body

    token_body(reg, edit)
    client = _client(reg, watch.password)
    start = time.monotonic()
    with watch.logs():
        (tmp_path / "b.txt").write_text("b\n")
        client.push(target=reg.ref("repo/z", "v1"), files=["a.txt", "b.txt"])
        paths = client.pull(target=reg.ref("repo/z", "v1"), outdir=str(tmp_path / "out"))
    assert time.monotonic() - start < BOUND
    assert sorted(Path(p).name for p in paths) == ["a.txt", "b.txt"]
    requests_made = len(reg.seen("*", r"^/v2/."))
    assert requests_made > 8
    # one token for the push's scopes, one for the pull's: never one per request
    assert len(token_requests(reg)) <= 3, [r.query for r in token_requests(reg)]
    watch.text("debug log", "")  # the log records were collected by watch.logs()
    watch.assert_clean()


def test_a_registry_that_refuses_every_fresh_token_is_one_renewal_then_unauthorized(
    reg: HostileRegistry, watch: SecretWatch, tmp_path: Path, oras_cli: Any
) -> None:
    always_401(reg)
    out = tmp_path / "out"
    exc, took = _fail(
        watch,
        lambda: _client(reg, watch.password).pull(target=reg.ref("repo/x", "v1"), outdir=str(out)),
    )
    assert isinstance(exc, AuthenticationError) and "HTTP 401" in str(exc), repr(exc)
    assert took < BOUND
    # the first token, then one renewal after the 401 that refused it: no loop
    assert len(token_requests(reg)) <= 2, len(token_requests(reg))
    assert len(reg.seen("*", r"^/v2/.")) <= 3
    _nothing_in(out)

    reg.requests.clear()
    run = watch.run(
        oras_cli(
            "pull",
            "--debug",
            "-u",
            USER,
            "-p",
            watch.password,
            "-o",
            "out",
            reg.ref("repo/x", "v1"),
        )
    )
    _one_error_line(run, "401")
    assert len(token_requests(reg)) <= 2
    reg.requests.clear()
    run = watch.run(
        oras_cli("push", "-u", USER, "-p", watch.password, reg.ref("repo/x", "v2"), "a.txt")
    )
    _one_error_line(run, "401")
    assert len(token_requests(reg)) <= 3  # the push asks for pull,push up front, then one renewal
    _nothing_in(out)
    watch.assert_clean()


def test_a_realm_on_another_host_gets_the_credentials_the_registry_only_tokens(
    reg: HostileRegistry, watch: SecretWatch, tmp_path: Path, oras_cli: Any
) -> None:
    """The realm is the registry's choice (Docker, oras-go): credentials go to it by design,
    and only there; the registry itself sees bearer tokens."""
    realm = FaultProxy(reg.url).start()  # another origin (port) whose /token is the registry's
    try:
        assert reg.auth is not None
        reg.auth.realm = f"{realm.url}/token"  # type: ignore[attr-defined]
        paths = _client(reg, watch.password).pull(
            target=reg.ref("repo/x", "v1"), outdir=str(tmp_path / "out")
        )
        assert [Path(p).name for p in paths] == ["a.txt"]
        run = oras_cli(
            "pull", "-u", USER, "-p", watch.password, "-o", "out2", reg.ref("repo/x", "v1")
        )
        assert run.returncode == 0, run.stderr
        to_realm = [r for r in realm.log() if r.path.startswith("/token")]
        assert to_realm and all(
            (r.header("Authorization") or "").startswith("Basic ") for r in to_realm
        )
        direct = [r for r in reg.requests if not r.path.startswith("/token")]
        assert direct
        assert all(not r.headers.get("authorization", "").startswith("Basic") for r in direct)
        assert all(r.path.startswith("/token") for r in realm.log())
    finally:
        realm.stop()


def test_a_plain_http_realm_of_an_https_registry_is_refused(
    certs: CertPaths,
    watch: SecretWatch,
    tmp_path: Path,
    oras_cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stricter than oras-go (which sends them): a registry reached over HTTPS whose realm is
    plain http:// would have the password travel in clear text, so no token request is made."""
    monkeypatch.chdir(tmp_path)
    with (
        TlsHostileRegistry(certs, users={USER: watch.password}, token=True) as registry,
        HostileRegistry() as plain,
    ):
        assert registry.auth is not None
        registry.auth.realm = f"{plain.url}/token"  # type: ignore[attr-defined]
        client = oras.client.OrasClient(tls_verify=registry.ca_path)
        client.set_basic_auth(USER, watch.password)
        exc, took = _fail(
            watch,
            lambda: client.pull(target=f"{registry.host}/repo/x:v1", outdir=str(tmp_path / "out")),
        )
        assert isinstance(exc, ProtocolError) and "plain HTTP" in str(exc), repr(exc)
        assert took < BOUND
        run = watch.run(
            oras_cli(
                "pull",
                "--no-plain-http",
                "--ca-file",
                registry.ca_path,
                "-u",
                USER,
                "-p",
                watch.password,
                "-o",
                "out",
                f"{registry.host}/repo/x:v1",
            )
        )
        _one_error_line(run, "plain HTTP")
        assert plain.requests == []  # the plain realm never heard from us
        assert not any(
            "authorization" in r.headers and r.headers["authorization"].startswith("Basic")
            for r in registry.requests
        )
        _nothing_in(tmp_path / "out")
    watch.assert_clean()
