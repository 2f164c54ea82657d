"""The CLI on a terminal: what registries send cannot drive it, and interrupts leave nothing behind."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Mapping, Optional

import requests

from tests.conftest import CLI_TIMEOUT, PROJECT_ROOT, CliRunner
from tests.harness.registry import RegistryServer

#: What a terminal would obey: every C0/C1 control but the line feed ending a line.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
EVIL_TITLE = "x\x1b]0;PWNED\x07\x1b[2J\nSuccessfully pulled etc-shadow.txt"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
SGR = re.compile(r"\x1b\[[0-9;]*m")


def run_in_pty(
    args: list[str],
    cwd: Path,
    size: tuple[int, int] = (24, 100),
    env: Optional[Mapping[str, Optional[str]]] = None,
) -> tuple[int, str]:
    """Run the CLI with stdin, stdout and stderr on a pseudo-terminal of `size` (rows,
    columns; (0, 0) is a terminal nobody set a size on); returns the exit status and output."""
    child_env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), TERM="xterm-256color")
    child_env.pop("NO_COLOR", None)
    for key, value in (env or {}).items():
        if value is None:
            child_env.pop(key, None)
        else:
            child_env[key] = value
    leader, follower = pty.openpty()
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
    output = b""
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed its side
            break
        if not data:
            break
        output += data
    os.close(leader)
    return process.wait(timeout=CLI_TIMEOUT), output.decode("utf-8", "replace")


def push_raw(registry: RegistryServer, repo: str, tag: str, files: dict[str, bytes]) -> None:
    """An artifact put together by hand (as any client or a hostile registry could), one layer
    per title, so that the titles reach the CLI unchecked."""

    def blob(data: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = requests.post(f"{registry.url}/v2/{repo}/blobs/uploads/", timeout=10)
        location = requests.compat.urljoin(registry.url, start.headers["Location"])
        sep = "&" if "?" in location else "?"
        put = requests.put(f"{location}{sep}digest={digest}", data=data, timeout=10)
        assert put.status_code == 201, put.text
        return {"digest": digest, "size": len(data)}

    config = {"mediaType": "application/vnd.oci.empty.v1+json", **blob(b"{}")}
    layers = [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            **blob(data),
            "annotations": {"org.opencontainers.image.title": title},
        }
        for title, data in files.items()
    ]
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "config": config, "layers": layers}
    put = requests.put(
        f"{registry.url}/v2/{repo}/manifests/{tag}",
        data=json.dumps(manifest),
        headers={"Content-Type": MANIFEST_TYPE},
        timeout=10,
    )
    assert put.status_code == 201, put.text


def test_titles_from_the_registry_cannot_drive_the_terminal(
    oras_cli: CliRunner, registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    push_raw(registry, unique_repo, "v1", {EVIL_TITLE: b"evil\n", "plain.txt": b"plain\n"})
    result = oras_cli("pull", f"{registry.host}/{unique_repo}:v1", "--no-tty", "-o", tmp_path)
    output = result.stdout + result.stderr
    # Refused or pulled, the title is shown escaped, never obeyed, and forges no line.
    assert not CONTROL.search(output), output
    assert not any(line.startswith("Successfully pulled etc") for line in output.splitlines())
    assert "Traceback" not in output


def test_pushed_file_names_and_errors_are_escaped(
    oras_cli: CliRunner, registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    name = "a\x1b]0;PWNED\x07.txt"
    (tmp_path / name).write_text("hello\n")
    result = oras_cli("push", f"{registry.host}/{unique_repo}:v1", name, "--no-tty")
    assert result.returncode == 0, result.stderr
    assert not CONTROL.search(result.stdout + result.stderr)
    assert "a\\x1b]0;PWNED\\x07.txt" in result.stderr  # the progress line names it, escaped

    bad = oras_cli("pull", f"{registry.host}/{unique_repo}:v1\x1b[2J\nSuccessfully pulled x")
    assert bad.returncode != 0
    assert not CONTROL.search(bad.stdout + bad.stderr)
    assert len(bad.stderr.strip().splitlines()) == 1  # one error line, not a forged second


def test_no_color_dumb_terminals_and_unknown_sizes(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    (tmp_path / "a-file-with-a-rather-long-name.bin").write_bytes(os.urandom(2000))
    target = f"{registry.host}/{unique_repo}:v1"
    push = ["push", target, "a-file-with-a-rather-long-name.bin"]

    status, output = run_in_pty(push, tmp_path, env={"NO_COLOR": "1"})
    assert status == 0, output
    assert "\x1b[" in output  # live rows still redraw in place...
    assert not SGR.search(output)  # ...but without a colour

    status, output = run_in_pty(push, tmp_path, env={"TERM": "dumb"})
    assert status == 0, output
    assert "\x1b" not in output  # no cursor movement on a terminal that cannot do it
    assert re.search(r"^Exists +[0-9a-f]{12} a-file-with-a-rather-long-name\.bin\r$", output, re.M)

    # A terminal of unknown size (0x0) is not taken as a 20-column one.
    status, output = run_in_pty(push, tmp_path, size=(0, 0), env={"COLUMNS": None})
    assert status == 0, output
    summary = re.search(r"Uploaded 0 blobs, 2 existed \([^)]*\): 0 B in \d+:\d\d \(0 B/s\)", output)
    assert summary, output
