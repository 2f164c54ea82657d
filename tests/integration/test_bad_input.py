"""Mistakes a new user makes, against the real registry: each is refused before anything is
sent, with one clear error (CLI) or a typed exception (library)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

import oras.client
from oras.errors import InvalidReferenceError
from tests.conftest import CliRunner
from tests.harness.registry import RegistryServer

TIMEOUT = 10


def _manifest_status(registry: RegistryServer, repo: str, ref: str) -> int:
    url = f"{registry.url}/v2/{repo}/manifests/{ref}"
    return requests.head(url, timeout=TIMEOUT).status_code


def _error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


# -- item 1: a reference without a repository ------------------------------------------------------


@pytest.mark.parametrize("command", ["push", "pull"])
def test_cli_refuses_a_registry_without_repository(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, command: str
) -> None:
    """`push localhost:PORT hello.txt` once pushed to repository `localhost`, tag PORT."""
    (tmp_path / "hello.txt").write_text("hello\n")
    target = f"localhost:{registry.port}"
    args = [command, target] + (["hello.txt"] if command == "push" else [])
    result = oras_cli(*args)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [line] = _error_lines(result)
    assert "no repository" in line
    assert result.stdout == ""
    assert _manifest_status(registry, "localhost", str(registry.port)) == 404


def test_cli_refuses_a_reference_without_registry(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path
) -> None:
    """Go `oras` reads the first component as the registry; `dinosaur` is not a host."""
    (tmp_path / "hello.txt").write_text("hello\n")
    result = oras_cli("push", "dinosaur/artifact:v1", "hello.txt")
    assert result.returncode == 1, (result.stdout, result.stderr)
    [line] = _error_lines(result)
    assert "missing registry" in line
    assert "cannot connect" not in line


def test_library_refuses_a_registry_without_repository(
    registry: RegistryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hello.txt").write_text("hello\n")
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    with pytest.raises(InvalidReferenceError) as info:
        client.push(registry.host, files=["hello.txt"])
    assert isinstance(info.value, ValueError)
    assert "no repository" in str(info.value.hint)
    with pytest.raises(InvalidReferenceError):
        client.pull(registry.host, outdir=str(tmp_path / "out"))
    assert _manifest_status(registry, "127.0.0.1", str(registry.port)) == 404


# -- item 12: hints ---------------------------------------------------------------------------------

SHAPE = "<registry>/<repository>[:<tag>|@<digest>]"


@pytest.mark.parametrize(
    "path,reason",
    [
        ("Dinosaur/artifact:v1", "repository 'Dinosaur/artifact' must be lowercase"),
        ("dinosaur/artifact:bad@tag", "invalid digest"),
        ("dinosaur//artifact", "empty path component"),
    ],
)
def test_cli_bad_reference_says_what_is_wrong_once(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, path: str, reason: str
) -> None:
    (tmp_path / "hello.txt").write_text("hello\n")
    target = f"localhost:{registry.port}/{path}"
    for args in (("push", target, "hello.txt"), ("pull", target)):
        result = oras_cli(*args)
        assert result.returncode == 1, (result.stdout, result.stderr)
        [line] = _error_lines(result)
        assert line.count(reason) == 1, line
        assert line.count(SHAPE) == 1, line
        assert line.count(target) == 1, line
        assert f"for example localhost:{registry.port}/dinosaur/artifact:v1" in line
        assert "does not match a recognized" not in line


def test_cli_long_tag_is_not_echoed_in_full(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path
) -> None:
    (tmp_path / "hello.txt").write_text("hello\n")
    target = f"localhost:{registry.port}/dinosaur/artifact:{'x' * 300}"
    result = oras_cli("push", target, "hello.txt")
    assert result.returncode == 1
    [line] = _error_lines(result)
    assert "300 characters long" in line
    assert "x" * 100 not in line
    assert len(result.stderr) < 350, result.stderr


@pytest.mark.parametrize(
    "args,command",
    [
        (["pull", "{host}/dinosaur/artifact:v1", "extra"], "pull"),
        (["push", "{host}/dinosaur/artifact:v1", "hello.txt", "--concurrency", "0"], "push"),
        (["push", "{host}/dinosaur/artifact:v1"], "push"),
        (["login", "{host}", "--cert-file", "c.pem"], "login"),
    ],
)
def test_cli_usage_error_names_the_command_help(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, args: list[str], command: str
) -> None:
    host = f"localhost:{registry.port}"
    result = oras_cli(*(a.format(host=host) for a in args))
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Error: "), result.stderr
    assert lines[1] == f"Run 'oras-py {command} --help' for usage."
