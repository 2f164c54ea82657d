"""Run a command for a test: its output captured, the test failed with the output's tail."""

from __future__ import annotations

import os
import subprocess
from typing import Any, Sequence, Union

import pytest

TAIL = 4000


def run_checked(
    args: Sequence[Union[str, os.PathLike[str]]], what: str = "", **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(args, **kwargs)` as text; a non-zero exit fails the test, showing
    the last bytes of stdout and stderr under `what` (default: the command line)."""
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, **kwargs
    )
    if result.returncode != 0:
        pytest.fail(
            f"{what or ' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-TAIL:]}\n--- stderr ---\n{result.stderr[-TAIL:]}"
        )
    return result
