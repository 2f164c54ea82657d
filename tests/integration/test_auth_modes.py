"""The library against registries with htpasswd, TLS and token auth: credentials from every source."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import requests
import urllib3

import oras.client
from oras.auth import AuthenticationException
from oras.credentials import Credential


@pytest.fixture
def artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "artifact.txt").write_text("hello dinosaur\n")
    return "artifact.txt"


def _write_config(docker_config_dir: Path, data: dict) -> Path:
    path = docker_config_dir / "config.json"
    path.write_text(json.dumps(data))
    return path


def test_basic_auth_without_credentials_fails_clearly(basic_registry, artifact, unique_repo):
    client = oras.client.OrasClient(insecure=True)
    with pytest.raises(AuthenticationException) as info:
        client.push(files=[artifact], target=f"{basic_registry.host}/{unique_repo}:v1")
    assert "401" in str(info.value)


def test_basic_auth_from_docker_config(basic_registry, artifact, unique_repo, docker_config_dir):
    cred = Credential("myuser", "mypass")
    _write_config(docker_config_dir, {"auths": {basic_registry.host: {"auth": cred.basic}}})
    client = oras.client.OrasClient(insecure=True)
    target = f"{basic_registry.host}/{unique_repo}:v1"
    assert client.push(files=[artifact], target=target).status_code == 201
    files = client.pull(target=target, outdir="out")
    assert Path(files[0]).read_text() == "hello dinosaur\n"


def test_login_verifies_then_saves_with_mode_0600(basic_registry, docker_config_dir):
    client = oras.client.OrasClient(insecure=True)
    with pytest.raises(AuthenticationException, match="invalid username or password"):
        client.login(username="myuser", password="wrong", hostname=basic_registry.host)
    assert not (docker_config_dir / "config.json").exists()

    result = client.login(username="myuser", password="mypass", hostname=basic_registry.host)
    assert result == {"Status": "Login Succeeded"}
    path = docker_config_dir / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())["auths"][basic_registry.host]["auth"]
    assert Credential.from_basic(saved) == Credential("myuser", "mypass")

    client.logout(basic_registry.host)
    assert basic_registry.host not in json.loads(path.read_text())["auths"]


def test_tls_with_ca_bundle(tls_registry, artifact, unique_repo):
    target = f"{tls_registry.host}/{unique_repo}:v1"
    client = oras.client.OrasClient(tls_verify=tls_registry.ca_path)
    client.login(username="myuser", password="mypass", hostname=tls_registry.host)
    assert client.push(files=[artifact], target=target).status_code == 201
    assert Path(client.pull(target=target, outdir="out")[0]).read_text() == "hello dinosaur\n"

    untrusting = oras.client.OrasClient()
    with pytest.raises(requests.exceptions.SSLError):
        untrusting.get_tags(f"{tls_registry.host}/{unique_repo}")
    skipping = oras.client.OrasClient(tls_verify=False)
    skipping.set_basic_auth("myuser", "mypass")
    # The library leaves urllib3's warning to its caller's warning filters.
    with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
        assert skipping.get_tags(f"{tls_registry.host}/{unique_repo}") == ["v1"]


def test_token_auth_push_pull_and_scopes(token_registry, token_server, artifact, unique_repo):
    client = oras.client.OrasClient(insecure=True)
    client.login(username="myuser", password="mypass", hostname=token_registry.host)
    target = f"{token_registry.host}/{unique_repo}:v1"
    assert client.push(files=[artifact], target=target).status_code == 201
    # the push asked for pull,push up front rather than upgrading a pull token mid-way
    scopes = [s for r in token_server.requests for s in r.scopes]
    assert f"repository:{unique_repo}:pull,push" in scopes
    # a second repository in the same process gets its own token, not a stale one
    other = f"{token_registry.host}/{unique_repo}-other:v1"
    assert client.push(files=[artifact], target=other).status_code == 201
    assert Path(client.pull(target=target, outdir="a")[0]).read_text() == "hello dinosaur\n"
    assert Path(client.pull(target=other, outdir="b")[0]).read_text() == "hello dinosaur\n"
    # tokens are reused, not fetched per request
    assert len(token_server.requests) <= 8


def test_token_auth_anonymous_public_pull(token_registry, token_server, artifact, unique_repo):
    public = f"{token_registry.host}/public/{unique_repo.split('/')[-1]}:v1"
    writer = oras.client.OrasClient(insecure=True)
    writer.set_basic_auth("myuser", "mypass")
    writer.push(files=[artifact], target=public)

    anonymous = oras.client.OrasClient(insecure=True)
    assert Path(anonymous.pull(target=public, outdir="anon")[0]).read_text() == "hello dinosaur\n"
    with pytest.raises(AuthenticationException):
        anonymous.push(files=[artifact], target=f"{token_registry.host}/{unique_repo}:anon")


def test_token_auth_wrong_password_fails_once(token_registry, token_server, artifact, unique_repo):
    client = oras.client.OrasClient(insecure=True)
    with pytest.raises(AuthenticationException, match="refused"):
        client.login(username="myuser", password="wrong", hostname=token_registry.host)
    client.set_basic_auth("myuser", "wrong")
    token_server.clear_log()
    with pytest.raises(AuthenticationException):
        client.push(files=[artifact], target=f"{token_registry.host}/{unique_repo}:v1")
    assert len(token_server.requests) == 1  # no retry loop against the token server


def test_identity_token_from_docker_config(
    token_registry, token_server, artifact, unique_repo, docker_config_dir
):
    refresh = token_server.refresh_token_for()
    _write_config(docker_config_dir, {"auths": {token_registry.host: {"identitytoken": refresh}}})
    client = oras.client.OrasClient(insecure=True)
    target = f"{token_registry.host}/{unique_repo}:v1"
    assert client.push(files=[artifact], target=target).status_code == 201
    assert any(r.grant_type == "refresh_token" for r in token_server.requests)


def test_credential_helper_from_creds_store(
    basic_registry, artifact, unique_repo, docker_config_dir, tmp_path, monkeypatch
):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-test"
    helper.write_text(
        "#!/bin/sh\n"
        'read server\nif [ "$1" = get ]; then\n'
        '  echo "{\\"ServerURL\\": \\"$server\\", \\"Username\\": \\"myuser\\", '
        '\\"Secret\\": \\"mypass\\"}"\nelse exit 1; fi\n'
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    _write_config(docker_config_dir, {"credsStore": "test"})
    client = oras.client.OrasClient(insecure=True)
    target = f"{basic_registry.host}/{unique_repo}:v1"
    assert client.push(files=[artifact], target=target).status_code == 201
