"""Credentials from helpers and files, through login, push and logout, against real registries."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

import oras.client
from oras.auth import AuthenticationException
from oras.credentials import Credential
from tests.harness.credhelper import FakeHelper
from tests.harness.registry import RegistryServer

PASSWORD = "mypass"


@pytest.fixture
def helper(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> FakeHelper:
    fake = FakeHelper(tmp_path_factory.mktemp("helper"))
    monkeypatch.setenv("PATH", f"{fake.bindir}{os.pathsep}{os.environ['PATH']}")
    return fake


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("a\n")
    return tmp_path


def _config(docker_config_dir: Path, data: dict | None = None) -> dict[str, Any]:
    path = docker_config_dir / "config.json"
    if data is not None:
        path.write_text(json.dumps(data))
    return json.loads(path.read_text()) if path.exists() else {}


def _auth(user: str, password: str) -> dict[str, str]:
    return {"auth": Credential(user, password).basic or ""}


def _error_lines(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


def test_login_push_logout_through_the_configured_helper(
    oras_cli: Any,
    basic_registry: RegistryServer,
    helper: FakeHelper,
    docker_config_dir: Path,
    work: Path,
    unique_repo: str,
) -> None:
    host = basic_registry.host
    _config(docker_config_dir, {"credsStore": "test", "HttpHeaders": {"X-Keep": "1"}})
    wrong = oras_cli("login", "-u", "myuser", "--password-stdin", host, input="nope")
    assert wrong.returncode == 1
    assert _error_lines(wrong) == [
        f"Error: login to {host} failed: invalid username or password "
        "(check the username or password)"
    ]
    assert helper.calls("store") == []  # verified before saving
    login = oras_cli("login", "-u", "myuser", "--password-stdin", host, input=PASSWORD)
    assert login.returncode == 0, login.stderr
    assert helper.entries() == {host: {"Username": "myuser", "Secret": PASSWORD}}
    config = _config(docker_config_dir)
    assert config == {"credsStore": "test", "HttpHeaders": {"X-Keep": "1"}, "auths": {host: {}}}
    pushed = oras_cli("push", f"{host}/{unique_repo}:v1", "a.txt")
    assert pushed.returncode == 0, pushed.stderr
    asked = [c["input"] for c in helper.calls("get")]
    assert host in asked and len(asked) == len(set(asked))  # one helper run per server
    logout = oras_cli("logout", host)
    assert logout.returncode == 0 and f"logged out of {host}" in logout.stderr
    assert helper.entries() == {} and [c["input"] for c in helper.calls("erase")] == [host]
    assert _config(docker_config_dir)["auths"] == {}
    again = oras_cli("push", f"{host}/{unique_repo}:v2", "a.txt")
    assert again.returncode == 1 and "401" in again.stderr


def test_cred_helpers_for_the_host_win_over_auths(
    basic_registry: RegistryServer,
    helper: FakeHelper,
    docker_config_dir: Path,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    unique_repo: str,
) -> None:
    host = basic_registry.host
    _config(
        docker_config_dir,
        {"credHelpers": {host: "test"}, "auths": {host: _auth("myuser", "stale")}},
    )
    helper.put(host, "myuser", PASSWORD)
    monkeypatch.chdir(work)
    client = oras.client.OrasClient(insecure=True)
    assert client.push(files=["a.txt"], target=f"{host}/{unique_repo}:v1").status_code == 201
    # the library's logout erases through the helper too, and keeps its signature
    client.logout(host)
    assert helper.entries() == {}
    assert host not in _config(docker_config_dir)["auths"]


def test_a_missing_or_failing_helper_is_one_clear_error(
    oras_cli: Any,
    basic_registry: RegistryServer,
    registry: RegistryServer,
    helper: FakeHelper,
    docker_config_dir: Path,
    work: Path,
) -> None:
    config_path = docker_config_dir / "config.json"
    _config(docker_config_dir, {"credsStore": "missing"})
    missing = oras_cli("push", f"{basic_registry.host}/t/helper:v1", "a.txt")
    assert missing.returncode == 1
    assert _error_lines(missing) == [
        "Error: credential helper docker-credential-missing not found in PATH "
        f"(configured as credsStore in {config_path}) "
        "(install docker-credential-missing or remove it from your docker config)"
    ]
    assert "Traceback" not in missing.stderr
    # a registry that asks for no credentials never needs the helper
    plain = oras_cli("push", "--plain-http", f"{registry.host}/t/helper:v1", "a.txt")
    assert plain.returncode == 0, plain.stderr

    _config(docker_config_dir, {"credHelpers": {basic_registry.host: "test"}})
    helper.fail("keychain is locked")
    failing = oras_cli("push", f"{basic_registry.host}/t/helper:v1", "a.txt")
    assert failing.returncode == 1
    assert _error_lines(failing) == [
        "Error: credential helper docker-credential-test get failed: keychain is locked "
        f'(configured as credHelpers["{basic_registry.host}"] in {config_path})'
    ]
    logout = oras_cli("logout", basic_registry.host)
    assert logout.returncode == 1
    assert "docker-credential-test erase failed: keychain is locked" in logout.stderr


def test_podman_auth_file_namespaces(
    basic_registry: RegistryServer,
    isolated_env: Path,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    unique_repo: str,
) -> None:
    host = basic_registry.host
    auth_file = isolated_env / "podman-auth.json"
    auth_file.write_text(
        json.dumps(
            {
                "auths": {
                    host: _auth("myuser", "wrong"),
                    f"{host}/team": _auth("myuser", PASSWORD),
                    f"{host}/team/locked": _auth("myuser", "wrong-again"),
                }
            }
        )
    )
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth_file))
    monkeypatch.chdir(work)
    name = unique_repo.split("/")[-1]
    client = oras.client.OrasClient(insecure=True)
    assert client.push(files=["a.txt"], target=f"{host}/team/{name}:v1").status_code == 201
    for repo in (f"other/{name}", f"team/locked/{name}"):
        with pytest.raises(AuthenticationException):
            client.push(files=["a.txt"], target=f"{host}/{repo}:v1")


def test_registry_config_is_repeatable_and_the_first_is_written(
    oras_cli: Any,
    basic_registry: RegistryServer,
    docker_config_dir: Path,
    work: Path,
    unique_repo: str,
) -> None:
    host = basic_registry.host
    first, second = work / "first.json", work / "second.json"
    second.write_text(json.dumps({"auths": {host: _auth("myuser", PASSWORD)}}))
    pushed = oras_cli(
        "push", "-c", first, "--registry-config", second, f"{host}/{unique_repo}:v1", "a.txt"
    )
    assert pushed.returncode == 0, pushed.stderr
    login = oras_cli(
        "login", "--config", first, "-c", second, "-u", "myuser", "--password-stdin", host,
        input=PASSWORD,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr
    assert json.loads(first.read_text())["auths"][host] == _auth("myuser", PASSWORD)
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert not (docker_config_dir / "config.json").exists()
    logout = oras_cli("logout", "-c", first, host)
    assert logout.returncode == 0
    assert json.loads(first.read_text())["auths"] == {}
    assert host in json.loads(second.read_text())["auths"]
