"""TLS: CA bundles, client certificates (mutual TLS), skip-verify and the loopback scheme probe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import oras.client
from oras.remote.scheme import is_loopback, speaks_tls
from tests.harness.certs import CertPaths
from tests.harness.registry import RegistryServer

CREDS = ["-u", "myuser", "-p", "mypass"]


@pytest.fixture(scope="module")
def mtls_registry(
    tmp_path_factory: pytest.TempPathFactory, certs: CertPaths
) -> Iterator[RegistryServer]:
    """HTTPS registry with htpasswd auth that also demands a client certificate."""
    with RegistryServer(
        "tls", client_auth=True, workdir=tmp_path_factory.mktemp("registry-mtls"), certs=certs
    ) as server:  # start() raises with the registry log: an error, never a skip
        yield server


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "a.txt").write_text("a\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_library_client_certificate(
    mtls_registry: RegistryServer, work: Path, unique_repo: str
) -> None:
    cert = (str(mtls_registry.client_cert), str(mtls_registry.client_key))
    target = f"{mtls_registry.host}/{unique_repo}:v1"
    client = oras.client.OrasClient(tls_verify=str(mtls_registry.ca_path), cert=cert)
    client.login(username="myuser", password="mypass", hostname=mtls_registry.host)
    assert client.push(files=["a.txt"], target=target).status_code == 201
    assert Path(client.pull(target=target, outdir="out")[0]).read_text() == "a\n"

    without = oras.client.OrasClient(tls_verify=str(mtls_registry.ca_path))
    without.set_basic_auth("myuser", "mypass")
    with pytest.raises(requests.exceptions.RequestException):
        without.get_tags(f"{mtls_registry.host}/{unique_repo}")


def test_cli_client_certificate(
    oras_cli: Any, mtls_registry: RegistryServer, work: Path, unique_repo: str
) -> None:
    tls = ["--ca-file", str(mtls_registry.ca_path)]
    mtls = [*tls, "--cert-file", str(mtls_registry.client_cert)]
    mtls += ["--key-file", str(mtls_registry.client_key)]
    # a loopback TLS registry is spoken to over HTTPS without --plain-http=false, even though
    # it refuses the probe's handshake for want of a client certificate
    login = oras_cli("login", *mtls, *CREDS, mtls_registry.host)
    assert login.returncode == 0, login.stderr
    target = f"{mtls_registry.host}/{unique_repo}:v1"
    pushed = oras_cli("push", *mtls, target, "a.txt")
    assert pushed.returncode == 0, pushed.stderr
    pulled = oras_cli("pull", *mtls, "-o", "out", target)
    assert pulled.returncode == 0, pulled.stderr
    assert (work / "out" / "a.txt").read_text() == "a\n"

    refused = oras_cli("pull", *tls, "-o", "out2", target)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert len([line for line in refused.stderr.splitlines() if line.startswith("Error:")]) == 1
    usage = oras_cli("pull", *tls, "--cert-file", str(mtls_registry.client_cert), target)
    assert usage.returncode == 2
    assert "Error: --cert-file and --key-file must be given together" in usage.stderr


def test_cli_skip_tls_verify(
    oras_cli: Any, tls_registry: RegistryServer, work: Path, unique_repo: str
) -> None:
    target = f"{tls_registry.host}/{unique_repo}:v1"
    pushed = oras_cli("push", "--skip-tls-verify", *CREDS, target, "a.txt")
    assert pushed.returncode == 0, pushed.stderr
    strict = oras_cli("pull", *CREDS, "-o", "out", target)
    assert strict.returncode == 1 and "TLS failure" in strict.stderr


def test_scheme_probe(
    mtls_registry: RegistryServer, tls_registry: RegistryServer, registry: RegistryServer
) -> None:
    assert speaks_tls(tls_registry.host)
    assert speaks_tls(mtls_registry.host)
    assert not speaks_tls(registry.host)
    for host in ("localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]:5000", "::1"):
        assert is_loopback(host), host
    for host in ("registry.example:5000", "10.0.0.1", "localhost.example.com"):
        assert not is_loopback(host), host
