"""Smoke tests proving each harness registry mode and the token server work, using plain requests."""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Optional

import pytest
import requests

from tests.harness.certs import CertPaths, generate_certs
from tests.harness.registry import RegistryServer
from tests.harness.tokenserver import TokenServer, decode_jwt_claims
from tests.harness.tunnel import ConnectTunnel

TIMEOUT = 10
# The OCI distribution-spec repository name grammar.
NAME_RE = re.compile(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _get_token(server: TokenServer, *scopes: str, auth: Optional[tuple[str, str]] = None) -> str:
    response = requests.get(
        server.realm,
        params={"service": server.service, "scope": list(scopes)},
        auth=auth,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] == body["access_token"]
    return body["token"]


def _push_blob(url: str, repo: str, data: bytes, headers: dict[str, str]) -> str:
    """Monolithic upload (POST then PUT with the digest); returns the digest."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = requests.post(f"{url}/v2/{repo}/blobs/uploads/", headers=headers, timeout=TIMEOUT)
    assert started.status_code == 202, started.text
    location = requests.compat.urljoin(url, started.headers["Location"])
    finished = requests.put(
        location,
        params={"digest": digest},
        data=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
        timeout=TIMEOUT,
    )
    assert finished.status_code == 201, finished.text
    assert finished.headers["Docker-Content-Digest"] == digest
    return digest


def test_plain_registry_answers_v2(registry: RegistryServer) -> None:
    response = requests.get(f"{registry.url}/v2/", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert registry.url == f"http://127.0.0.1:{registry.port}"
    assert registry.host == f"127.0.0.1:{registry.port}"
    assert registry.username is None and registry.password is None


def test_plain_registry_push_and_delete(registry: RegistryServer, unique_repo: str) -> None:
    digest = _push_blob(registry.url, unique_repo, b"plain blob", {})
    blob_url = f"{registry.url}/v2/{unique_repo}/blobs/{digest}"
    assert requests.get(blob_url, timeout=TIMEOUT).content == b"plain blob"
    # storage.delete.enabled is on, so DELETE is allowed rather than 405 UNSUPPORTED.
    assert requests.delete(blob_url, timeout=TIMEOUT).status_code == 202


def test_basic_registry_challenge_and_credentials(basic_registry: RegistryServer) -> None:
    url = f"{basic_registry.url}/v2/"
    anonymous = requests.get(url, timeout=TIMEOUT)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="basic-realm"'

    creds = (basic_registry.username, basic_registry.password)
    assert creds == ("myuser", "mypass")
    assert requests.get(url, auth=creds, timeout=TIMEOUT).status_code == 200
    assert requests.get(url, auth=("myuser", "wrong"), timeout=TIMEOUT).status_code == 401


def test_tls_registry_verifies_with_the_ca(tls_registry: RegistryServer) -> None:
    assert tls_registry.url.startswith("https://127.0.0.1:")
    assert tls_registry.ca_path is not None and tls_registry.ca_path.exists()
    creds = (tls_registry.username, tls_registry.password)
    url = f"{tls_registry.url}/v2/"
    response = requests.get(url, auth=creds, verify=str(tls_registry.ca_path), timeout=TIMEOUT)
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, auth=creds, verify=True, timeout=TIMEOUT)


def test_tls_registry_with_client_certificates(certs: CertPaths, tmp_path: Path) -> None:
    with RegistryServer("tls", workdir=tmp_path, certs=certs, client_auth=True) as server:
        assert server.client_cert is not None and server.client_key is not None
        url = f"{server.url}/v2/"
        creds = (server.username, server.password)
        response = requests.get(
            url,
            auth=creds,
            verify=str(server.ca_path),
            cert=(str(server.client_cert), str(server.client_key)),
            timeout=TIMEOUT,
        )
        assert response.status_code == 200
        # TLS 1.3 reports a missing client certificate after the handshake, as a reset.
        with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
            requests.get(url, auth=creds, verify=str(server.ca_path), timeout=TIMEOUT)


def test_registry_start_failure_raises_with_log(certs: CertPaths, tmp_path: Path) -> None:
    broken = CertPaths(**{**certs.__dict__, "server_cert": tmp_path / "missing.crt"})
    server = RegistryServer("tls", workdir=tmp_path / "broken", certs=broken)
    with pytest.raises(RuntimeError, match="did not start") as info:
        server.start()
    assert "missing.crt" in str(info.value)
    server.stop()


def test_token_registry_challenge(
    token_registry: RegistryServer, token_server: TokenServer
) -> None:
    assert token_registry.token_server is token_server
    response = requests.get(f"{token_registry.url}/v2/", timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="{token_server.realm}",service="test-registry"'
    )
    assert token_server.requests == []


def test_token_push_and_pull_blob(
    token_registry: RegistryServer, token_server: TokenServer, unique_repo: str
) -> None:
    creds = (token_registry.username, token_registry.password)
    token = _get_token(token_server, f"repository:{unique_repo}:pull,push", auth=creds)

    claims = decode_jwt_claims(token)
    assert claims["aud"] == "test-registry" and claims["iss"] == "test-issuer"
    assert claims["access"] == [
        {"type": "repository", "name": unique_repo, "actions": ["pull", "push"]}
    ]
    (logged,) = token_server.requests
    assert logged.method == "GET" and logged.basic_auth and logged.username == "myuser"
    assert logged.scopes == (f"repository:{unique_repo}:pull,push",)

    digest = _push_blob(token_registry.url, unique_repo, b"hello token", _bearer(token))
    fetched = requests.get(
        f"{token_registry.url}/v2/{unique_repo}/blobs/{digest}",
        headers=_bearer(token),
        timeout=TIMEOUT,
    )
    assert fetched.status_code == 200 and fetched.content == b"hello token"


def test_token_wrong_password_is_rejected(token_server: TokenServer) -> None:
    response = requests.get(
        token_server.realm,
        params={"service": "test-registry", "scope": "repository:test/x:pull"},
        auth=("myuser", "wrong"),
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_anonymous_pull_of_public_repository(
    token_registry: RegistryServer, token_server: TokenServer
) -> None:
    repo = f"public/{os.urandom(4).hex()}"
    creds = (token_registry.username, token_registry.password)
    writer = _get_token(token_server, f"repository:{repo}:pull,push", auth=creds)
    digest = _push_blob(token_registry.url, repo, b"public data", _bearer(writer))

    reader = _get_token(token_server, f"repository:{repo}:pull,push")
    assert decode_jwt_claims(reader)["access"][0]["actions"] == ["pull"]
    fetched = requests.get(
        f"{token_registry.url}/v2/{repo}/blobs/{digest}", headers=_bearer(reader), timeout=TIMEOUT
    )
    assert fetched.status_code == 200 and fetched.content == b"public data"

    refused = requests.post(
        f"{token_registry.url}/v2/{repo}/blobs/uploads/", headers=_bearer(reader), timeout=TIMEOUT
    )
    assert refused.status_code == 401
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]


def test_anonymous_token_grants_nothing_on_private_repository(
    token_registry: RegistryServer, token_server: TokenServer, unique_repo: str
) -> None:
    token = _get_token(token_server, f"repository:{unique_repo}:pull")
    assert decode_jwt_claims(token)["access"] == [
        {"type": "repository", "name": unique_repo, "actions": []}
    ]
    response = requests.get(
        f"{token_registry.url}/v2/{unique_repo}/tags/list", headers=_bearer(token), timeout=TIMEOUT
    )
    assert response.status_code == 401


def test_short_lived_token_expires(
    token_registry: RegistryServer, token_server: TokenServer, unique_repo: str
) -> None:
    token_server.token_lifetime = 2
    creds = (token_registry.username, token_registry.password)
    token = _get_token(token_server, f"repository:{unique_repo}:pull", auth=creds)
    url = f"{token_registry.url}/v2/{unique_repo}/tags/list"
    # 404 NAME_UNKNOWN: authorised, the repository just does not exist.
    assert requests.get(url, headers=_bearer(token), timeout=TIMEOUT).status_code == 404
    time.sleep(2.5)
    expired = requests.get(url, headers=_bearer(token), timeout=TIMEOUT)
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


def test_oauth2_password_and_refresh_grants(
    token_registry: RegistryServer, token_server: TokenServer, unique_repo: str
) -> None:
    scope = f"repository:{unique_repo}:pull,push"
    form = {
        "grant_type": "password",
        "username": token_registry.username,
        "password": token_registry.password,
        "service": "test-registry",
        "client_id": "oras-harness-test",
        "scope": scope,
        "access_type": "offline",
    }
    first = requests.post(token_server.realm, data=form, timeout=TIMEOUT)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["scope"] == scope and body["expires_in"] == 300
    assert "token" not in body and body["refresh_token"]

    refreshed = requests.post(
        token_server.realm,
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "service": "test-registry",
            "client_id": "oras-harness-test",
            "scope": scope,
        },
        timeout=TIMEOUT,
    )
    assert refreshed.status_code == 200, refreshed.text
    assert "refresh_token" not in refreshed.json()
    digest = _push_blob(
        token_registry.url, unique_repo, b"via refresh", _bearer(refreshed.json()["access_token"])
    )
    assert digest.startswith("sha256:")
    assert [r.grant_type for r in token_server.requests] == ["password", "refresh_token"]

    wrong = requests.post(token_server.realm, data={**form, "password": "nope"}, timeout=TIMEOUT)
    assert wrong.status_code == 401
    no_client = {k: v for k, v in form.items() if k != "client_id"}
    assert requests.post(token_server.realm, data=no_client, timeout=TIMEOUT).status_code == 400


def test_get_offline_token_returns_refresh_token(token_server: TokenServer) -> None:
    response = requests.get(
        token_server.realm,
        params={"service": "test-registry", "offline_token": "true", "client_id": "t"},
        auth=("myuser", "mypass"),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.json()["refresh_token"] in token_server.refresh_tokens


def test_environment_is_isolated(
    isolated_env: Path, docker_config_dir: Path, unique_repo: str
) -> None:
    assert os.environ["DOCKER_CONFIG"] == str(docker_config_dir)
    assert list(docker_config_dir.iterdir()) == []
    assert not Path(os.environ["REGISTRY_AUTH_FILE"]).exists()
    assert Path.home() == isolated_env / "home" and Path.home().is_dir()
    assert "ORAS_USER" not in os.environ and "ORAS_PASS" not in os.environ
    assert NAME_RE.match(unique_repo) and unique_repo.startswith(
        "test/test-environment-is-isolated-"
    )


def test_connect_tunnel_reaches_a_stand_in_and_refuses_other_hosts(tmp_path: Path) -> None:
    """A public name routed to a local anonymous TLS registry; every other host is refused."""
    certs = generate_certs(tmp_path / "certs", server_names=["registry.example"])
    with RegistryServer("tls", workdir=tmp_path / "registry", certs=certs, anonymous=True) as reg:
        assert reg.users == {} and reg.username is None
        with ConnectTunnel({"registry.example:443": reg.host}) as tunnel:
            proxies = {"https": tunnel.url}
            response = requests.get(
                "https://registry.example/v2/",
                proxies=proxies,
                verify=str(certs.ca_cert),
                timeout=TIMEOUT,
            )
            assert response.status_code == 200  # no auth: no challenge
            with pytest.raises(requests.exceptions.ProxyError):
                requests.get("https://elsewhere.example/", proxies=proxies, timeout=TIMEOUT)
            plain = requests.get(f"{tunnel.url}/", timeout=TIMEOUT)
            assert plain.status_code == 405
    assert tunnel.log == [
        ("registry.example:443", True),
        ("elsewhere.example:443", False),
        ("GET /", False),
    ]
    assert tunnel.routed("registry.example:443") == 1
