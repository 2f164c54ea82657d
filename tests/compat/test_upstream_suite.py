"""oras-py's own test suite, from its 0.2.43 wheel, run against this package in upstream's two modes.

The wheel is fetched with `pip download` (cached in the git-ignored `.cache/upstream/`, checked
against a pinned sha256) and its `oras/tests/` extracted into a temporary directory as the package
`upstream_tests`, so `import oras` there is this checkout (the plugin `upstream_plugin` checks it).
Each mode gets a real registry on a free loopback port, and the suite runs in a child pytest with
the environment upstream's CI sets (ORAS_HOST, ORAS_PORT, ORAS_USER, ORAS_PASS, ORAS_AUTH):

- `plain-http`: plain HTTP, no auth (upstream's main workflow);
- `https-htpasswd`: HTTPS with a certificate the tests do not verify, htpasswd myuser/mypass
  (upstream's auth workflow);
- `plain-http-testing`: the plain mode against this package's own test registry
  (oras.testing) instead of Distribution.

Four upstream tests talk to ghcr.io (tag paging, TLS verification). Their traffic goes through
`HTTPS_PROXY` to a `ConnectTunnel` that sends ghcr.io:443 to a local anonymous HTTPS registry
holding the repository they list, with a certificate for ghcr.io from the test CA. Any other
host, over HTTPS or (through `HTTP_PROXY`) plain HTTP, is refused and fails the run, so nothing
leaves the machine; only loopback addresses bypass the proxy. `test_chunked_push` runs with a 64 MiB file
instead of 16 GiB (see upstream_plugin.py). Nothing else is changed, skipped or deselected:
a failure here is a behaviour of ours that oras-py's users would see differ.

A wheel that cannot be fetched, or a registry that does not start, fails the test.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Union
from xml.etree import ElementTree

import pytest
import requests

from oras.testing import TestRegistry
from tests.harness.certs import CertPaths, generate_certs
from tests.harness.registry import RegistryServer
from tests.harness.tunnel import ConnectTunnel

PROJECT_ROOT = Path(__file__).resolve().parents[2]
UPSTREAM_VERSION = "0.2.43"
UPSTREAM_WHEEL = f"oras-{UPSTREAM_VERSION}-py3-none-any.whl"
UPSTREAM_WHEEL_SHA256 = "bf295b1cfb5017f579c35c3394c7a71707f6aff463cb6699d5d191a6d8b56ea6"
CACHE_DIR = PROJECT_ROOT / ".cache" / "upstream"
DOWNLOAD_TIMEOUT = 180
SUITE_TIMEOUT = 600

#: What the ghcr.io tests list: more than 1500 tags, read with N=1005 and N=10 too.
GHCR = "ghcr.io"
GHCR_REPOSITORY = "channel-mirrors/conda-forge/linux-aarch64/arrow-cpp"
GHCR_TAGS = 1600
#: Upstream tests that reach ghcr.io (each opens at least one tunnel).
GHCR_TESTS = 4


@dataclass(frozen=True)
class Mode:
    registry: str  # RegistryServer mode
    with_auth: bool
    #: Fewest passing tests: everything collected except the other mode's `with_auth` tests.
    min_passed: int


MODES = {
    "plain-http": Mode("plain", with_auth=False, min_passed=71),
    "https-htpasswd": Mode("tls", with_auth=True, min_passed=60),
    # Upstream's plain mode against this package's own test registry (oras.testing).
    "plain-http-testing": Mode("testing", with_auth=False, min_passed=71),
}


@dataclass
class SuiteReport:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def upstream_wheel() -> Path:
    """The pinned oras-py wheel, downloaded once into .cache/upstream/."""
    wheel = CACHE_DIR / UPSTREAM_WHEEL
    if wheel.is_file() and _sha256(wheel) == UPSTREAM_WHEEL_SHA256:
        return wheel
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    wheel.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        f"oras=={UPSTREAM_VERSION}",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--dest",
        str(CACHE_DIR),
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"pip download of oras=={UPSTREAM_VERSION} took over {DOWNLOAD_TIMEOUT} s")
    if result.returncode != 0 or not wheel.is_file():
        pytest.fail(
            f"could not download oras=={UPSTREAM_VERSION} (exit {result.returncode}):\n"
            f"{result.stderr[-3000:]}"
        )
    actual = _sha256(wheel)
    if actual != UPSTREAM_WHEEL_SHA256:
        wheel.unlink()
        pytest.fail(f"{UPSTREAM_WHEEL} has sha256 {actual}, expected {UPSTREAM_WHEEL_SHA256}")
    return wheel


def extract_suite(wheel: Path, directory: Path) -> Path:
    """Write the wheel's oras/tests/ as `directory/upstream_tests` (not importable as oras.*)."""
    suite = directory / "upstream_tests"
    prefix = "oras/tests/"
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.infolist() if m.filename.startswith(prefix)]
        for member in members:
            relative = member.filename[len(prefix) :]
            if not relative or member.is_dir() or ".." in relative.split("/"):
                continue
            target = suite / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))
    if not (suite / "conftest.py").is_file():
        pytest.fail(f"{wheel.name} holds no oras/tests/conftest.py")
    return suite


