"""Credential lookup order, podman namespaces, helpers and writing, without a registry."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from oras.credentials import Credential, CredentialStore
from oras.credentials.store import DOCKER_HUB_KEY, split_server_key
from oras.errors import CredentialHelperError
from tests.harness.credhelper import FakeHelper

HOST = "registry.example:5000"


def _auth(user: str, password: str) -> dict[str, str]:
    return {"auth": Credential(user, password).basic or ""}


def _write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHelper:
    fake = FakeHelper(tmp_path / "helper")
    monkeypatch.setenv("PATH", f"{fake.bindir}{os.pathsep}{os.environ['PATH']}")
    return fake


@pytest.fixture
def docker_config(docker_config_dir: Path) -> Path:
    return docker_config_dir / "config.json"


def test_split_server_key() -> None:
    assert split_server_key("https://host:5000/v1/") == ("host:5000", "")
    assert split_server_key("host:5000") == ("host:5000", "")
    assert split_server_key("host:5000/team/app") == ("host:5000", "team/app")
    assert split_server_key(DOCKER_HUB_KEY) == ("docker.io", "")
    assert split_server_key("registry-1.docker.io/library/x") == ("docker.io", "library/x")


def test_auths_entry_forms(docker_config: Path) -> None:
    _write(
        docker_config,
        {
            "auths": {
                "https://a.example/v1/": _auth("ua", "pa"),
                "b.example": {"username": "ub", "password": "pb"},
                "c.example": {"identitytoken": "refresh-c", **_auth("uc", "x")},
                "d.example": {"registrytoken": "bearer-d"},
                "e.example": {},
            }
        },
    )
    store = CredentialStore()
    assert store.get("a.example") == Credential("ua", "pa")
    assert store.get("b.example") == Credential("ub", "pb")
    assert store.get("c.example") == Credential(username="uc", identity_token="refresh-c")
    assert store.get("d.example") == Credential(registry_token="bearer-d")
    assert not store.get("e.example")
    assert not store.get("unknown.example")


def test_docker_hub_uses_the_legacy_key(docker_config: Path) -> None:
    _write(docker_config, {"auths": {DOCKER_HUB_KEY: _auth("hub", "pw")}})
    for host in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        assert CredentialStore().get(host) == Credential("hub", "pw")


def test_order_cred_helpers_then_creds_store_then_auths(
    docker_config: Path, helper: FakeHelper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = FakeHelper(tmp_path / "other", name="other")
    monkeypatch.setenv("PATH", f"{other.bindir}{os.pathsep}{os.environ['PATH']}")
    _write(
        docker_config,
        {
            "credHelpers": {HOST: "test"},
            "credsStore": "other",
            "auths": {HOST: _auth("file", "pw"), "only-file.example": _auth("f2", "pw2")},
        },
    )
    helper.put(HOST, "from-cred-helpers", "s1")
    other.put(HOST, "from-creds-store", "s2")
    other.put("store-only.example", "from-creds-store", "s3")
    store = CredentialStore()
    assert store.get(HOST) == Credential("from-cred-helpers", "s1")
    assert store.get("store-only.example") == Credential("from-creds-store", "s3")
    # "credentials not found" from the helper means none there: the file entry is next
    assert store.get("only-file.example") == Credential("f2", "pw2")
    assert [c["input"] for c in helper.calls("get")] == [HOST]


def test_helper_identity_token(docker_config: Path, helper: FakeHelper) -> None:
    _write(docker_config, {"credsStore": "test"})
    helper.put(HOST, "<token>", "refresh-me")
    assert CredentialStore().get(HOST) == Credential(identity_token="refresh-me")


def test_docker_config_before_podman_files_in_their_order(
    docker_config: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry_auth_file = _write(isolated_env / "auth.json", {"auths": {HOST: _auth("raf", "1")}})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(registry_auth_file))
    runtime = _write(
        isolated_env / "xdg-runtime" / "containers" / "auth.json",
        {"auths": {HOST: _auth("runtime", "2"), "rt.example": _auth("runtime", "2")}},
    )
    _write(
        isolated_env / "xdg-config" / "containers" / "auth.json",
        {"auths": {"cfg.example": _auth("config", "3"), "rt.example": _auth("config", "3")}},
    )
    _write(docker_config, {"auths": {"docker.example": _auth("docker", "0")}})
    store = CredentialStore()
    assert store.get(HOST).username == "raf"
    assert store.get("rt.example").username == "runtime"
    assert store.get("cfg.example").username == "config"
    assert store.get("docker.example").username == "docker"
    _write(docker_config, {"auths": {HOST: _auth("docker", "0")}})
    assert store.get(HOST).username == "docker"
    assert runtime.exists()


def test_legacy_dockercfg(isolated_env: Path) -> None:
    _write(isolated_env / "home" / ".dockercfg", {HOST: _auth("old", "pw")})
    assert CredentialStore().get(HOST) == Credential("old", "pw")


def test_podman_namespaced_keys_longest_match_wins(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(
        isolated_env / "auth.json",
        {
            "auths": {
                HOST: _auth("host", "h"),
                f"{HOST}/team": _auth("team", "t"),
                f"{HOST}/team/app": _auth("app", "a"),
            }
        },
    )
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(path))
    store = CredentialStore()
    assert store.get(HOST, "team/app").username == "app"
    assert store.get(HOST, "team/app/sub").username == "app"
    assert store.get(HOST, "team/other").username == "team"
    assert store.get(HOST, "teammate/x").username == "host"
    assert store.get(HOST).username == "host"


def test_explicit_config_files_replace_the_defaults(
    docker_config: Path, tmp_path: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(docker_config, {"auths": {HOST: _auth("default", "d")}})
    podman = _write(isolated_env / "auth.json", {"auths": {"p.example": _auth("p", "p")}})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(podman))
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    _write(second, {"auths": {"second.example": _auth("second", "s")}})
    store = CredentialStore([str(first), str(second)])
    assert store.get("second.example").username == "second"
    assert not store.get(HOST)  # the default docker config is not read
    assert not store.get("p.example")  # nor podman's files
    store.store(HOST, Credential("new", "n"))
    assert json.loads(first.read_text())["auths"][HOST] == _auth("new", "n")
    assert "new" not in second.read_text()


def test_store_writes_0600_and_keeps_unknown_keys(docker_config: Path) -> None:
    _write(docker_config, {"HttpHeaders": {"X-Team": "a"}, "auths": {"o.example": {}}})
    docker_config.chmod(0o644)
    where = CredentialStore().store(HOST, Credential("me", "pw"))
    assert where == str(docker_config)
    data = json.loads(docker_config.read_text())
    assert data["HttpHeaders"] == {"X-Team": "a"}
    assert data["auths"] == {"o.example": {}, HOST: _auth("me", "pw")}
    assert stat.S_IMODE(docker_config.stat().st_mode) == 0o600
    CredentialStore().store(HOST, Credential(identity_token="refresh"))
    assert json.loads(docker_config.read_text())["auths"][HOST] == {"identitytoken": "refresh"}
    assert CredentialStore().erase(HOST)
    assert HOST not in json.loads(docker_config.read_text())["auths"]
    assert not CredentialStore().erase(HOST)


def test_store_and_erase_through_the_helper(docker_config: Path, helper: FakeHelper) -> None:
    _write(docker_config, {"credsStore": "test"})
    where = CredentialStore().store(HOST, Credential("me", "secret-pw"))
    assert where == "docker-credential-test"
    assert helper.entries() == {HOST: {"Username": "me", "Secret": "secret-pw"}}
    assert "secret-pw" not in docker_config.read_text()
    assert json.loads(docker_config.read_text())["auths"] == {HOST: {}}
    CredentialStore().store("docker.io", Credential(identity_token="tok"))
    assert helper.entries()[DOCKER_HUB_KEY] == {"Username": "<token>", "Secret": "tok"}
    assert CredentialStore().erase(HOST)
    assert HOST not in helper.entries()
    assert [c["input"] for c in helper.calls("erase")] == [HOST]
    assert not CredentialStore().erase(HOST)


def test_missing_helper_is_one_clear_error_naming_it_and_its_config(docker_config: Path) -> None:
    _write(docker_config, {"credHelpers": {HOST: "nope"}})
    with pytest.raises(CredentialHelperError) as info:
        CredentialStore().get(HOST)
    message = str(info.value)
    assert "docker-credential-nope not found in PATH" in message
    assert f'credHelpers["{HOST}"]' in message and str(docker_config) in message
    assert "\n" not in message


def test_failing_helper_is_an_error_not_an_empty_credential(
    docker_config: Path, helper: FakeHelper
) -> None:
    _write(docker_config, {"credsStore": "test"})
    helper.fail("error getting credentials - err: exit status 1,\nout: `keychain locked`")
    with pytest.raises(CredentialHelperError) as info:
        CredentialStore().get(HOST)
    message = str(info.value)
    assert "docker-credential-test get failed" in message and "keychain locked" in message
    assert f"credsStore in {docker_config}" in message
    assert "\n" not in message
    with pytest.raises(CredentialHelperError, match="docker-credential-test store failed"):
        CredentialStore().store(HOST, Credential("a", "b"))


def test_credential_repr_hides_secrets() -> None:
    cred = Credential("me", "hunter2", identity_token="tok")
    assert "hunter2" not in repr(cred) and "tok" not in str(cred)
    assert "hunter2" not in cred.identity and "tok" not in cred.identity
    assert Credential("me", "a").identity != Credential("me", "b").identity
    assert Credential().identity == "anonymous"
