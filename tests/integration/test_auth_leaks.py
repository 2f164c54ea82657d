"""Nothing leaks: no Authorization to another origin, no secret in logs, errors or --debug output.

Every request is captured: `FaultProxy` logs what reaches the registry origin ("front") and a
second origin ("foreign"); small loopback servers play a registry that redirects blob
downloads to storage on another port; the token server logs what it was sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import oras.client
from oras.errors import RegistryError
from tests.harness.proxy import FaultProxy
from tests.harness.recorder import RecordingHandler, RecordingServer
from tests.harness.registry import RegistryServer
from tests.harness.tokenserver import TokenServer

PASSWORD = "mypass"
BASIC = base64.b64encode(b"myuser:mypass").decode()


@pytest.fixture
def artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "artifact.txt").write_text("hello dinosaur\n")
    return "artifact.txt"


def _proxies(upstream: str) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    front, foreign = FaultProxy(upstream).start(), FaultProxy(upstream).start()
    try:
        yield front, foreign
    finally:
        front.stop()
        foreign.stop()


@pytest.fixture
def plain_proxies(registry: RegistryServer) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    yield from _proxies(registry.url)


@pytest.fixture
def token_proxies(token_registry: RegistryServer) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    yield from _proxies(token_registry.url)


def _authorizations(proxy: FaultProxy) -> list[str]:
    return [r.header("Authorization") or "" for r in proxy.log()]


def _send_uploads_elsewhere(client: Any, foreign: FaultProxy) -> None:
    # Distribution builds upload Locations from X-Forwarded-Host: the registry origin
    # answers the upload POST with a Location on the other port.
    client.headers["X-Forwarded-Host"] = foreign.host


@pytest.mark.parametrize("backend", ["basic", "token"])
def test_no_authorization_to_a_foreign_upload_location(
    plain_proxies: tuple[FaultProxy, FaultProxy], artifact: str, unique_repo: str, backend: str
) -> None:
    front, foreign = plain_proxies
    client = oras.client.OrasClient(insecure=True, auth_backend=backend)
    if backend == "basic":
        client.set_basic_auth("myuser", PASSWORD)
        expected = f"Basic {BASIC}"
    else:
        client.set_token_auth("explicit-token-value")
        expected = "Bearer explicit-token-value"
    _send_uploads_elsewhere(client, foreign)
    response = client.push(files=[artifact], target=f"{front.host}/{unique_repo}:v1")
    assert response.status_code == 201
    uploads = foreign.log()
    assert {r.method for r in uploads} >= {"PUT"}, "the uploads did not go to the other origin"
    assert _authorizations(foreign) == [""] * len(uploads)
    assert set(_authorizations(front)) == {expected}


def test_token_registry_foreign_location_gets_no_token(
    token_proxies: tuple[FaultProxy, FaultProxy],
    token_server: TokenServer,
    artifact: str,
    unique_repo: str,
) -> None:
    front, foreign = token_proxies
    client = oras.client.OrasClient(insecure=True)
    client.set_basic_auth("myuser", PASSWORD)
    _send_uploads_elsewhere(client, foreign)
    with pytest.raises(RegistryError) as info:
        client.push(files=[artifact], target=f"{front.host}/{unique_repo}:v1")
    assert info.value.status == 401
    assert foreign.log() and set(_authorizations(foreign)) == {""}
    assert any(a.startswith("Bearer ") for a in _authorizations(front))
    assert not any(a.startswith("Basic ") for a in _authorizations(front))
    # the token realm (another origin) got Basic credentials, never a registry token
    sent = {r.headers.get("Authorization", "").split(" ")[0] for r in token_server.requests}
    assert sent == {"Basic"}


# -- a registry that redirects blob downloads to storage on another port ----------------------

BLOB = b"blob bytes behind a redirect\n"
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()


class _Storage(RecordingHandler):
    def handle_get(self) -> None:
        self.reply(200, BLOB, Content_Type="application/octet-stream")


class _RedirectingRegistry(RecordingHandler):
    """Basic or Bearer auth (its own /token realm); blob GETs redirect to the storage host."""

    def handle_get(self) -> None:
        settings = self.server.settings
        scheme = settings["scheme"]
        auth = self.headers.get("Authorization") or ""
        if self.path.startswith("/token"):
            ok = auth == f"Basic {BASIC}"
            body = json.dumps({"token": settings["token"]}).encode()
            self.reply(200 if ok else 401, body if ok else b"{}")
            return
        if auth not in (f"Basic {BASIC}", f"Bearer {settings['token']}"):
            if scheme == "basic":
                challenge = 'Basic realm="r"'
            else:
                challenge = f'Bearer realm="http://{self.server.host}/token",service="s"'
            self.reply(401, b"{}", WWW_Authenticate=challenge)
            return
        if "/blobs/" in self.path:
            self.reply(307, Location=f"http://{settings['storage']}/blob/{DIGEST}")
            return
        self.reply(200, b"{}")


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_no_authorization_to_a_redirect_target(tmp_path: Path, scheme: str) -> None:
    storage = RecordingServer(_Storage)
    token = "registry-token-" + scheme
    registry = RecordingServer(
        _RedirectingRegistry, scheme=scheme, storage=storage.host, token=token
    )
    try:
        client = oras.client.OrasClient(insecure=True)
        client.set_basic_auth("myuser", PASSWORD)
        out = client.download_blob(f"{registry.host}/team/app:v1", DIGEST, str(tmp_path / "b"))
        assert Path(out).read_bytes() == BLOB
        assert storage.seen, "the download never reached the storage host"
        assert all("Authorization" not in request for request in storage.seen)
        blob_requests = [r for r in registry.seen if "/blobs/" in r["path"]]
        expected = f"Basic {BASIC}" if scheme == "basic" else f"Bearer {token}"
        assert blob_requests and blob_requests[-1].get("Authorization") == expected
    finally:
        registry.stop()
        storage.stop()


# -- --debug output, logs and errors ----------------------------------------------------------


@pytest.fixture
def issued_tokens(token_server: TokenServer, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every access and refresh token the token server hands out during the test."""
    issued: list[str] = []
    issue, refresh = token_server.issue_token, token_server._new_refresh_token

    def record_issue(*args: Any, **kwargs: Any) -> str:
        issued.append(issue(*args, **kwargs))
        return issued[-1]

    def record_refresh(*args: Any, **kwargs: Any) -> str:
        issued.append(refresh(*args, **kwargs))
        return issued[-1]

    monkeypatch.setattr(token_server, "issue_token", record_issue)
    monkeypatch.setattr(token_server, "_new_refresh_token", record_refresh)
    return issued