@pytest.fixture(scope="module")
def compat_certs(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    """Test CA and a server certificate for 127.0.0.1, localhost and ghcr.io."""
    return generate_certs(tmp_path_factory.mktemp("compat-certs"), server_names=[GHCR])


def _fill_tags(registry: RegistryServer, repository: str, count: int) -> None:
    """Give `repository` one small manifest under `count` tags (v0000, v0001, ...).

    The first tag goes through the API; the others are copies of its tag directory in the
    registry's storage, as the API would write them (1600 manifest PUTs take 10 s or more on a
    busy machine, the copies a fraction of one). The tag list is read back to check.
    """
    session = requests.Session()
    session.verify = str(registry.ca_path)
    session.trust_env = False
    base = f"{registry.url}/v2/{repository}"
    config = b"{}"
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    started = session.post(f"{base}/blobs/uploads/")
    started.raise_for_status()
    location = started.headers["Location"]
    if location.startswith("/"):
        location = registry.url + location
    separator = "&" if "?" in location else "?"
    session.put(f"{location}{separator}digest={digest}", data=config).raise_for_status()
    media_type = "application/vnd.oci.image.manifest.v1+json"
    manifest = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {
            "mediaType": "application/vnd.unknown.config.v1+json",
            "digest": digest,
            "size": len(config),
        },
        "layers": [],
    }
    first = "v0000"
    session.put(
        f"{base}/manifests/{first}",
        data=json.dumps(manifest).encode(),
        headers={"Content-Type": media_type},
    ).raise_for_status()
    tags_dir = (
        registry.storage_dir / "docker/registry/v2/repositories" / repository / "_manifests/tags"
    )
    for i in range(1, count):
        shutil.copytree(tags_dir / first, tags_dir / f"v{i:04d}")
    listed = session.get(f"{base}/tags/list").json().get("tags") or []
    session.close()
    if len(listed) != count:
        raise RuntimeError(f"{repository} lists {len(listed)} tags after writing {count}")


@pytest.fixture(scope="module")
def ghcr_stand_in(compat_certs: CertPaths) -> Iterator[ConnectTunnel]:
    """A tunnel whose only route is ghcr.io:443, to a local anonymous HTTPS registry."""
    # Its storage is thousands of tiny directories: on tmpfs when there is one, since creating
    # and removing them on a busy disk takes seconds.
    shm = Path("/dev/shm")
    fast = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    workdir = Path(tempfile.mkdtemp(prefix="oras-ghcr-stand-in-", dir=fast))
    try:
        with RegistryServer("tls", workdir=workdir, certs=compat_certs, anonymous=True) as registry:
            _fill_tags(registry, GHCR_REPOSITORY, GHCR_TAGS)
            with ConnectTunnel({f"{GHCR}:443": registry.host}) as tunnel:
                yield tunnel
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parse_junit(path: Path) -> SuiteReport:
    report = SuiteReport()
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            report.failed.append(name)
        elif (skipped := case.find("skipped")) is not None:
            report.skipped.append((name, skipped.get("message") or ""))
        else:
            report.passed.append(name)
    return report


