"""`login` and `logout` edge cases: input that ends before the credentials, config files named
with `-c`, and servers that are not registries."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

import oras.client
from oras.errors import ProtocolError
from tests.conftest import CliRunner
from tests.harness.impostors import FileServer
from tests.harness.registry import RegistryServer

SECRET = "s3cret-Pa55word-never-printed"


def error_line(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """Exit `code`, nothing on stdout, exactly one stderr line (`Error: ...`); returns it."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


# -- credentials from a closed stdin -----------------------------------------------------------


@pytest.mark.parametrize(
    "flags",
    [[], ["-u", "myuser"], ["-u", ""]],
    ids=["nothing", "username-only", "empty-username"],
)
def test_login_without_credentials_and_no_terminal_is_one_error_line(
    oras_cli: CliRunner, basic_registry: RegistryServer, docker_config_dir: Path, flags: list[str]
) -> None:
    """stdin is an empty pipe: no `Username:`/`Token:` prompts, one line naming the flags."""
    result = oras_cli("login", *flags, basic_registry.host, input="")
    line = error_line(result)
    assert "-u" in line and "--password-stdin" in line, line
    assert "Username:" not in result.stderr and "Token:" not in result.stderr
    assert "Password:" not in result.stderr
    assert not (docker_config_dir / "config.json").exists()


def test_login_password_stdin_that_is_empty(
    oras_cli: CliRunner, basic_registry: RegistryServer, docker_config_dir: Path
) -> None:
    result = oras_cli("login", "-u", "myuser", "--password-stdin", basic_registry.host, input="")
    line = error_line(result)
    assert "--password-stdin" in line and "no password" in line, line
    assert "Password:" not in result.stderr


def test_login_reads_answers_piped_to_the_prompts(
    oras_cli: CliRunner, basic_registry: RegistryServer, docker_config_dir: Path
) -> None:
    """Answers on a pipe still work, as with Go `oras` (one line per prompt)."""
    result = oras_cli("login", basic_registry.host, input="myuser\nmypass\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Login Succeeded\n"
    entry = read_json(docker_config_dir / "config.json")["auths"][basic_registry.host]
    assert base64.b64decode(entry["auth"]).decode() == "myuser:mypass"


# -- logout from the file login wrote -----------------------------------------------------------


@pytest.mark.parametrize("flag", ["-c", "--registry-config", "--config"])
def test_cli_logout_erases_from_the_registry_config_login_wrote(
    oras_cli: CliRunner,
    basic_registry: RegistryServer,
    docker_config_dir: Path,
    tmp_path: Path,
    flag: str,
) -> None:
    config = tmp_path / "auth" / "config.json"
    host = basic_registry.host
    login = oras_cli(
        "login", flag, str(config), "-u", "myuser", "--password-stdin", host, input="mypass\n"
    )
    assert login.returncode == 0, login.stderr
    assert host in read_json(config)["auths"]
    assert not (docker_config_dir / "config.json").exists()

    logout = oras_cli("logout", flag, str(config), host)
    assert logout.returncode == 0, logout.stderr
    assert f"You have successfully logged out of {host}" in logout.stderr
    assert host not in read_json(config).get("auths", {})


def test_library_logout_takes_the_config_path_login_took(
    basic_registry: RegistryServer, docker_config_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "auth.json"
    host = basic_registry.host
    default = docker_config_dir / "config.json"
    default.write_text(json.dumps({"auths": {host: {"auth": "b3RoZXI6b3RoZXI="}}}))

    client = oras.client.OrasClient(hostname=host, insecure=True)
    client.login(username="myuser", password="mypass", hostname=host, config_path=str(config))
    assert host in read_json(config)["auths"]

    client.logout(host, config_path=str(config))
    assert host not in read_json(config).get("auths", {})
    # Only the named file is edited.
    assert host in read_json(default)["auths"]

    client.login(username="myuser", password="mypass", hostname=host, config_path=[config])
    oras.client.OrasClient(insecure=True).logout(host, config_path=[config])
    assert host not in read_json(config).get("auths", {})


# -- a server that is not a registry ------------------------------------------------------------


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[FileServer]:
    """A static file server whose `GET /v2/` answers 200 (an HTML listing of a `v2/` folder)."""
    root = tmp_path / "www"
    (root / "v2").mkdir(parents=True)
    (root / "v2" / "notes.txt").write_text("not a registry\n")
    with FileServer(root) as server:
        yield server


def test_cli_login_to_a_file_server_fails_and_saves_nothing(
    oras_cli: CliRunner, file_server: FileServer, docker_config_dir: Path
) -> None:
    result = oras_cli("login", "-u", "u", "--password-stdin", file_server.host, input=SECRET)
    line = error_line(result)
    assert "not a registry" in line, line
    assert "Login Succeeded" not in result.stdout
    assert not (docker_config_dir / "config.json").exists()


def test_library_login_to_a_file_server_raises(
    file_server: FileServer, docker_config_dir: Path
) -> None:
    client = oras.client.OrasClient(hostname=file_server.host, insecure=True)
    with pytest.raises(ProtocolError, match="not a registry"):
        client.login(username="u", password=SECRET, hostname=file_server.host)
    assert not (docker_config_dir / "config.json").exists()


def test_login_to_a_registry_without_auth_still_succeeds(
    oras_cli: CliRunner, registry: RegistryServer, docker_config_dir: Path
) -> None:
    """Distribution answers `/v2/` with 200, `{}` and its version header: that is a registry."""
    result = oras_cli("login", "-u", "u", "--password-stdin", registry.host, input="p")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Login Succeeded\n"
