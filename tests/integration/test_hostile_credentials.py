"""Credentials under hostile conditions: a sentinel password never shows (output, logs, --debug,
exceptions, tracebacks) whatever fails; config files are written atomically with mode 0600;
credential helpers that hang, crash or babble are one clear error within a bounded time."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

import oras.client
import oras.credentials.helpers as helpers
import oras.credentials.store as store
from oras.credentials import CredentialStore
from oras.errors import AuthenticationError, CredentialHelperError
from tests.harness.certs import CertPaths
from tests.harness.hostile import HostileRegistry, send
from tests.harness.hostile_credentials import HELPERS, script_helper
from tests.harness.hostile_tokens import TlsHostileRegistry
from tests.harness.impostors import SilentServer
from tests.harness.leaks import SecretWatch

BOUND = 10.0
USER = "sentinel-user"


@pytest.fixture
def watch() -> SecretWatch:
    return SecretWatch(username=USER)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("a\n")
    return tmp_path


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _one_error_line(result: Any, *words: str) -> str:
    assert result.returncode != 0, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    if "--debug" not in result.args:
        assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


# -- the sentinel never shows, whatever fails ---------------------------------------------------


def _wrong_password_basic(watch: SecretWatch) -> Iterator[tuple[str, str]]:
    with HostileRegistry(users={USER: "the-right-one"}) as reg:
        yield reg.host, "401"


def _wrong_password_token(watch: SecretWatch) -> Iterator[tuple[str, str]]:
    with HostileRegistry(users={USER: "the-right-one"}, token=True) as reg:
        yield reg.host, "refused user"


def _token_server_fails(watch: SecretWatch) -> Iterator[tuple[str, str]]:
    with HostileRegistry(users={USER: watch.password}, token=True) as reg:
        # the token server echoes the request it got (the password among it) in its error page
        reg.on(
            "*",
            r"^/token",
            lambda h, m: send(h, 502, str(h.headers).encode() + b"\n" + h.path.encode()),
        )
        yield reg.host, "HTTP 502"


def _registry_echoes_credentials(watch: SecretWatch) -> Iterator[tuple[str, str]]:
    with HostileRegistry(users={USER: watch.password}) as reg:
        # an error body (and a header) quoting the Authorization the client sent
        def echo(h: Any, m: Any) -> None:
            said = h.headers.get("Authorization", "")
            body = json.dumps({"errors": [{"code": "DENIED", "message": f"bad {said}"}]})
            send(h, 403, body.encode(), {"X-Echo": said, "Content-Type": "application/json"})

        reg.on("*", r"^/v2/", echo)
        yield reg.host, "403"


def _registry_down(watch: SecretWatch) -> Iterator[tuple[str, str]]:
    with HostileRegistry() as reg:
        host = reg.host
    yield host, "Error"


def _tls_untrusted(watch: SecretWatch) -> Iterator[tuple[str, str]]:
    yield "", "certificate"  # filled in by the test (needs the certs fixture)


def _silent(watch: SecretWatch) -> Iterator[tuple[str, str]]:
    server = SilentServer().start()
    try:
        yield server.host, "timed out"
    finally:
        server.stop()


FAILURES: dict[str, Callable[[SecretWatch], Iterator[tuple[str, str]]]] = {
    "wrong-password-basic": _wrong_password_basic,
    "wrong-password-token": _wrong_password_token,
    "token-server-fails-echoing": _token_server_fails,
    "registry-echoes-credentials": _registry_echoes_credentials,
    "registry-down": _registry_down,
    "tls-untrusted": _tls_untrusted,
    "never-answers": _silent,
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_the_password_never_shows_whatever_fails(
    case: str, watch: SecretWatch, work: Path, certs: CertPaths, oras_cli: Any
) -> None:
    tls: Any = None
    scenario = FAILURES[case](watch)
    host, words = next(scenario)
    try:
        plain = ["--plain-http"]
        if case == "tls-untrusted":
            tls = TlsHostileRegistry(certs, users={USER: watch.password}).start()
            host, plain = tls.host, ["--no-plain-http"]
        client = oras.client.OrasClient(insecure=tls is None, timeout=(1, 1))
        client.set_basic_auth(USER, watch.password)
        calls = [lambda: client.pull(target=f"{host}/repo/x:v1", outdir=str(work / "out"))]
        if case != "never-answers":  # its timeouts are tested in test_timeouts.py
            calls.append(
                lambda: client.login(
                    hostname=host, username=USER, password=watch.password, insecure=tls is None
                )
            )
        start = time.monotonic()
        with watch.logs():
            for call in calls:
                try:
                    call()
                except Exception as e:  # any failure: its text is what we check
                    watch.exception(e)
                else:
                    raise AssertionError(f"{case}: the call succeeded")
        assert time.monotonic() - start < 2 * BOUND
        secret = ["-u", USER, "-p", watch.password, "--timeout", "1", *plain]
        runs = [oras_cli("pull", "--debug", *secret, "-o", "out", f"{host}/repo/x:v1")]
        if case != "never-answers":
            runs.append(oras_cli("login", "--debug", *secret, host))
        for run in runs:
            watch.run(run)
            _one_error_line(run)
        assert words in runs[0].stderr
        assert not (work / "out").exists() or not any((work / "out").iterdir())
        watch.assert_clean()
    finally:
        scenario.close()
        if tls is not None:
            tls.stop()


def test_an_upload_refusal_quoting_the_credentials_does_not_show_them(
    watch: SecretWatch, work: Path, oras_cli: Any
) -> None:
    """The pull and login above are refused before any credential is sent (no challenge);
    an upload is refused after the client authenticated, so the quoted Authorization holds
    the Basic credentials: they must not reach the error message."""
    with HostileRegistry(users={USER: watch.password}) as reg:

        def echo(h: Any, m: Any) -> None:
            said = h.headers.get("Authorization", "")
            body = json.dumps({"errors": [{"code": "DENIED", "message": f"bad {said}"}]})
            send(h, 403, body.encode(), {"Content-Type": "application/json"})

        reg.on("PUT", r"/blobs/uploads/.", echo)
        client = oras.client.OrasClient(insecure=True, timeout=(5, 5))
        client.set_basic_auth(USER, watch.password)
        with watch.logs():
            with pytest.raises(ValueError) as info:
                client.push(target=f"{reg.host}/repo/x:v1", files=["a.txt"])
            watch.exception(info.value)
        assert "403" in str(info.value) and "***" in str(info.value), str(info.value)
        run = oras_cli(
            "push",
            "--debug",
            "-u",
            USER,
            "-p",
            watch.password,
            "--plain-http",
            "--timeout",
            "5",
            f"{reg.host}/repo/x:v1",
            "a.txt",
        )
        watch.run(run)
        _one_error_line(run, "403")
        assert any(r.headers.get("authorization") for r in reg.seen("PUT"))
    watch.assert_clean()


# -- config files ---------------------------------------------------------------------------


@pytest.fixture
def basic_reg(watch: SecretWatch) -> Iterator[HostileRegistry]:
    with HostileRegistry(users={USER: watch.password}) as reg:
        yield reg


def _config_file(docker_config_dir: Path) -> Path:
    path = docker_config_dir / "config.json"
    path.write_text(json.dumps({"auths": {}, "psFormat": "table {{.ID}}"}))
    path.chmod(0o644)
    return path


def _assert_private_and_alone(path: Path, host: str) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)
    data = json.loads(path.read_text())
    assert host in data["auths"] and data["psFormat"] == "table {{.ID}}"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left


def test_library_login_writes_the_config_atomically_with_mode_0600(
    basic_reg: HostileRegistry,
    watch: SecretWatch,
    docker_config_dir: Path,
    umask_022: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = _config_file(docker_config_dir)
    synced: list[int] = []
    fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), fsync(fd))[1])
    replaced: list[tuple[str, str]] = []
    replace = os.replace
    monkeypatch.setattr(
        os, "replace", lambda a, b: (replaced.append((str(a), str(b))), replace(a, b))[1]
    )
    client = oras.client.OrasClient(insecure=True)
    client.login(hostname=basic_reg.host, username=USER, password=watch.password)
    _assert_private_and_alone(path, basic_reg.host)
    [(tmp, target)] = replaced
    assert Path(tmp).parent == path.parent and target == str(path)
    assert synced, "the new config was not flushed to disk before the rename"


def test_cli_login_writes_the_config_with_mode_0600_over_a_0644_file(
    basic_reg: HostileRegistry,
    watch: SecretWatch,
    docker_config_dir: Path,
    oras_cli: Any,
    umask_022: None,
) -> None:
    path = _config_file(docker_config_dir)  # the CLI inherits the umask of 022
    run = oras_cli("login", "-u", USER, "--password-stdin", basic_reg.host, input=watch.password)
    assert run.returncode == 0, run.stderr
    watch.run(run)
    _assert_private_and_alone(path, basic_reg.host)
    logout = watch.run(oras_cli("logout", basic_reg.host))
    assert logout.returncode == 0, logout.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    watch.assert_clean()


def test_a_symlinked_config_is_written_through_to_its_target(
    basic_reg: HostileRegistry, watch: SecretWatch, docker_config_dir: Path, tmp_path: Path
) -> None:
    """As docker does: a dotfiles-managed config.json stays a link; its target is updated."""
    target = tmp_path / "dotfiles" / "docker.json"
    target.parent.mkdir()
    target.write_text(json.dumps({"auths": {}, "psFormat": "table {{.ID}}"}))
    link = docker_config_dir / "config.json"
    link.symlink_to(target)
    client = oras.client.OrasClient(insecure=True)
    client.login(hostname=basic_reg.host, username=USER, password=watch.password)
    assert link.is_symlink()
    _assert_private_and_alone(target, basic_reg.host)


def test_a_failed_config_write_leaves_the_old_file_and_no_temp_file(
    docker_config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config_file(docker_config_dir)
    before = path.read_text()

    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        store.write_config(path, {"auths": {"x": {"auth": "eDp5"}}})
    assert path.read_text() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.json"]


# -- credential helpers ------------------------------------------------------------------------

#: helper -> words of the one-line error
HELPER_ERRORS = {
    "hang": "did not answer within 1 s",
    "crash-free-text": "get failed: panic: cannot decrypt entry ***: bad padding",
    "crash-json": "get failed: (its output is not shown: it may hold a credential)",
    "not-json": "get returned invalid JSON",
    "json-list": "get returned invalid JSON",
    "not-utf8": "get returned invalid JSON",
    "secret-not-string": "Username or Secret that is not a string",
    "leaves-a-child": "get returned invalid JSON",
    "babble": f"wrote more than {64 * 1024} bytes",
    "babble-stderr": f"wrote more than {64 * 1024} bytes",
}


@pytest.fixture
def helper_env(
    work: Path, docker_config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str, str], Path]:
    """`use(name, secret)`: install helper `name` of HELPERS and configure it as credsStore."""
    monkeypatch.setattr(helpers, "HELPER_TIMEOUT", 1)
    monkeypatch.setattr(helpers, "MAX_HELPER_OUTPUT", 64 * 1024)

    def use(name: str, secret: str) -> Path:
        bindir = script_helper(work / "helpers", name, HELPERS[name], secret=secret)
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
        (docker_config_dir / "config.json").write_text(json.dumps({"credsStore": name}))
        return bindir

    return use


@pytest.mark.parametrize("name", list(HELPER_ERRORS))
def test_a_hostile_helper_is_one_clear_error_in_bounded_time(
    name: str, helper_env: Callable[[str, str], Path], watch: SecretWatch
) -> None:
    helper_env(name, watch.password)
    start = time.monotonic()
    with watch.logs():
        with pytest.raises(CredentialHelperError) as info:
            CredentialStore().get("registry.example:5000")
        watch.exception(info.value)
    assert time.monotonic() - start < 5.0
    message = str(info.value)
    assert HELPER_ERRORS[name] in message and "\n" not in message, message
    assert f"docker-credential-{name}" in message
    watch.assert_clean()


def test_a_helper_without_a_secret_is_no_credential(
    helper_env: Callable[[str, str], Path], basic_reg: HostileRegistry, work: Path
) -> None:
    helper_env("missing-fields", "")
    assert not CredentialStore().get(basic_reg.host)
    client = oras.client.OrasClient(insecure=True)
    with pytest.raises(AuthenticationError):
        client.pull(target=f"{basic_reg.host}/repo/x:v1", outdir=str(work / "out"))


def test_a_store_that_fails_echoing_its_input_does_not_echo_the_password(
    helper_env: Callable[[str, str], Path],
    basic_reg: HostileRegistry,
    watch: SecretWatch,
    oras_cli: Any,
    docker_config_dir: Path,
) -> None:
    helper_env("store-echo", "")
    client = oras.client.OrasClient(insecure=True)
    with watch.logs(), pytest.raises(CredentialHelperError) as info:
        client.login(hostname=basic_reg.host, username=USER, password=watch.password)
    watch.exception(info.value)
    assert "store failed: keyring refused ***" in str(info.value)
    run = watch.run(
        oras_cli(
            "login", "--debug", "-u", USER, "--password-stdin", basic_reg.host, input=watch.password
        )
    )
    _one_error_line(run, "docker-credential-store-echo store failed")
    watch.assert_clean()


#: Runs the CLI with the helper limits the tests use (a subprocess cannot be monkeypatched).
_CLI_WITH_LOW_LIMITS = (
    "import sys, oras.credentials.helpers as h; h.HELPER_TIMEOUT = 1; "
    f"h.MAX_HELPER_OUTPUT = {64 * 1024}; "
    "from oras.cli.main import main; sys.exit(main())"
)


@pytest.mark.parametrize("name", ["hang", "crash-free-text", "babble"])
def test_cli_hostile_helper_is_one_error_line(
    name: str,
    helper_env: Callable[[str, str], Path],
    basic_reg: HostileRegistry,
    watch: SecretWatch,
    work: Path,
) -> None:
    helper_env(name, watch.password)
    start = time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            _CLI_WITH_LOW_LIMITS,
            "pull",
            "-o",
            "out",
            f"{basic_reg.host}/repo/x:v1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        check=False,
    )
    assert time.monotonic() - start < 15.0  # an interpreter start-up and the 1 s limit
    watch.run(run)
    assert run.returncode == 1
    _one_error_line(run, HELPER_ERRORS[name], f"docker-credential-{name}")
    watch.assert_clean()
