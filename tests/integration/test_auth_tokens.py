"""The token flow against Distribution in token mode: cache, renewal, long uploads, grants, mounts."""

from __future__ import annotations

import collections
import json
import time
from pathlib import Path
from typing import Any

import pytest

import oras.client
import oras.provider
from oras.auth import AuthenticationException
from oras.credentials import Credential
from tests.harness.registry import RegistryServer
from tests.harness.tokenserver import DISTRIBUTION_EXP_LEEWAY, TokenServer, _TokenError

PASSWORD = "mypass"


@pytest.fixture
def artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "artifact.txt").write_text("hello dinosaur\n")
    return "artifact.txt"


@pytest.fixture
def short_tokens(token_server: TokenServer) -> TokenServer:
    """Tokens that live 2 s, and that the registry refuses as soon as they expire.

    Distribution accepts a token until its `exp` plus 60 s of clock-skew leeway; the token
    server takes that leeway off `exp` so the registry's deadline is the advertised one.
    """
    token_server.token_lifetime = 2
    token_server.exp_leeway = DISTRIBUTION_EXP_LEEWAY
    return token_server


def _refresh_token(token_server: TokenServer) -> str:
    return token_server.refresh_token_for("myuser", PASSWORD)


def _token_requests(token_server: TokenServer) -> list[Any]:
    return [r for r in token_server.requests if r.status == 200]


def test_one_client_many_repositories_and_registries(
    token_registry: RegistryServer,
    basic_registry: RegistryServer,
    token_server: TokenServer,
    artifact: str,
    unique_repo: str,
    docker_config_dir: Path,
) -> None:
    auth = Credential("myuser", PASSWORD).basic
    auths = {host: {"auth": auth} for host in (token_registry.host, basic_registry.host)}
    (docker_config_dir / "config.json").write_text(json.dumps({"auths": auths}))
    client = oras.client.OrasClient(insecure=True)
    first, second = f"{unique_repo}-a", f"{unique_repo}-b"
    public = f"public/{unique_repo.split('/')[-1]}"
    for repo in (first, second, public):
        client.push(files=[artifact], target=f"{token_registry.host}/{repo}:v1")
    # pull from one registry, push to another, back and forth
    for round_ in range(2):
        [path] = client.pull(target=f"{token_registry.host}/{first}:v1", outdir=f"p{round_}")
        client.push(files=[path], target=f"{basic_registry.host}/{first}:v{round_}")
        client.push(files=[artifact], target=f"{token_registry.host}/{second}:v{round_ + 2}")
    assert sorted(client.get_tags(f"{basic_registry.host}/{first}")) == ["v0", "v1"]
    assert sorted(client.get_tags(f"{token_registry.host}/{second}")) == ["v1", "v2", "v3"]
    anonymous = oras.client.OrasClient(insecure=True, auth_backend="token")
    anonymous.auth.use_config_files([str(docker_config_dir / "missing.json")])
    [path] = anonymous.pull(target=f"{token_registry.host}/{public}:v1", outdir="anon")
    assert Path(path).read_text() == "hello dinosaur\n"

    requests_ = _token_requests(token_server)
    # one token per (identity, scope set): never fetched twice while fresh
    per_scope = collections.Counter((r.username, r.scopes) for r in requests_)
    assert max(per_scope.values()) == 1, per_scope
    assert (None, (f"repository:{public}:pull",)) in per_scope
    assert ("myuser", (f"repository:{first}:pull,push",)) in per_scope  # asked up front
    assert ("myuser", (f"repository:{second}:pull,push",)) in per_scope
    assert len(per_scope) == 4  # three repositories pushed, one pulled anonymously


def test_concurrent_workers_share_one_token_request(
    token_registry: RegistryServer, token_server: TokenServer, tmp_path: Path, monkeypatch: Any
) -> None:
    """Five workers meeting their first 401 at once ask the token server once, not five times."""
    monkeypatch.chdir(tmp_path)
    names = []
    for i in range(8):
        (tmp_path / f"w{i}.txt").write_text(f"worker {i}\n")
        names.append(f"w{i}.txt")
    client = oras.client.OrasClient(insecure=True)
    client.set_basic_auth("myuser", PASSWORD)
    token_server.clear_log()
    target = f"{token_registry.host}/t/workers:v1"
    assert client.push(files=names, target=target).status_code == 201
    assert len(_token_requests(token_server)) == 1
    token_server.clear_log()
    fresh = oras.client.OrasClient(insecure=True)
    fresh.set_basic_auth("myuser", PASSWORD)
    assert len(fresh.pull(target=target, outdir=str(tmp_path / "out"))) == len(names)
    assert len(_token_requests(token_server)) == 1


