"""The repository's Dockerfile builds (with podman, from a locally made base) and the image works.

`scripts/build-image.sh` makes the image as a user's `docker build -t oras-py .` would; the tests
then run it as the user guide does (`docker run -it oras-py`, `which oras-py`) and push and pull
against a registry on this machine through `--network host`. podman comes from Debian's
packages (scripts/setup-deps.sh --tests installs it): without it these tests fail, never skip.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from oras.version import __version__
from tests.conftest import CliRunner
from tests.harness.process import run_checked
from tests.harness.registry import RegistryServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/oras-py:test"
VENV = "/opt/oras-py"
BUILD_TIMEOUT = 1200
RUN_TIMEOUT = 120

# podman as this machine needs it (issue 5): runc with cgroupfs, and explicit ulimits.
PODMAN = ("podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs")
RUN_FLAGS = ("--rm", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768")

# podman runs with the real environment, not the per-test one of tests/conftest.py (whose
# REGISTRY_AUTH_FILE and XDG dirs point into empty temporary directories).
HOST_ENV = dict(os.environ)


def podman(*args: str, input: str | None = None, timeout: float = RUN_TIMEOUT) -> str:
    """Run podman; its stdout, or fail the test with its output."""
    result = run_checked(
        [*PODMAN, *args], f"podman {' '.join(args)}", input=input, env=HOST_ENV, timeout=timeout
    )
    return result.stdout


def run_in_image(
    image: str, command: Sequence[str], *, input: str | None = None, user: str | None = None
) -> str:
    """`podman run` the image with host networking; the command's stdout."""
    flags = [*RUN_FLAGS, "--network", "host"]
    if input is not None:
        flags.append("-i")
    if user is not None:
        flags += ["--user", user]
    return podman("run", *flags, image, *command, input=input)


@pytest.fixture(scope="module")
def image() -> str:
    """Build the image with scripts/build-image.sh; the tag."""
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed (scripts/setup-deps.sh --tests installs it)")
    started = time.monotonic()
    run_checked(
        [PROJECT_ROOT / "scripts" / "build-image.sh", IMAGE],
        "scripts/build-image.sh",
        cwd=PROJECT_ROOT,
        env=HOST_ENV,
        timeout=BUILD_TIMEOUT,
    )
    print(f"image {IMAGE} built in {time.monotonic() - started:.1f} s")
    return IMAGE


def test_guide_docker_run_then_which(image: str) -> None:
    # `docker run -it oras-py` opens a shell; typing `which oras-py` there finds the CLI.
    config = json.loads(podman("image", "inspect", image))[0]["Config"]
    assert config["Cmd"] == ["bash"]
    assert not config.get("Entrypoint")
    out = run_in_image(image, [], input="which oras-py\noras-py version\n")
    lines = out.splitlines()
    assert lines[0] == f"{VENV}/bin/oras-py"
    assert lines[1] == f"Version: {__version__}"


def test_version_command(image: str) -> None:
    out = run_in_image(image, ["oras-py", "version"])
    assert out.splitlines()[0] == f"Version: {__version__}"
    assert out.splitlines()[1].startswith("Python version: 3.")
    assert run_in_image(image, ["python3", "-c", "import oras; print(oras.__file__)"]).startswith(
        f"{VENV}/lib/"
    )


def test_runs_as_non_root_user(image: str) -> None:
    assert json.loads(podman("image", "inspect", image))[0]["Config"]["User"] == "oras"
    assert run_in_image(image, ["id", "-u"]).strip() == "1000"
    assert run_in_image(image, ["pwd"]).strip() == "/home/oras"


def test_no_build_tools_or_caches(image: str) -> None:
    script = r"""
        for tool in pip pip3 gcc cc make; do command -v "$tool" && echo "tool: $tool"; done
        for module in pip setuptools ensurepip; do
            python3 -c "import $module" 2>/dev/null && echo "module: $module"
        done
        find /var/lib/apt/lists /var/cache/apt -type f ! -name lock | sed 's/^/apt: /'
        for dir in /src /opt/pip /root/.cache /home/oras/.cache; do
            [ -e "$dir" ] && echo "left: $dir"
        done
        # scripts/build-image.sh mounts the host's CA bundle on /mnt for the build only.
        find /mnt /run -mindepth 1 -maxdepth 1 ! -name .containerenv ! -name lock ! -name mount \
            | sed 's/^/left: /'
        env | grep -i -e '^PIP_' -e 'CERT' | sed 's/^/env: /'
        true
    """
    assert run_in_image(image, ["sh", "-c", script], user="root").split() == []


def test_push_and_pull_against_a_local_registry(
    image: str, registry: RegistryServer, unique_repo: str, oras_cli: CliRunner, tmp_path: Path
) -> None:
    # `localhost` gets plain HTTP by default, as in the user guide.
    target = f"localhost:{registry.port}/{unique_repo}:v1"
    script = f"""
        set -e
        cd "$(mktemp -d)"
        echo "hello dinosaur" > artifact.txt
        oras-py push {target} \\
            --manifest-config /dev/null:application/vnd.acme.rocket.config ./artifact.txt
        rm artifact.txt
        oras-py pull {target}
        cat artifact.txt
    """
    out = run_in_image(image, ["sh", "-c", script])
    assert out.splitlines() == [f"Successfully pushed {target}", "hello dinosaur"]
    # The registry on the host really holds it: pull it here with the checkout's CLI.
    result = oras_cli("pull", registry.ref(unique_repo, "v1"), "--plain-http", "-o", "out")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "artifact.txt").read_text() == "hello dinosaur\n"
