"""CLI transport choices: HTTPS by default, plain HTTP for loopback registries without TLS,
--insecure, --ca-file, -c."""

from __future__ import annotations

import json
from pathlib import Path

from oras.credentials import Credential


def _artifact(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")


def test_loopback_hosts_use_plain_http_only_when_the_registry_does_not_speak_tls(
    oras_cli, registry, tls_registry, tmp_path
):
    _artifact(tmp_path)
    for host in (f"localhost:{registry.port}", registry.host):
        ok = oras_cli("push", f"{host}/t/local:v1", "a.txt")
        assert ok.returncode == 0, ok.stderr
    forced = oras_cli("push", "--plain-http", f"{registry.host}/t/local:v1", "a.txt")
    assert forced.returncode == 0, forced.stderr
    off = oras_cli("push", "--plain-http=false", f"localhost:{registry.port}/t/local:v1", "a.txt")
    assert off.returncode == 1 and off.stderr.startswith("Error: TLS failure talking to localhost")
    assert "--plain-http" in off.stderr and "Traceback" not in off.stderr
    # a TLS registry on loopback is spoken to over HTTPS without any flag (and verified)
    creds = ["-u", "myuser", "-p", "mypass"]
    for host in (f"localhost:{tls_registry.port}", tls_registry.host):
        untrusted = oras_cli("push", *creds, f"{host}/t/probe:v1", "a.txt")
        assert untrusted.returncode == 1 and "TLS failure" in untrusted.stderr
    trusted = oras_cli(
        "push",
        "--ca-file",
        tls_registry.ca_path,
        *creds,
        f"{tls_registry.host}/t/probe:v1",
        "a.txt",
    )
    assert trusted.returncode == 0, trusted.stderr


def test_insecure_means_https_without_verification_or_plain_http(
    oras_cli, tls_registry, registry, tmp_path
):
    _artifact(tmp_path)
    creds = ["-u", "myuser", "-p", "mypass"]
    strict = oras_cli("push", *creds, f"{tls_registry.host}/t/tls:v1", "a.txt")
    assert strict.returncode == 1 and "TLS failure" in strict.stderr
    insecure = oras_cli("push", "--insecure", *creds, f"{tls_registry.host}/t/tls:v1", "a.txt")
    assert insecure.returncode == 0, insecure.stderr
    # The flag asked for it: no urllib3 warning on every request.
    assert "InsecureRequestWarning" not in insecure.stderr
    with_ca = oras_cli(
        "pull", "--ca-file", tls_registry.ca_path, *creds, f"{tls_registry.host}/t/tls:v1"
    )
    assert with_ca.returncode == 0, with_ca.stderr
    # --insecure against a registry that only speaks HTTP falls back to it (the guide's usage)
    fallback = oras_cli("push", "--insecure", f"{registry.host}/t/plain:v1", "a.txt")
    assert fallback.returncode == 0, fallback.stderr


def test_registry_config_flag_reads_and_writes_that_file(
    oras_cli, basic_registry, tmp_path, docker_config_dir
):
    _artifact(tmp_path)
    config = tmp_path / "auth.json"
    login = oras_cli(
        "login",
        "-c",
        str(config),
        "-u",
        "myuser",
        "--password-stdin",
        f"localhost:{basic_registry.port}",
        input="mypass\n",
    )
    assert login.returncode == 0, login.stderr
    assert login.stdout == "Login Succeeded\n"
    assert "WARNING" not in login.stderr
    saved = json.loads(config.read_text())["auths"][f"localhost:{basic_registry.port}"]
    assert Credential.from_basic(saved["auth"]) == Credential("myuser", "mypass")
    assert not (docker_config_dir / "config.json").exists()
    target = f"localhost:{basic_registry.port}/t/cfg:v1"
    assert oras_cli("push", target, "a.txt").returncode == 1
    pushed = oras_cli("push", "--registry-config", str(config), target, "a.txt")
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout == f"Successfully pushed {target}\n"


def test_debug_never_shows_credentials(oras_cli, basic_registry, tmp_path):
    _artifact(tmp_path)
    result = oras_cli(
        "push",
        "--debug",
        "-u",
        "myuser",
        "-p",
        "mypass",
        f"localhost:{basic_registry.port}/t/dbg:v1",
        "a.txt",
    )
    assert result.returncode == 0, result.stderr
    secret = Credential("myuser", "mypass").basic
    assert secret not in result.stderr + result.stdout
    assert "mypass" not in result.stderr + result.stdout
    assert "/v2/" in result.stderr  # the trace is there
