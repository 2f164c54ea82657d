"""Push input that is wrong is reported for what it is, and refused before anything is uploaded.

Covers the push side of issue 9: an unreadable file in a pushed directory, annotations that
cannot go into a manifest, an annotation file naming no pushed file, a chunk size below one
byte, and symbolic links leading out of a pushed directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Mapping, Optional

import pytest

from tests.conftest import CLI_TIMEOUT, PROJECT_ROOT
from tests.harness.registry import RegistryServer

# Root reads any file whatever its mode; without these capabilities it obeys the mode bits.
_DAC_CAPS = "-dac_override,-dac_read_search"


def _unprivileged_prefix() -> list[str]:
    """The command prefix under which a mode-000 file cannot be read (none needed unless root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: every file is readable")
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
