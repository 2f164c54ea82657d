"""`oras-py version`: the client and Python versions, the platform and, from a git checkout,
the commit."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
from typing import Optional

from oras.cli.console import say
from oras.version import __version__

#: Labels of the lines after the first, padded to one width as Go `oras` aligns its values.
#: The first two lines stay exactly `Version: <v>` and `Python version: <a.b.c>` (oras-py's).
_WIDTH = len("Python version")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`version` takes no arguments."""


def git_commit(root: Optional[str] = None) -> Optional[tuple[str, str]]:
    """(commit, "clean"|"dirty") of the git checkout the package runs from, or None when it
    is not one (an installed wheel) or git cannot tell. Spawns git: only `version` calls it."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../oras
    root = root or os.path.dirname(package)
    if not os.path.exists(os.path.join(root, ".git")):
        return None

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", root, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "oras")
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit, "dirty" if dirty else "clean") if commit else None


def lines() -> list[str]:
    from oras.manifest import Platform

    out = [f"Version: {__version__}", f"Python version: {platform.python_version()}"]
    items = [("OS/Arch", str(Platform.current()))]
    found = git_commit()
    if found:
        items += [("Git commit", found[0]), ("Git tree state", found[1])]
    out += [f"{label}: {' ' * (_WIDTH - len(label))}{value}" for label, value in items]
    return out


def run(args: argparse.Namespace) -> int:
    for line in lines():
        say(line)
    return 0
