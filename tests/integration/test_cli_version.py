"""`oras-py version`: oras-py's two lines, then Go's `OS/Arch:` and, from a git checkout,
`Git commit:` and `Git tree state:`, their values aligned; git runs for `version` only."""

from __future__ import annotations

import os
import platform
import re
import stat
import subprocess
from pathlib import Path

from oras.cli.version import git_commit
from oras.manifest import Platform
from oras.version import __version__
from tests.conftest import PROJECT_ROOT, CliRunner


def _fake_git(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A PATH whose `git` records each call and answers like a clean checkout at 0123abcd."""
    bindir, calls = tmp_path / "bin", tmp_path / "git-calls"
    bindir.mkdir()
    script = bindir / "git"
    script.write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\ncase "$*" in *rev-parse*) echo 0123abcd;; esac\nexit 0\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}, calls


def test_version_lines(oras_cli: CliRunner, tmp_path: Path) -> None:
    env, calls = _fake_git(tmp_path)
    result = oras_cli("version", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Version: {__version__}"
    assert lines[1] == f"Python version: {platform.python_version()}"
    assert lines[2] == f"OS/Arch:        {Platform.current()}"
    assert re.fullmatch(r"OS/Arch: +[a-z0-9]+/[a-z0-9_]+", lines[2])
    if (PROJECT_ROOT / ".git").exists():  # the suite runs from a checkout
        assert lines[3:] == ["Git commit:     0123abcd", "Git tree state: clean"]
        assert calls.read_text().count("\n") == 2
    else:
        assert lines[3:] == []
    # every value starts in the column of the Python version's
    column = len("Python version: ")
    for line in lines[1:]:
        label, value = line[:column], line[column:]
        assert label.rstrip().endswith(":") and value and not value.startswith(" "), line


def test_no_git_for_other_commands(oras_cli: CliRunner, tmp_path: Path) -> None:
    env, calls = _fake_git(tmp_path)
    for args in (["push", "--help"], ["resolve", "--plain-http", "127.0.0.1:1/x/y:v1"]):
        oras_cli(*args, env=env)
    assert not calls.exists()


def test_git_commit_of_a_checkout(tmp_path: Path) -> None:
    assert git_commit(str(tmp_path)) is None  # no .git: an installed package
    run = {"cwd": tmp_path, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)
    (tmp_path / "oras").mkdir()
    (tmp_path / "oras" / "x.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "."], **run)
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", *identity, "commit", "-qm", "x"], **run)
    head = subprocess.run(["git", "rev-parse", "HEAD"], text=True, **run).stdout.strip()
    assert git_commit(str(tmp_path)) == (head, "clean")
    (tmp_path / "oras" / "x.py").write_text("x = 2\n")
    assert git_commit(str(tmp_path)) == (head, "dirty")
