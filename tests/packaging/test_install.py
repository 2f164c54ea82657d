"""The sdist and wheel build, and `oras` installs into fresh virtual environments as users do.

One venv gets the built wheel, another an editable install of the checkout (`pip install -e .`);
each is checked through its own interpreter: the `oras-py` command, `import oras` and the
metadata that `importlib.metadata` reads.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from oras.version import __version__
from tests.harness.process import run_checked

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300

# The pip cache of whoever runs the suite: the autouse fixture in tests/conftest.py points HOME at
# an empty directory, and without the cache every run would download the dependencies again.
PIP_CACHE_DIR = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")

PROJECT_URLS = {
    "Homepage": "https://github.com/oras-project/oras-py",
    "Documentation": "https://oras-project.github.io/oras-py/",
    "Source": "https://github.com/oras-project/oras-py",
    "Issues": "https://github.com/oras-project/oras-py/issues",
}

# Prints what importlib.metadata knows about the installed `oras`, as JSON.
METADATA_SCRIPT = """
import importlib.metadata as md, json, oras
meta = md.metadata("oras")
data = {key: meta.get_all(key) for key in set(meta.keys())}
data["Description"] = meta.get_payload() or meta.get("Description")
data["oras.__file__"] = oras.__file__
data["oras.__version__"] = oras.__version__
print(json.dumps(data))
"""


def run(*args: str | Path, cwd: Path) -> str:
    """Run a command with the checkout kept off `sys.path`; its stdout, or fail with its output."""
    env = dict(os.environ, PIP_CACHE_DIR=PIP_CACHE_DIR, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    return run_checked(args, cwd=cwd, env=env, timeout=TIMEOUT).stdout


def make_venv(path: Path) -> Path:
    """A fresh venv with pip, as `python -m venv` makes it; returns its bin directory."""
    run(sys.executable, "-m", "venv", path, cwd=path.parent)
    return path / "bin"


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`python -m build`: the sdist, and the wheel built from that sdist."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, PROJECT_ROOT, cwd=out)
    sdists = list(out.glob("oras-*.tar.gz"))
    wheels = list(out.glob("oras-*-py3-none-any.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return {"sdist": sdists[0], "wheel": wheels[0]}


@pytest.fixture(scope="module")
def wheel_venv(dists: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin directory of a venv with the built wheel installed."""
    bin_dir = make_venv(tmp_path_factory.mktemp("wheel") / "venv")
    run(bin_dir / "python", "-m", "pip", "install", "-q", dists["wheel"], cwd=bin_dir)
    yield bin_dir


@pytest.fixture(scope="module")
def editable_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin directory of a venv with `pip install -e <checkout>`."""
    bin_dir = make_venv(tmp_path_factory.mktemp("editable") / "venv")
    run(bin_dir / "python", "-m", "pip", "install", "-q", "-e", PROJECT_ROOT, cwd=bin_dir)
    yield bin_dir


def installed_metadata(bin_dir: Path) -> dict:
    return json.loads(run(bin_dir / "python", "-c", METADATA_SCRIPT, cwd=bin_dir))


def test_sdist_has_readme_license_and_pyproject(dists: dict[str, Path]) -> None:
    top = f"oras-{__version__}"
    with tarfile.open(dists["sdist"]) as tar:
        names = set(tar.getnames())
        pkg_info = tar.extractfile(f"{top}/PKG-INFO")
        assert pkg_info is not None
        assert f"Version: {__version__}" in pkg_info.read().decode()
    for name in ("README.md", "LICENSE", "pyproject.toml", "PKG-INFO", "oras/__init__.py"):
        assert f"{top}/{name}" in names, f"{name} missing from the sdist"
    assert f"{top}/oras/cli/main.py" in names
    assert not any("__pycache__" in n or "/.venv/" in n or "/.git/" in n for n in names)


def test_wheel_has_the_package_license_and_entry_point(dists: dict[str, Path]) -> None:
    info = f"oras-{__version__}.dist-info"
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = set(wheel.namelist())
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert "oras/__init__.py" in names and "oras/cli/main.py" in names
    assert f"{info}/licenses/LICENSE" in names
    assert re.search(r"^oras-py\s*=\s*oras\.cli\.main:main$", entry_points, re.M)
    assert not any(n.startswith(("tests/", "docs/", "examples/")) for n in names)


def test_wheel_install_gives_a_working_cli(wheel_venv: Path) -> None:
    out = run(wheel_venv / "oras-py", "version", cwd=wheel_venv)
    assert out.splitlines()[0] == f"Version: {__version__}"
    assert out.splitlines()[1].startswith("Python version: ")
    assert not any(line.startswith("Git commit:") for line in out.splitlines())  # no checkout


def test_wheel_install_metadata(wheel_venv: Path) -> None:
    meta = installed_metadata(wheel_venv)
    # Imported from the venv's site-packages, not from the checkout.
    assert "site-packages" in meta["oras.__file__"]
    assert not meta["oras.__file__"].startswith(str(PROJECT_ROOT))
    assert meta["Version"] == [__version__] and meta["oras.__version__"] == __version__
    assert meta["Name"] == ["oras"]
    assert meta["License-Expression"] == ["Apache-2.0"]
    assert meta["License-File"] == ["LICENSE"]
    urls = dict(u.split(", ", 1) for u in meta["Project-URL"])
    assert urls == PROJECT_URLS
    classifiers = meta["Classifier"]
    assert "Programming Language :: Python :: 3" in classifiers
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    assert meta["Requires-Python"] == [">=3.9"]
    runtime = sorted(
        re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0]
        for r in meta["Requires-Dist"]
        if "extra" not in r
    )
    assert runtime == ["jsonschema", "requests"]
    assert meta["Description-Content-Type"] == ["text/markdown"]
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert meta["Description"].strip() == readme.strip()


def test_editable_install_runs_the_checkout(editable_venv: Path) -> None:
    out = run(editable_venv / "oras-py", "version", cwd=editable_venv)
    assert out.splitlines()[0] == f"Version: {__version__}"
    meta = installed_metadata(editable_venv)
    # Development mode: the code imported is the checkout itself, so edits are live.
    assert Path(meta["oras.__file__"]).resolve() == PROJECT_ROOT / "oras" / "__init__.py"
    assert meta["Version"] == [__version__]
    assert dict(u.split(", ", 1) for u in meta["Project-URL"]) == PROJECT_URLS