def test_short_lived_tokens_are_renewed_before_they_expire(
    token_registry: RegistryServer, short_tokens: TokenServer, artifact: str, unique_repo: str
) -> None:
    client = oras.client.OrasClient(insecure=True)
    client.set_basic_auth("myuser", PASSWORD)
    target = f"{token_registry.host}/{unique_repo}:v1"
    client.push(files=[artifact], target=target)
    before = len(_token_requests(short_tokens))
    time.sleep(1.6)  # past the renewal point (lifetime minus a quarter), before expiry
    assert client.get_tags(f"{token_registry.host}/{unique_repo}") == ["v1"]
    assert len(_token_requests(short_tokens)) == before + 1


def test_a_token_the_registry_refuses_is_renewed_on_401(
    token_registry: RegistryServer, short_tokens: TokenServer, artifact: str, unique_repo: str
) -> None:
    client = oras.client.OrasClient(insecure=True)
    client.set_basic_auth("myuser", PASSWORD)
    target = f"{token_registry.host}/{unique_repo}:v1"
    client.push(files=[artifact], target=target)
    # Our clock says the tokens are fresh, the registry's says they expired (clock skew).
    for bucket in client.auth._token_cache.values():
        for token in bucket.values():
            token.expires_at = time.monotonic() + 3600
    time.sleep(2.1)
    short_tokens.clear_log()
    assert client.get_tags(f"{token_registry.host}/{unique_repo}") == ["v1"]
    assert len(_token_requests(short_tokens)) == 1


