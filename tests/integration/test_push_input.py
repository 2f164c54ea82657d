"""Push input that is wrong is reported for what it is, and refused before anything is uploaded.

Covers the push side of issue 9: an unreadable file in a pushed directory, annotations that
cannot go into a manifest, an annotation file naming no pushed file, a chunk size below one
byte, and symbolic links leading out of a pushed directory.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping, Optional

import pytest
import requests

import oras.client
import oras.defaults
from oras.errors import PathTraversalError
from tests.conftest import CLI_TIMEOUT, PROJECT_ROOT, CliRunner
from tests.harness.proxy import FaultProxy
from tests.harness.registry import RegistryServer

# Root reads any file whatever its mode; without these capabilities it obeys the mode bits.
_DAC_CAPS = "-dac_override,-dac_read_search"


def _unprivileged_prefix() -> list[str]:
    """The command prefix under which a mode-000 file cannot be read (none needed unless root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    # As root every file is readable; setpriv (util-linux, installed by the set-up script)
    # drops the capabilities that bypass file permissions. Missing, the test fails: a skip
    # would hide the behaviour it checks.
    assert setpriv is not None, "setpriv is not installed: scripts/setup-deps.sh --tests"
    return [setpriv, f"--inh-caps={_DAC_CAPS}", f"--bounding-set={_DAC_CAPS}"]


def run_cli(
    *args: str,
    cwd: Path,
    env: Optional[Mapping[str, str]] = None,
    prefix: Optional[list[str]] = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m oras.cli ARGS` from the checkout, optionally under a command `prefix`."""
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), child_env.get("PYTHONPATH", "")) if p
    )
    child_env.update(env or {})
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "oras.cli", *args],
        cwd=cwd,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def fetch_manifest(registry: RegistryServer, repo: str, ref: str) -> dict[str, Any]:
    accept = ", ".join(oras.defaults.default_manifest_accepted_media_types)
    response = requests.get(
        f"{registry.url}/v2/{repo}/manifests/{ref}", headers={"Accept": accept}, timeout=10
    )
    response.raise_for_status()
    return response.json()


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one `Error:` line of a failed run (no traceback)."""
    assert result.returncode != 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# -- item 8: an unreadable file in a pushed directory ---------------------------------------------


def test_unreadable_file_in_directory_is_named(
    registry: RegistryServer, tmp_path: Path, unique_repo: str
) -> None:
    prefix = _unprivileged_prefix()
    work, spool = tmp_path / "work", tmp_path / "spool"
    (work / "data").mkdir(parents=True)
    spool.mkdir()
    (work / "data" / "readable.txt").write_text("fine\n")
    secret = work / "data" / "secret.txt"
    secret.write_text("private\n")
    secret.chmod(0)
    try:
        result = run_cli(
            "push",
            f"{registry.host}/{unique_repo}:v1",
            "data",
            cwd=work,
            env={"TMPDIR": str(spool)},
            prefix=prefix,
        )
    finally:
        secret.chmod(0o644)
    line = error_line(result)
    assert result.returncode == 1
    assert "Permission denied" in line and str(secret) in line, line
    assert "No such file" not in line and ".tar.gz" not in line, line
    assert list(spool.iterdir()) == []  # the half-written tarball is gone


# -- item 13: input refused before anything is uploaded -------------------------------------------

ANNOTATION_FILES = {
    "numbers.json": {"a.txt": {"k": 1}},
    "nulls.json": {"$manifest": {"k": None}},
    "empty-name.json": {"$config": {"": "v"}},
    "typo.json": {"a.txt": {"k": "v"}, "b.txt": {"k": "v"}},
    "good.json": {"./a.txt": {"k": "v"}, "$manifest": {"m": "v"}},
}


@pytest.fixture
def push_dir(tmp_path: Path) -> Path:
    """A directory with `a.txt` and the annotation files above."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "a.txt").write_text("alpha\n")
    for name, content in ANNOTATION_FILES.items():
        (work / name).write_text(json.dumps(content))
    return work


def uploads(proxy: FaultProxy) -> list[str]:
    """The requests that would have stored something in the registry."""
    return [f"{r.method} {r.path}" for r in proxy.log() if r.method in ("POST", "PUT", "PATCH")]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["-a", "=v"], 1, "Error: Annotation =v invalid format, the key before = is empty."),
        (["-a", " =v"], 1, "the key before = is empty"),
        (
            ["--annotation-file", "numbers.json"],
            1,
            "Error: annotation file numbers.json, 'a.txt': the value of annotation 'k' must be"
            " a string, not int.",
        ),
        (["--annotation-file", "nulls.json"], 1, "'k' must be a string, not NoneType"),
        (["--annotation-file", "empty-name.json"], 1, "annotation names must not be empty"),
        (
            ["--annotation-file", "typo.json"],
            1,
            "Error: annotation file typo.json: 'b.txt' matches no pushed file",
        ),
        (["--chunk-size", "0"], 2, "Error: --chunk-size must be at least 1 byte"),
        (["--chunk-size", "-5"], 2, "Error: --chunk-size must be at least 1 byte"),
    ],
    ids=[
        "empty-key",
        "blank-key",
        "number",
        "null",
        "empty-name",
        "unmatched",
        "chunk-0",
        "chunk-neg",
    ],
)
def test_cli_refuses_bad_push_input_before_uploading(
    oras_cli: CliRunner,
    fault_proxy: FaultProxy,
    push_dir: Path,
    unique_repo: str,
    args: list[str],
    code: int,
    message: str,
) -> None:
    result = oras_cli("push", f"{fault_proxy.host}/{unique_repo}:v1", *args, "a.txt", cwd=push_dir)
    line = error_line(result)
    assert result.returncode == code, result.stderr
    assert line.startswith(message) if message.startswith("Error:") else message in line, line
    assert "Successfully pushed" not in result.stdout
    assert uploads(fault_proxy) == []


def test_cli_annotation_file_keys_match_paths_as_given(
    oras_cli: CliRunner, registry: RegistryServer, push_dir: Path, unique_repo: str
) -> None:
    """`./a.txt` in the file names the pushed `a.txt`: such a file is not refused."""
    target = f"{registry.host}/{unique_repo}:v1"
    result = oras_cli("push", target, "--annotation-file", "good.json", "a.txt", cwd=push_dir)
    assert result.returncode == 0, result.stderr
    manifest = fetch_manifest(registry, unique_repo, "v1")
    created = manifest["annotations"].pop("org.opencontainers.image.created")  # the CLI adds it
    assert created and manifest["annotations"] == {"m": "v"}
    assert manifest["layers"][0]["annotations"]["k"] == "v"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"annotation_file": {"a.txt": {"k": 1}}}, "the value of annotation 'k' must be a string"),
        ({"annotation_file": "numbers.json"}, "Annotation file numbers.json, section 'a.txt'"),
        ({"manifest_annotations": {"k": 1}}, "manifest_annotations: the value of annotation 'k'"),
        ({"manifest_annotations": {"": "v"}}, "annotation names must not be empty"),
        ({"do_chunked": True, "chunk_size": 0}, "chunk_size must be at least 1 byte, not 0"),
        ({"do_chunked": True, "chunk_size": -1}, "chunk_size must be at least 1 byte, not -1"),
    ],
    ids=[
        "file-dict",
        "file-path",
        "manifest-number",
        "manifest-empty-name",
        "chunk-0",
        "chunk-neg",
    ],
)
def test_library_refuses_bad_push_input_before_uploading(
    fault_proxy: FaultProxy,
    push_dir: Path,
    unique_repo: str,
    monkeypatch: pytest.MonkeyPatch,
    kwargs: dict,
    message: str,
) -> None:
    monkeypatch.chdir(push_dir)
    client = oras.client.OrasClient(insecure=True)
    with pytest.raises(ValueError, match=re.escape(message)):
        client.push(files=["a.txt"], target=f"{fault_proxy.host}/{unique_repo}:v1", **kwargs)
    assert uploads(fault_proxy) == []


def test_library_warns_about_annotation_file_keys_naming_no_pushed_file(
    registry: RegistryServer,
    push_dir: Path,
    unique_repo: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """oras-py ignored such keys silently; the library still pushes (compatibility) but says so."""
    monkeypatch.chdir(push_dir)
    client = oras.client.OrasClient(insecure=True)
    with caplog.at_level(logging.WARNING, logger="oras"):
        client.push(
            files=["a.txt"],
            target=f"{registry.host}/{unique_repo}:v1",
            annotation_file="typo.json",
            quiet=True,
        )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["Annotation file entry 'b.txt' matches no pushed file: it is not used."]
    layer = fetch_manifest(registry, unique_repo, "v1")["layers"][0]
    assert layer["annotations"]["k"] == "v"


# -- item 14: symbolic links leading out of a pushed directory -----------------------------------


@pytest.fixture
def linked_dir(tmp_path: Path) -> Path:
    """`work/data` holding a link inside it and `leak` -> `../outside.txt`, outside `data`."""
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "data" / "a.txt").write_text("alpha\n")
    (work / "outside.txt").write_text("not for the registry\n")
    os.symlink("a.txt", work / "data" / "to-a")
    os.symlink("../outside.txt", work / "data" / "leak")
    return work


def test_cli_refuses_a_link_leading_out_of_a_pushed_directory(
    oras_cli: CliRunner, fault_proxy: FaultProxy, linked_dir: Path, unique_repo: str
) -> None:
    result = oras_cli("push", f"{fault_proxy.host}/{unique_repo}:v1", "data", cwd=linked_dir)
    line = error_line(result)
    assert result.returncode == 1
    assert line.startswith(
        "Error: refusing to push symbolic link data/leak -> ../outside.txt: it leads outside data"
    ), line
    assert "stay inside" in line  # the hint
    assert uploads(fault_proxy) == []


def test_library_refuses_a_link_leading_out_of_a_pushed_directory(
    fault_proxy: FaultProxy, linked_dir: Path, unique_repo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(linked_dir)
    client = oras.client.OrasClient(insecure=True)
    with pytest.raises(PathTraversalError, match="data/leak -> ../outside.txt"):
        client.push(files=["data"], target=f"{fault_proxy.host}/{unique_repo}:v1")
    assert uploads(fault_proxy) == []


def test_links_inside_a_pushed_directory_round_trip(
    oras_cli: CliRunner, registry: RegistryServer, linked_dir: Path, unique_repo: str
) -> None:
    os.unlink(linked_dir / "data" / "leak")
    target = f"{registry.host}/{unique_repo}:v1"
    assert oras_cli("push", target, "data", cwd=linked_dir).returncode == 0
    out = linked_dir / "out"
    result = oras_cli("pull", target, "-o", str(out), cwd=linked_dir)
    assert result.returncode == 0, result.stderr
    assert os.readlink(out / "data" / "to-a") == "a.txt"
    assert (out / "data" / "to-a").read_text() == "alpha\n"
