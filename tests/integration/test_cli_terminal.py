"""The CLI on a terminal: what registries send cannot drive it, and interrupts leave nothing behind."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Mapping, Optional

import pytest
import requests

from tests.conftest import PROJECT_ROOT, CliRunner
from tests.harness.proxy import FaultProxy
from tests.harness.pty import run_in_pty
from tests.harness.registry import RegistryServer

#: What a terminal would obey: every C0/C1 control but the line feed ending a line.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
EVIL_TITLE = "x\x1b]0;PWNED\x07\x1b[2J\nSuccessfully pulled etc-shadow.txt"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
SGR = re.compile(r"\x1b\[[0-9;]*m")


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


# -- interrupts ---------------------------------------------------------------------------------
STOPS = {signal.SIGINT: (130, "Error: interrupted"), signal.SIGTERM: (143, "Error: terminated")}
MB = 1000 * 1000


def start_cli(
    args: list[str], cwd: Path, env: Optional[Mapping[str, str]] = None
) -> subprocess.Popen:
    child_env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), **(env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "oras.cli", *args],
        cwd=cwd,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, f"the CLI ended before {what}: {process.communicate()}"
        assert time.monotonic() < deadline, f"no {what} within 60 s"
        time.sleep(0.01)


def stop(process: subprocess.Popen, signum: int) -> tuple[float, str]:
    """Send `signum`; returns how long the CLI took to exit, and its stderr."""
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return time.monotonic() - sent, err


@pytest.mark.parametrize(
    ("signum", "rate"),
    [
        (signal.SIGINT, 4 * MB),  # the workers notice at their next chunk
        (signal.SIGTERM, 4 * MB),
        # So slow that a worker waits seconds for its next chunk: the CLI does not wait for it,
        # and removes the partial file it was writing itself.
        (signal.SIGINT, 100_000),
    ],
)
def test_an_interrupted_pull_stops_at_once_and_leaves_no_partial_file(
    fault_proxy: FaultProxy,
    registry: RegistryServer,
    unique_repo: str,
    tmp_path: Path,
    signum: int,
    rate: int,
) -> None:
    files = {f"layer-{i}.bin": os.urandom(8 * MB) for i in range(3)}
    push_raw(registry, unique_repo, "v1", files)
    fault_proxy.throttle("GET", r"/blobs/sha256:", rate)
    out = tmp_path / "out"
    process = start_cli(
        ["pull", f"{fault_proxy.host}/{unique_repo}:v1", "-o", str(out), "--no-tty"], tmp_path
    )
    partials = lambda: list(out.glob(".oras-*"))  # noqa: E731
    wait_for(lambda: len(partials()) == 3, process, "three partial files")
    took, err = stop(process, signum)

    status, message = STOPS[signum]
    assert process.returncode == status, err
    assert err.strip().splitlines()[-1] == message
    assert "Traceback" not in err
    assert took < 2.0, f"{took:.1f} s to stop"
    assert partials() == [], err
    assert not any(out.iterdir())  # and no layer made it to the end either


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_directory_push_removes_its_tarball_and_uploads_nothing(
    fault_proxy: FaultProxy, unique_repo: str, tmp_path: Path, signum: int
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(2):  # incompressible: packing takes a while
        (tree / f"part-{i}.bin").write_bytes(os.urandom(24 * MB))
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    process = start_cli(
        ["push", f"{fault_proxy.host}/{unique_repo}:v1", "tree", "--no-tty"],
        tmp_path,
        env={"TMPDIR": str(scratch)},
    )
    tarballs = lambda: list(scratch.glob("oras-*.tar.gz"))  # noqa: E731
    wait_for(lambda: any(t.stat().st_size for t in tarballs()), process, "a tarball being packed")
    took, err = stop(process, signum)

    status, message = STOPS[signum]
    assert process.returncode == status, err
    assert err.strip().splitlines()[-1] == message
    assert took < 2.0, f"{took:.1f} s to stop"
    assert list(scratch.iterdir()) == []
    uploaded = sum(e.bytes_in for e in fault_proxy.log() if e.method in ("PUT", "PATCH"))
    assert uploaded < 1000  # the empty config at most, not the directory's blob