class Slow(oras.provider.Registry):
    """Sleeps before the PATCH and PUT requests of blob uploads (`delays`, one per request, in
    seconds), so an upload outlives the tokens it started with."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delays: list[float] = []
        self.statuses: list[tuple[str, int]] = []

    def do_request(self, url: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        if method in ("PATCH", "PUT") and "/blobs/uploads/" in url and self.delays:
            time.sleep(self.delays.pop(0))
        response = super().do_request(url, method, *args, **kwargs)
        self.statuses.append((method, response.status_code))
        return response


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "monolithic"])
def test_long_uploads_outlive_short_tokens(
    token_registry: RegistryServer,
    short_tokens: TokenServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    unique_repo: str,
    chunked: bool,
) -> None:
    monkeypatch.chdir(tmp_path)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 16)  # 4 KiB: four 1 KiB chunks
    client = Slow(insecure=True)
    # chunked: four PATCHes and the PUT, 0.6 s apart; monolithic: the PUT 2.2 s after the POST
    client.delays = [0.6] * 5 if chunked else [2.2]
    client.set_basic_auth("myuser", PASSWORD)
    target = f"{token_registry.host}/{unique_repo}:v1"
    started = time.monotonic()
    response = client.push(files=["blob.bin"], target=target, do_chunked=chunked, chunk_size=1024)
    assert response.status_code == 201
    assert time.monotonic() - started > short_tokens.token_lifetime
    if chunked:
        assert sum(1 for method, _ in client.statuses if method == "PATCH") >= 4
    issued = [r for r in _token_requests(short_tokens) if r.username == "myuser"]
    assert len(issued) >= 2, "the upload never needed a new token"
    [path] = client.pull(target=target, outdir="out")
    assert Path(path).read_bytes() == blob.read_bytes()


def test_cross_repository_mount_asks_for_both_repositories_at_once(
    token_registry: RegistryServer, token_server: TokenServer, artifact: str, unique_repo: str
) -> None:
    client = oras.client.OrasClient(insecure=True)
    client.set_basic_auth("myuser", PASSWORD)
    source, target = f"{unique_repo}-src", f"{unique_repo}-dst"
    client.push(files=[artifact], target=f"{token_registry.host}/{source}:v1")
    digest = client.get_manifest(f"{token_registry.host}/{source}:v1")["layers"][0]["digest"]
    token_server.clear_log()
    client.auth.want_mount(token_registry.host, target, source)
    url = f"http://{token_registry.host}/v2/{target}/blobs/uploads/?mount={digest}&from={source}"
    response = client.do_request(url, "POST")
    assert response.status_code == 201, response.text  # mounted, not a new upload session
    [request] = _token_requests(token_server)
    assert request.scopes == (f"repository:{target}:pull,push", f"repository:{source}:pull")


def test_wrong_credentials_fail_at_once_without_a_retry_loop(
    oras_cli: Any, token_registry: RegistryServer, token_server: TokenServer, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    host = token_registry.host
    login = oras_cli("login", "-u", "myuser", "--password-stdin", host, input="wrong")
    assert login.returncode == 1
    assert login.stderr.strip().splitlines() == [
        f"Error: login to {host} failed: token server {token_server.host} refused user "
        "'myuser' (HTTP 401) (check the username and password (oras-py login))"
    ]
    assert len(token_server.requests) == 1
    token_server.clear_log()
    push = oras_cli("push", "-u", "myuser", "-p", "wrong", f"{host}/t/wrong:v1", "a.txt")
    assert push.returncode == 1 and "refused user 'myuser'" in push.stderr
    assert len(token_server.requests) == 1
    # anonymous push: an anonymous token that does not cover push, then a clear 401
    token_server.clear_log()
    anonymous = oras_cli("push", f"{host}/t/anon:v1", "a.txt")
    assert anonymous.returncode == 1 and "401" in anonymous.stderr
    assert len(token_server.requests) <= 2


def test_get_refused_falls_back_to_the_password_grant(
    token_registry: RegistryServer,
    token_server: TokenServer,
    artifact: str,
    unique_repo: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse_get(*args: Any) -> dict:
        raise _TokenError(405, {"error": "method not allowed"})

    monkeypatch.setattr(token_server, "_handle_get", refuse_get)
    client = oras.client.OrasClient(insecure=True)
    client.set_basic_auth("myuser", PASSWORD)
    assert client.push(files=[artifact], target=f"{token_registry.host}/{unique_repo}:v1")
    posts = [r for r in _token_requests(token_server) if r.method == "POST"]
    assert posts and {r.grant_type for r in posts} == {"password"}
    assert all(r.username == "myuser" for r in posts)


def test_identity_token_and_a_realm_that_refuses_post(
    token_registry: RegistryServer,
    token_server: TokenServer,
    artifact: str,
    unique_repo: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refresh = _refresh_token(token_server)
    token_server.clear_log()
    client = oras.client.OrasClient(insecure=True)
    client.auth.set_identity_token(refresh)
    target = f"{token_registry.host}/{unique_repo}:v1"
    assert client.push(files=[artifact], target=target).status_code == 201
    assert {(r.method, r.grant_type) for r in token_server.requests} == {("POST", "refresh_token")}

    def refuse_post(*args: Any) -> dict:
        raise _TokenError(405, {"error": "method not allowed"})

    monkeypatch.setattr(token_server, "_handle_post", refuse_post)
    other = oras.client.OrasClient(insecure=True)
    other.auth.set_identity_token(refresh)
    with pytest.raises(AuthenticationException) as info:
        other.pull(target=target, outdir="out")
    assert "does not accept the OAuth2 POST an identity token needs" in str(info.value)
    assert refresh not in str(info.value)


def test_identity_token_login_end_to_end(
    oras_cli: Any,
    token_registry: RegistryServer,
    token_server: TokenServer,
    tmp_path: Path,
    docker_config_dir: Path,
    unique_repo: str,
) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    refresh = _refresh_token(token_server)
    host = token_registry.host
    login = oras_cli("login", "--identity-token-stdin", host, input=refresh + "\n")
    assert login.returncode == 0, login.stderr
    assert login.stdout == "Login Succeeded\n" and login.stderr == ""
    saved = json.loads((docker_config_dir / "config.json").read_text())["auths"][host]
    assert saved == {"identitytoken": refresh}
    token_server.clear_log()
    push = oras_cli("push", f"{host}/{unique_repo}:v1", "a.txt")
    assert push.returncode == 0, push.stderr
    assert {r.grant_type for r in token_server.requests} == {"refresh_token"}
    # on the command line too, with the Go warning
    flag = oras_cli("login", "--identity-token", refresh, host)
    assert flag.returncode == 0, flag.stderr
    assert "WARNING! Using --identity-token via the CLI is insecure." in flag.stderr
    both = oras_cli("login", "-u", "myuser", "--identity-token", refresh, host)
    assert both.returncode == 2
    wrong = oras_cli("login", "--identity-token-stdin", host, input="not-a-refresh-token")
    assert wrong.returncode == 1 and "refused the identity token" in wrong.stderr
    assert json.loads((docker_config_dir / "config.json").read_text())["auths"][host] == saved
