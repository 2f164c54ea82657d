"""The user guide's "Within Python" examples, run as written against real registries.

The guide's `localhost:5000` becomes `localhost:<port>` of a fixture registry. Its login example
passes the username as the password, so it runs against a registry whose `myuser` has the
password `myuser`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import oras.auth
import oras.client
from tests.harness.registry import RegistryServer

TIMEOUT = 10
ARTIFACT_TEXT = "hello dinosaur\n"
ARTIFACT_DIGEST = "sha256:07f469745bff59a6956b1394bfb4c77196c9dbc9950ff1a9e6143798edf9856f"
# The manifest oras-py writes for artifact.txt with no config (byte for byte).
GUIDE_MANIFEST_DIGEST = "sha256:0fdf365d865b6c2e2a3e3b034f1acf522c95a2daa593fa596fe43a22cfe185fd"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def guide_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """An htpasswd registry where `myuser`'s password is `myuser`, as the guide's login assumes."""
    with RegistryServer(
        "basic", users={"myuser": "myuser"}, workdir=tmp_path_factory.mktemp("registry-guide")
    ) as server:  # start() raises with the registry log: an error, never a skip
        yield server


@pytest.fixture
def guide_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the guide's `artifact.txt`; temp dirs go under it too."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "artifact.txt").write_text(ARTIFACT_TEXT)
    monkeypatch.chdir(work)
    temp = tmp_path / "tmp"
    temp.mkdir()
    # The library's default pull directory is a fresh `oras-tmp.*` under the system temp dir.
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return work


def localhost(registry: RegistryServer) -> str:
    return f"localhost:{registry.port}"


def stored_auths(docker_config_dir: Path) -> dict[str, dict[str, str]]:
    path = docker_config_dir / "config.json"
    return json.loads(path.read_text()).get("auths", {}) if path.exists() else {}


# -- login and logout -----------------------------------------------------------------------------


def test_login_as_written_without_hostname(guide_cwd: Path, docker_config_dir: Path) -> None:
    """Verbatim: no hostname anywhere, so nothing to verify and nothing written to disk."""
    client = oras.client.OrasClient()
    result = client.login(password="myuser", username="myuser", insecure=True)
    assert result == {"Status": "Login Succeeded"}
    assert stored_auths(docker_config_dir) == {}


def test_login_and_logout(
    guide_registry: RegistryServer, guide_cwd: Path, docker_config_dir: Path
) -> None:
    host = localhost(guide_registry)
    client = oras.client.OrasClient(hostname=host)
    result = client.login(password="myuser", username="myuser", insecure=True)
    assert result == {"Status": "Login Succeeded"}
    assert host in stored_auths(docker_config_dir)

    client.logout(host)
    assert host not in stored_auths(docker_config_dir)


def test_login_with_hostname_argument(
    guide_registry: RegistryServer, guide_cwd: Path, docker_config_dir: Path
) -> None:
    host = localhost(guide_registry)
    client = oras.client.OrasClient()
    result = client.login(password="myuser", username="myuser", insecure=True, hostname=host)
    assert result == {"Status": "Login Succeeded"}
    assert host in stored_auths(docker_config_dir)


def test_login_wrong_password_raises(
    guide_registry: RegistryServer, guide_cwd: Path, docker_config_dir: Path
) -> None:
    host = localhost(guide_registry)
    client = oras.client.OrasClient(hostname=host)
    with pytest.raises(oras.auth.AuthenticationException):
        client.login(password="mypass", username="myuser", insecure=True)
    assert host not in stored_auths(docker_config_dir)


# -- push and pull ------------------------------------------------------------------------------


def test_push_then_pull(registry: RegistryServer, guide_cwd: Path) -> None:
    target = f"{localhost(registry)}/dinosaur/artifact:v1"
    client = oras.client.OrasClient(insecure=True)
    response = client.push(files=["artifact.txt"], target=target)
    assert isinstance(response, requests.Response)
    assert response.status_code == 201
    assert response.headers["Docker-Content-Digest"] == GUIDE_MANIFEST_DIGEST

    fetched = requests.get(
        f"{registry.url}/v2/dinosaur/artifact/manifests/v1",
        headers={"Accept": MANIFEST_TYPE},
        timeout=TIMEOUT,
    )
    assert fetched.status_code == 200
    assert "sha256:" + hashlib.sha256(fetched.content).hexdigest() == GUIDE_MANIFEST_DIGEST
    [layer] = fetched.json()["layers"]
    assert layer["digest"] == ARTIFACT_DIGEST
    assert layer["annotations"]["org.opencontainers.image.title"] == "artifact.txt"

    res = client.pull(target=target)
    assert isinstance(res, list) and len(res) == 1
    [path] = res
    assert os.path.isabs(path)
    assert os.path.basename(path) == "artifact.txt"
    assert os.path.basename(os.path.dirname(path)).startswith("oras-tmp.")
    assert Path(path).read_text() == ARTIFACT_TEXT
    # The default pull target is a temp dir, never the working directory.
    assert sorted(os.listdir(guide_cwd)) == ["artifact.txt"]


def test_push_and_pull_with_saved_login(
    guide_registry: RegistryServer, guide_cwd: Path, unique_repo: str
) -> None:
    """After the guide's login, a fresh client pushes and pulls using the stored credentials."""
    host = localhost(guide_registry)
    oras.client.OrasClient(hostname=host).login(password="myuser", username="myuser", insecure=True)
    client = oras.client.OrasClient(insecure=True)
    target = f"{host}/{unique_repo}:v1"
    response = client.push(files=["artifact.txt"], target=target)
    assert response.status_code == 201
    assert response.headers["Docker-Content-Digest"] == GUIDE_MANIFEST_DIGEST

    [path] = client.pull(target=target, outdir="out")
    assert path == str(guide_cwd / "out" / "artifact.txt")
    assert Path(path).read_text() == ARTIFACT_TEXT

    client.logout(host)
    with pytest.raises(oras.auth.AuthenticationException):
        oras.client.OrasClient(insecure=True).push(files=["artifact.txt"], target=target)