def _assert_no_secret(outputs: list[Any], secrets: list[str]) -> None:
    text = "\n".join(o.stdout + o.stderr for o in outputs)
    for secret in secrets:
        assert secret not in text, f"a secret ({secret[:6]}...) was printed"


def test_debug_output_has_no_credentials_basic(
    oras_cli: Any, basic_registry: RegistryServer, tmp_path: Path, unique_repo: str
) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    host = f"localhost:{basic_registry.port}"
    runs = [
        oras_cli("login", "--debug", "-u", "myuser", "--password-stdin", host, input=PASSWORD),
        oras_cli("push", "--debug", f"{host}/{unique_repo}:v1", "a.txt"),
        oras_cli("pull", "--debug", "-o", "out", f"{host}/{unique_repo}:v1"),
        oras_cli("login", "--debug", "-u", "myuser", "-p", "wrong-Pa55", host),
    ]
    assert [r.returncode for r in runs] == [0, 0, 0, 1], [r.stderr for r in runs]
    assert "/v2/" in runs[1].stderr  # the trace is there
    wrong = base64.b64encode(b"myuser:wrong-Pa55").decode()
    _assert_no_secret(runs, [PASSWORD, BASIC, "wrong-Pa55", wrong])


def test_debug_output_has_no_tokens(
    oras_cli: Any,
    token_registry: RegistryServer,
    token_server: TokenServer,
    issued_tokens: list[str],
    tmp_path: Path,
    unique_repo: str,
) -> None:

    (tmp_path / "a.txt").write_text("a\n")
    host = f"localhost:{token_registry.port}"
    offline = token_server.refresh_token_for("myuser", PASSWORD)
    runs = [
        oras_cli("login", "--debug", "-u", "myuser", "--password-stdin", host, input=PASSWORD),
        oras_cli("push", "--debug", f"{host}/{unique_repo}:v1", "a.txt"),
        oras_cli("pull", "--debug", "-o", "out", f"{host}/{unique_repo}:v1"),
        oras_cli("login", "--debug", "--identity-token-stdin", host, input=offline),
        oras_cli("pull", "--debug", "-o", "out2", f"{host}/{unique_repo}:v1"),
        oras_cli("login", "--debug", "--identity-token-stdin", host, input="bogus-refresh"),
    ]
    assert [r.returncode for r in runs] == [0, 0, 0, 0, 0, 1], [r.stderr for r in runs]
    assert "Error: login to" in runs[-1].stderr and "identity token" in runs[-1].stderr
    assert len(issued_tokens) >= 4
    _assert_no_secret(runs, [PASSWORD, BASIC, offline, "bogus-refresh", *issued_tokens])
    # no credential in a URL: the token requests carried them in headers or bodies only
    for request in token_server.requests:
        assert PASSWORD not in json.dumps(request.query)
        assert offline not in json.dumps(request.query)


def test_no_credential_in_a_registry_address(oras_cli: Any, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    runs = [
        oras_cli("pull", "myuser:s3cret-in-url@127.0.0.1:1/x/y:v1"),
        oras_cli("push", "myuser:s3cret-in-url@127.0.0.1:1/x/y:v1", "a.txt"),
        oras_cli("login", "https://myuser:s3cret-in-url@127.0.0.1:1/", "-u", "a", "-p", "b"),
    ]
    for run in runs:
        assert run.returncode == 2
        assert "credentials in the registry address are not supported" in run.stderr
    _assert_no_secret(runs, ["s3cret-in-url"])
