"""Run the CLI on a pseudo-terminal: what a user at a terminal would see, and a typed answer."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Mapping, Optional

from tests.conftest import CLI_TIMEOUT, PROJECT_ROOT

#: What the CLI's confirmations end with.
PROMPT = b"[y/N] "


def run_in_pty(
    args: list[str],
    cwd: Path,
    size: Optional[tuple[int, int]] = (24, 100),
    env: Optional[Mapping[str, Optional[str]]] = None,
    answer: Optional[str] = None,
    term: str = "xterm-256color",
) -> tuple[int, str]:
    """Run the CLI with stdin, stdout and stderr on a pseudo-terminal of `size` (rows,
    columns; (0, 0) is a terminal nobody set a size on, None leaves it alone); `env` adds to
    (or, with None, removes from) the environment, which starts without NO_COLOR. With
    `answer`, it is typed, with Enter, at the first `[y/N] ` prompt. Returns the exit status
    and everything the terminal showed."""
    child_env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), TERM=term)
    child_env.pop("NO_COLOR", None)
    for key, value in (env or {}).items():
        if value is None:
            child_env.pop(key, None)
        else:
            child_env[key] = value
    leader, follower = pty.openpty()
    if size is not None:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "oras.cli", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=cwd,
        env=child_env,
    )
    os.close(follower)
    shown = b""
    answered = answer is None
    deadline = time.monotonic() + CLI_TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            shown += data
        if not answered and PROMPT in shown:
            os.write(leader, (answer or "").encode() + b"\n")
            answered = True
    os.close(leader)
    return process.wait(timeout=CLI_TIMEOUT), shown.decode("utf-8", "replace")


def answer_on_pty(args: list[str], answer: str, cwd: Path) -> tuple[int, str]:
    """Run the CLI on a terminal, wait for its `[y/N] ` prompt, type `answer` and Enter;
    the exit status and everything the terminal showed."""
    env = {"NO_COLOR": os.environ.get("NO_COLOR")}  # as the caller's environment has it
    return run_in_pty(args, cwd, size=None, env=env, answer=answer, term="xterm")
