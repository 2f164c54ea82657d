"""Shared fixtures: real registries per session, per-test credential isolation, the CLI runner."""

from __future__ import annotations

import os
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, Union

import pytest

from tests.harness.certs import CertPaths, generate_certs
from tests.harness.registry import RegistryServer
from tests.harness.tokenserver import TokenServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLI_TIMEOUT = 120

# Variables that would let a test read or write the developer's real credentials, or route
# traffic through a proxy instead of straight to 127.0.0.1.
_REMOVED_ENV = (
    "ORAS_USER",
    "ORAS_PASS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)

CliRunner = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    """CA, server (127.0.0.1/localhost), client and token-signer PEM files for the session."""
    return generate_certs(tmp_path_factory.mktemp("certs"))


def _serve(registry: RegistryServer) -> Iterator[RegistryServer]:
    # start() raises RuntimeError with the registry log: the fixture errors, it never skips.
    registry.start()
    try:
        yield registry
    finally:
        registry.stop()


#: `ORAS_TEST_REGISTRY=testing` serves the plain `registry` and `second_registry` fixtures from
#: this package's own test registry (oras.testing) instead of Distribution, so the same
#: integration tests check both; tests marked `needs_distribution` are then skipped.
REGISTRY_IMPL = os.environ.get("ORAS_TEST_REGISTRY", "distribution")
if REGISTRY_IMPL not in ("distribution", "testing"):
    raise pytest.UsageError(
        f"ORAS_TEST_REGISTRY={REGISTRY_IMPL!r}: expected distribution or testing"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_distribution: reads Distribution's storage or logs; skipped when the plain "
        "registry is oras.testing (ORAS_TEST_REGISTRY=testing)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if REGISTRY_IMPL != "testing":
        return
    skip = pytest.mark.skip(reason="needs Distribution (ORAS_TEST_REGISTRY=testing)")
    for item in items:
        if item.get_closest_marker("needs_distribution"):
            item.add_marker(skip)


def _plain_registry(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Any]:
    if REGISTRY_IMPL == "testing":
        from oras.testing import TestRegistry

        with TestRegistry(tmp_path_factory.mktemp(name) / "storage") as registry:
            yield registry
        return
    yield from _serve(RegistryServer("plain", workdir=tmp_path_factory.mktemp(name)))


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """Plain-HTTP registry without auth (Distribution, or oras.testing: see REGISTRY_IMPL)."""
    yield from _plain_registry(tmp_path_factory, "registry-plain")


@pytest.fixture(scope="session")
def second_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """Another plain-HTTP registry without auth: the other end of registry-to-registry copies."""
    yield from _plain_registry(tmp_path_factory, "registry-second")


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """Plain-HTTP registry with htpasswd auth (myuser/mypass, realm "basic-realm")."""
    yield from _serve(RegistryServer("basic", workdir=tmp_path_factory.mktemp("registry-basic")))


@pytest.fixture(scope="session")
def tls_registry(
    tmp_path_factory: pytest.TempPathFactory, certs: CertPaths
) -> Iterator[RegistryServer]:
    """HTTPS registry (certificate signed by `certs.ca_cert`) with htpasswd auth."""
    workdir = tmp_path_factory.mktemp("registry-tls")
    yield from _serve(RegistryServer("tls", workdir=workdir, certs=certs))


@pytest.fixture(scope="session")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, certs: CertPaths
) -> Iterator[RegistryServer]:
    """Plain-HTTP registry with Docker token auth; `.token_server` is the realm's server."""
    token_server = TokenServer(certs.token_key)
    workdir = tmp_path_factory.mktemp("registry-token")
    try:
        yield from _serve(
            RegistryServer("token", workdir=workdir, certs=certs, token_server=token_server)
        )
    finally:
        token_server.stop()


@pytest.fixture
def token_server(token_registry: RegistryServer) -> Iterator[TokenServer]:
    """The session token server with an empty request log; settings changed in a test are undone."""
    server = token_registry.token_server
    assert server is not None
    saved = (server.token_lifetime, server.exp_leeway, server.policy, dict(server.users))
    server.clear_log()
    yield server
    server.token_lifetime, server.exp_leeway, server.policy, users = saved
    server.users.clear()
    server.users.update(users)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point every credential location at fresh temp dirs so no test sees the real ~/.docker."""
    # A directory outside `tmp_path`, so tests that list or push tmp_path see only their files.
    root = tmp_path_factory.mktemp("env")
    for name in ("home", "docker-config", "xdg-runtime", "xdg-config"):
        (root / name).mkdir()
    monkeypatch.setenv("HOME", str(root / "home"))
    monkeypatch.setenv("DOCKER_CONFIG", str(root / "docker-config"))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(root / "no-such-auth.json"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(root / "xdg-runtime"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "xdg-config"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for name in _REMOVED_ENV:
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.fixture
def docker_config_dir(isolated_env: Path) -> Path:
    """The test's (initially empty) DOCKER_CONFIG directory; config.json goes inside it."""
    return isolated_env / "docker-config"


_NAME_ALPHABET = string.ascii_lowercase + string.digits


@pytest.fixture
def unique_repo(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses: `test/<test-name>-<6 random chars>`."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:48].strip("-")
    suffix = "".join(secrets.choice(_NAME_ALPHABET) for _ in range(6))
    return f"test/{slug or 't'}-{suffix}"


@pytest.fixture
def oras_cli(tmp_path: Path) -> CliRunner:
    """Return `run(*args, input=None, cwd=None, env=None)` that runs `python -m oras.cli`.

    The child inherits the isolated environment; `env` entries override it (None removes one).
    `cwd` defaults to the test's `tmp_path` so pulled files never land in the repository.
    """

    def run(
        *args: str,
        input: Optional[str] = None,
        cwd: Optional[Union[str, os.PathLike[str]]] = None,
        env: Optional[Mapping[str, Optional[str]]] = None,
    ) -> subprocess.CompletedProcess[str]:
        child_env = dict(os.environ)
        # The package is not necessarily installed; import it from the checkout under test.
        child_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), child_env.get("PYTHONPATH", "")) if p
        )
        for key, value in (env or {}).items():
            if value is None:
                child_env.pop(key, None)
            else:
                child_env[key] = value
        return subprocess.run(
            [sys.executable, "-m", "oras.cli", *map(str, args)],
            input=input,
            cwd=tmp_path if cwd is None else cwd,
            env=child_env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )

    return run


# -- fault-injecting proxy ----------------------------------------------------------------------
from tests.harness.proxy import FaultProxy  # noqa: E402


@pytest.fixture
def fault_proxy(registry: RegistryServer) -> Iterator[FaultProxy]:
    """A `FaultProxy` in front of the session plain `registry`: no faults, empty log, stopped after.

    Point clients at `fault_proxy.host`; the registry's `Location` URLs then lead back through it.
    """
    with FaultProxy(registry.url) as proxy:
        yield proxy