def run_suite(
    suite: Path,
    registry: Union[RegistryServer, TestRegistry],
    mode: Mode,
    certs: CertPaths,
    tunnel: ConnectTunnel,
) -> tuple[subprocess.CompletedProcess[str], SuiteReport]:
    run_dir = suite.parent
    ini = run_dir / "pytest.ini"
    ini.write_text("[pytest]\n")
    junit = run_dir / "report.xml"
    env = dict(os.environ)
    # As upstream's scripts/test.sh exports them; ORAS_AUTH only in the auth workflow.
    env.update(
        ORAS_HOST="localhost",
        ORAS_PORT=str(registry.port),
        ORAS_REGISTRY=f"localhost:{registry.port}",
        ORAS_USER="myuser",
        ORAS_PASS="mypass",
        ORAS_UNDER_TEST=str(PROJECT_ROOT),
        PYTHONPATH=os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p),
        PYTHONDONTWRITEBYTECODE="1",
        HTTPS_PROXY=tunnel.url,
        https_proxy=tunnel.url,
        HTTP_PROXY=tunnel.url,
        http_proxy=tunnel.url,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        REQUESTS_CA_BUNDLE=str(certs.ca_cert),
    )
    env.pop("CURL_CA_BUNDLE", None)
    if mode.with_auth:
        env["ORAS_AUTH"] = "true"
    else:
        env.pop("ORAS_AUTH", None)
    command = [
        sys.executable,
        "-m",
        "pytest",
        suite.name,
        "-c",
        str(ini),
        "--rootdir",
        str(run_dir),
        # Outside the working directory: upstream checks that a file in tmp_path is refused
        # as "not in the present working directory".
        "--basetemp",
        str(run_dir.parent / "basetemp"),
        "--junitxml",
        str(junit),
        "-p",
        "no:cacheprovider",
        "-p",
        "tests.compat.upstream_plugin",
        "-q",
        "-rfEs",
    ]
    try:
        result = subprocess.run(
            command,
            cwd=run_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=SUITE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"upstream suite ran over {SUITE_TIMEOUT} s:\n{e.stdout or ''}")
    if not junit.is_file():
        pytest.fail(f"upstream suite wrote no report (exit {result.returncode}):\n{result.stdout}")
    return result, parse_junit(junit)


@pytest.mark.parametrize("mode_name", list(MODES))
def test_upstream_suite_passes(
    mode_name: str,
    upstream_wheel: Path,
    compat_certs: CertPaths,
    ghcr_stand_in: ConnectTunnel,
    tmp_path: Path,
) -> None:
    mode = MODES[mode_name]
    suite = extract_suite(upstream_wheel, tmp_path / "run")
    certs = compat_certs if mode.registry == "tls" else None
    tunnels_before = ghcr_stand_in.routed(f"{GHCR}:443")
    server: Union[RegistryServer, TestRegistry]
    if mode.registry == "testing":
        server = TestRegistry(tmp_path / "registry")
    else:
        server = RegistryServer(mode.registry, workdir=tmp_path / "registry", certs=certs)
    with server as registry:
        result, report = run_suite(suite, registry, mode, compat_certs, ghcr_stand_in)
        registry_log = registry.log_tail(lines=10)

    if report.failed or result.returncode != 0:
        pytest.fail(
            f"oras-py {UPSTREAM_VERSION}'s suite in mode {mode_name}: "
            f"{len(report.failed)} failed, {len(report.passed)} passed "
            f"(exit {result.returncode})\n"
            + "".join(f"  FAILED {name}\n" for name in report.failed)
            + f"--- pytest output (tail) ---\n{result.stdout[-8000:]}{result.stderr[-2000:]}"
            + f"--- registry log (tail) ---\n{registry_log}"
        )
    assert len(report.passed) >= mode.min_passed, result.stdout[-4000:]
    # The only skips are upstream's own: the tests meant for the other mode.
    unexpected = [(n, why) for n, why in report.skipped if not why.startswith("test requires")]
    assert not unexpected, unexpected
    # The ghcr.io tests went through the stand-in, and nothing tried to reach another host.
    # (The tunnel outlives one mode: its log holds both runs.)
    assert ghcr_stand_in.routed(f"{GHCR}:443") - tunnels_before >= GHCR_TESTS
    assert all(routed for _, routed in ghcr_stand_in.log), ghcr_stand_in.log
