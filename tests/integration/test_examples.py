"""The scripts under examples/ run end to end against a real registry and do what they print."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest
import requests

from tests.harness.registry import RegistryServer

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"
TIMEOUT = 60

INDEX_MEDIA_TYPE = "application/vnd.conda.info.index.v1+json"
PACKAGE_MEDIA_TYPE = "application/vnd.conda.package.v1"

# compat.md 11.1: artifact.txt holding "hello dinosaur\n", pushed with no config.
DINOSAUR_MANIFEST_DIGEST = "sha256:0fdf365d865b6c2e2a3e3b034f1acf522c95a2daa593fa596fe43a22cfe185fd"
DINOSAUR_LAYER_DIGEST = "sha256:07f469745bff59a6956b1394bfb4c77196c9dbc9950ff1a9e6143798edf9856f"

SAMPLE_INDEX = {
    "arch": "x86_64",
    "build": "h166bdaf_4",
    "build_number": 4,
    "depends": ["libgcc-ng >=12"],
    "license": "Zlib",
    "name": "zlib",
    "platform": "linux",
    "subdir": "linux-64",
    "version": "1.2.13",
}
SAMPLE_ARCHIVE = "zlib-1.2.13-h166bdaf_4.tar.bz2"


def run_example(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `examples/<script>` with this interpreter, importing `oras` from the checkout."""
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def output_fields(stdout: str) -> dict[str, str]:
    """`key: value` lines of an example's output."""
    fields = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            fields.setdefault(key, value)
    return fields


def load_conda_mirror() -> ModuleType:
    """Import examples/conda_mirror.py as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "conda_mirror_example", EXAMPLES / "conda_mirror.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_sample_package(directory: Path) -> tuple[Path, Path]:
    """A small conda package: `index.json` and a `.tar.bz2` archive holding it and a library."""
    directory.mkdir(parents=True, exist_ok=True)
    index_bytes = json.dumps(SAMPLE_INDEX, indent=2, sort_keys=True).encode() + b"\n"
    index_path = directory / "index.json"
    index_path.write_bytes(index_bytes)
    archive_path = directory / SAMPLE_ARCHIVE
    members = {
        "info/index.json": index_bytes,
        "lib/libz.so.1.2.13": bytes(range(256)) * 8,
    }
    with tarfile.open(archive_path, "w:bz2") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return index_path, archive_path


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def conda_package(registry: RegistryServer, unique_repo: str, tmp_path: Path) -> tuple[str, Path]:
    """A sample conda package published with CondaMirror.push_package; (target, archive path)."""
    index_path, archive_path = make_sample_package(tmp_path / "src")
    target = f"{registry.host}/{unique_repo}:1.2.13"
    mirror = load_conda_mirror().CondaMirror(insecure=True)
    response = mirror.push_package(target, str(index_path), str(archive_path))
    assert response.status_code == 201
    return target, archive_path


def test_push_package_uses_conda_media_types(
    registry: RegistryServer, conda_package: tuple[str, Path], unique_repo: str
) -> None:
    target, archive_path = conda_package
    response = requests.get(
        f"{registry.url}/v2/{unique_repo}/manifests/1.2.13",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    layers = response.json()["layers"]
    assert [layer["mediaType"] for layer in layers] == [INDEX_MEDIA_TYPE, PACKAGE_MEDIA_TYPE]
    assert [layer["annotations"]["org.opencontainers.image.title"] for layer in layers] == [
        "index.json",
        SAMPLE_ARCHIVE,
    ]
    assert layers[1]["digest"] == sha256(archive_path.read_bytes())
    assert layers[1]["size"] == archive_path.stat().st_size


def test_conda_mirror_methods_take_strings_or_containers(
    conda_package: tuple[str, Path], tmp_path: Path
) -> None:
    target, archive_path = conda_package
    mirror = load_conda_mirror().CondaMirror(insecure=True)
    container = mirror.get_container(target)
    assert mirror.list_tags(target) == ["1.2.13"]
    assert mirror.get_package_manifest(container=target) == mirror.get_package_manifest(container)
    [layer] = mirror.get_layers(target, PACKAGE_MEDIA_TYPE)
    assert layer["digest"] == sha256(archive_path.read_bytes())
    assert mirror.get_layers(container, "application/vnd.conda.nothing") == []
    assert mirror.get_index(container=target) == SAMPLE_INDEX
    path = mirror.download_package(target, str(tmp_path / "dl"))
    assert Path(path).read_bytes() == archive_path.read_bytes()


def test_conda_mirror_prints_index_and_downloads_archive(
    conda_package: tuple[str, Path], tmp_path: Path
) -> None:
    target, archive_path = conda_package
    outdir = tmp_path / "downloads"
    result = run_example("conda_mirror.py", "--insecure", target, "-o", str(outdir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    fields = output_fields(result.stdout)
    assert fields["name"] == "zlib"
    assert fields["version"] == "1.2.13"
    assert fields["tags"] == "1.2.13"
    downloaded = outdir / SAMPLE_ARCHIVE
    assert fields["downloaded"] == str(downloaded)
    assert downloaded.read_bytes() == archive_path.read_bytes()
    # Nothing but the archive: no index.json, no leftover partial download.
    assert sorted(os.listdir(outdir)) == [SAMPLE_ARCHIVE]


def test_conda_mirror_publish_then_read(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    index_path, archive_path = make_sample_package(tmp_path / "src")
    target = f"{registry.host}/{unique_repo}:1.2.13"
    outdir = tmp_path / "out"
    result = run_example(
        "conda_mirror.py",
        "--insecure",
        "--publish",
        str(index_path),
        str(archive_path),
        target,
        "-o",
        str(outdir),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    fields = output_fields(result.stdout)
    assert fields["published"].startswith(f"{target} sha256:")
    assert (fields["name"], fields["version"]) == ("zlib", "1.2.13")
    assert (outdir / SAMPLE_ARCHIVE).read_bytes() == archive_path.read_bytes()


def test_conda_mirror_rejects_artifact_without_index_layer(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    # The dinosaur artifact has one plain layer and no conda index: a one-line error, status 1.
    target = f"{registry.host}/{unique_repo}:v1"
    pushed = run_example(
        "push_pull.py", "--insecure", target, "-o", str(tmp_path / "p"), cwd=tmp_path
    )
    assert pushed.returncode == 0, pushed.stderr
    result = run_example(
        "conda_mirror.py", "--insecure", target, "-o", str(tmp_path / "o"), cwd=tmp_path
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip() == f"error: {target}: expected one {INDEX_MEDIA_TYPE} layer, found 0"
    )
    assert not (tmp_path / "o").exists()


def test_push_pull_round_trip(registry: RegistryServer, unique_repo: str, tmp_path: Path) -> None:
    target = f"{registry.host}/{unique_repo}:v1"
    outdir = tmp_path / "pulled"
    result = run_example("push_pull.py", "--insecure", target, "-o", str(outdir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # The same bytes as oras-py pushes, so the same manifest digest (compat.md 11.1).
    assert lines[0] == f"pushed: {target} {DINOSAUR_MANIFEST_DIGEST}"
    assert lines[1:] == [f"pulled: {outdir / 'artifact.txt'}", "content: ok"]
    assert (outdir / "artifact.txt").read_bytes() == b"hello dinosaur\n"
    assert sorted(os.listdir(outdir)) == ["artifact.txt"]
    # The script wrote its artifact in a temp dir of its own, not in the working directory.
    assert not (tmp_path / "artifact.txt").exists()
    blob = requests.get(
        f"{registry.url}/v2/{unique_repo}/blobs/{DINOSAUR_LAYER_DIGEST}", timeout=TIMEOUT
    )
    assert blob.content == b"hello dinosaur\n"


def test_push_pull_default_outdir_is_a_fresh_temp_dir(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = f"{registry.host}/{unique_repo}:v1"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    result = run_example("push_pull.py", "--insecure", target, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pulled = Path(output_fields(result.stdout)["pulled"])
    assert pulled.name == "artifact.txt"
    assert pulled.parent.parent == tmpdir
    assert pulled.parent.name.startswith("oras-tmp.")
    assert pulled.read_bytes() == b"hello dinosaur\n"
    # The push side's temp dir is gone; only the pull's oras-tmp.* dir remains.
    assert [p.name for p in tmpdir.iterdir()] == [pulled.parent.name]
