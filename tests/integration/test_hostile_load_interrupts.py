"""Interruptions: SIGINT and SIGTERM in the middle of a push, a pull or a copy (the CLI), and
Ctrl-C in the middle of `client.pull` (the library), leave no partial and no temporary file
behind, anywhere, and the CLI exits 130 or 143 with one line.

tests/integration/test_cli_terminal.py covers a pull stopped with three partial files open and
a directory push stopped while it packs; these add the upload under way, the copies, and
$TMPDIR for each."""

from __future__ import annotations

import _thread
import hashlib
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import oras.client
from oras import scratch
from tests.harness.hostile import HostileRegistry, send, serve, storage_of
from tests.harness.proxy import FaultProxy
from tests.harness.registry import RegistryServer
from tests.integration.test_cli_terminal import STOPS, push_raw, start_cli, stop, wait_for

MB = 1000 * 1000
#: What an OCI layout holds besides blobs.
LAYOUT_FILES = {"oci-layout", "index.json", "blobs", "blobs/sha256"}
#: How long the CLI may take from the signal to its exit.
STOP_BOUND = 3.0
#: A blob download, as the proxy logs it.
BLOB_GET = ("GET", r"/blobs/sha256:")


def _everything_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _moving(proxy: FaultProxy, method: str, path: str, enough: int = MB) -> bool:
    """Whether a `method` request on `path` is under way, with `enough` bytes moved."""
    return any(
        e.end is None and max(e.bytes_in, e.bytes_out) >= enough
        for e in proxy.log(method, path, settle=0)
    )


def _check_stopped(process: Any, signum: int, took: float, err: str) -> None:
    status, message = STOPS[signum]
    assert process.returncode == status, err
    assert err.strip().splitlines()[-1] == message, err
    assert "Traceback" not in err, err
    assert took < STOP_BOUND, f"{took:.1f} s to stop"


def _stop_while_moving(
    proxy: FaultProxy,
    argv: list[str],
    cwd: Path,
    tmpdir_env: tuple[Path, dict[str, str]],
    signum: int,
    moving: tuple[str, str],
    what: str,
) -> str:
    """Run the CLI with `argv`, send `signum` once a `moving` (method, path) request has moved
    a megabyte, check that it stopped as it should and left $TMPDIR empty; its stderr."""
    scratch_dir, env = tmpdir_env
    process = start_cli(argv, cwd, env=env)
    wait_for(lambda: _moving(proxy, *moving), process, what)
    took, err = stop(process, signum)
    _check_stopped(process, signum, took, err)
    assert _everything_under(scratch_dir) == []
    return err


@pytest.fixture
def tmpdir_env(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A $TMPDIR of the test's own for the CLI, to show it is left empty."""
    scratch_dir = tmp_path / "tmpdir"
    scratch_dir.mkdir()
    return scratch_dir, {"TMPDIR": str(scratch_dir)}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_push_stopped_mid_upload_cancels_its_upload_and_leaves_nothing(
    fault_proxy: FaultProxy,
    unique_repo: str,
    tmp_path: Path,
    tmpdir_env: tuple[Path, dict[str, str]],
    signum: int,
) -> None:
    (tmp_path / "big.bin").write_bytes(os.urandom(24 * MB))
    fault_proxy.throttle_request("*", r"/blobs/uploads/", 4 * MB)
    argv = ["push", f"{fault_proxy.host}/{unique_repo}:v1", "big.bin", "--no-tty"]
    moving = ("*", r"/blobs/uploads/.")
    err = _stop_while_moving(fault_proxy, argv, tmp_path, tmpdir_env, signum, moving, "an upload")

    assert _everything_under(tmp_path) == ["big.bin", "tmpdir"]
    # The registry is told to drop the upload session (best effort, as the process ends).
    assert fault_proxy.log("DELETE", r"/blobs/uploads/."), err
    assert not fault_proxy.log("PUT", r"/manifests/")


@pytest.fixture
def pushed(registry: RegistryServer, unique_repo: str) -> str:
    """An artifact of three incompressible 8 MB layers in the plain registry."""
    files = {f"layer-{i}.bin": os.urandom(8 * MB) for i in range(3)}
    push_raw(registry, unique_repo, "v1", files)
    return f"{unique_repo}:v1"


def test_a_pull_stopped_mid_download_leaves_tmpdir_and_the_output_empty(
    fault_proxy: FaultProxy,
    pushed: str,
    tmp_path: Path,
    tmpdir_env: tuple[Path, dict[str, str]],
) -> None:
    fault_proxy.throttle("GET", r"/blobs/sha256:", 4 * MB)
    out = tmp_path / "out"
    argv = ["pull", f"{fault_proxy.host}/{pushed}", "-o", str(out), "--no-tty"]
    _stop_while_moving(
        fault_proxy, argv, tmp_path, tmpdir_env, signal.SIGTERM, BLOB_GET, "a download"
    )
    assert not out.exists() or _everything_under(out) == []


def test_a_second_signal_while_stopping_exits_at_once_with_the_first_status(
    fault_proxy: FaultProxy,
    pushed: str,
    tmp_path: Path,
    tmpdir_env: tuple[Path, dict[str, str]],
) -> None:
    scratch_dir, env = tmpdir_env
    # So slow that the workers wait for their next chunk: the CLI would give them a grace.
    fault_proxy.throttle("GET", r"/blobs/sha256:", 100_000)
    out = tmp_path / "out"
    process = start_cli(
        ["pull", f"{fault_proxy.host}/{pushed}", "-o", str(out), "--no-tty"], tmp_path, env=env
    )
    wait_for(lambda: len(list(out.glob(".oras-*"))) == 3, process, "three partial files")
    process.send_signal(signal.SIGTERM)
    time.sleep(0.1)  # pending together, Python would run the SIGINT handler first
    took, err = stop(process, signal.SIGINT)  # the user insists

    assert process.returncode == 143, err
    assert "Traceback" not in err, err
    assert len([line for line in err.splitlines() if line.startswith("Error")]) <= 1, err
    assert took < STOP_BOUND, f"{took:.1f} s to stop"
    assert _everything_under(scratch_dir) == []
    assert _everything_under(out) == []


# One signal per copy test: both take the same path (the push test has both).
@pytest.mark.parametrize("signum", [signal.SIGINT])
def test_a_copy_between_registries_stopped_mid_blob_cancels_and_pushes_no_manifest(
    fault_proxy: FaultProxy,
    second_registry: RegistryServer,
    pushed: str,
    tmp_path: Path,
    tmpdir_env: tuple[Path, dict[str, str]],
    signum: int,
) -> None:
    fault_proxy.throttle("GET", r"/blobs/sha256:", 4 * MB)
    with FaultProxy(second_registry.url) as destination:
        argv = [
            "cp",
            f"{fault_proxy.host}/{pushed}",
            f"{destination.host}/{pushed}-copy",
            "--no-tty",
        ]
        err = _stop_while_moving(
            fault_proxy, argv, tmp_path, tmpdir_env, signum, BLOB_GET, "a copy"
        )

        assert not destination.log("PUT", r"/manifests/")
        opened = destination.log("POST", r"/blobs/uploads/$")
        completed = [e for e in destination.log("PUT", r"/blobs/uploads/.") if e.status == 201]
        cancelled = destination.log("DELETE", r"/blobs/uploads/.")
        # Every upload session that did not complete was cancelled (best effort: here all).
        assert cancelled, err
        assert len(opened) - len(completed) <= len(cancelled), err


@pytest.mark.parametrize("signum", [signal.SIGTERM])
def test_a_copy_to_a_layout_stopped_mid_blob_leaves_only_whole_blobs(
    fault_proxy: FaultProxy,
    pushed: str,
    tmp_path: Path,
    tmpdir_env: tuple[Path, dict[str, str]],
    signum: int,
) -> None:
    fault_proxy.throttle("GET", r"/blobs/sha256:", 4 * MB)
    layout = tmp_path / "layout"
    argv = ["cp", f"{fault_proxy.host}/{pushed}", f"{layout}:v1", "--to-oci-layout", "--no-tty"]
    _stop_while_moving(fault_proxy, argv, tmp_path, tmpdir_env, signum, BLOB_GET, "a copy")
    for path in layout.rglob("*"):
        if path.is_file() and path.parent.parent.name == "blobs":
            assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, path
        else:
            assert str(path.relative_to(layout)) in LAYOUT_FILES, path
    if (layout / "index.json").exists():  # the tag is not there: the copy did not finish
        assert json.loads((layout / "index.json").read_text())["manifests"] == []


# -- the library: Ctrl-C in the calling thread ---------------------------------------------------
def _dripping_blob(handler: Any, match: Any) -> None:
    """The blob, honestly sized, 64 KiB every 20 ms: slow enough to be caught mid-way."""
    digest = match.group(1)
    data = storage_of(handler).open_blob(digest).read()

    def drip() -> Any:
        for start in range(0, len(data), 64 * 1024):
            time.sleep(0.02)
            yield data[start : start + 64 * 1024]

    send(handler, 200, drip(), {"Docker-Content-Digest": digest}, length=len(data))


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt during the test, whatever the suite inherited: a shell
    starts a background job with SIGINT ignored, and `_thread.interrupt_main` then does
    nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt_when(condition: Any, deadline: float = 30.0) -> threading.Thread:
    """A thread that raises KeyboardInterrupt in the main thread once `condition()` holds."""

    def watch() -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if condition():
                _thread.interrupt_main()
                return
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="main only")
def test_ctrl_c_during_a_library_pull_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ctrl_c_raises: None
) -> None:
    monkeypatch.chdir(tmp_path)
    # remove_all() below marks the process as leaving: undone after the test.
    monkeypatch.setattr(scratch, "_leaving", False)
    for i in range(3):
        (tmp_path / f"f{i}.bin").write_bytes(os.urandom(2 * MB))
    out = tmp_path / "out"
    with HostileRegistry() as reg:
        client = oras.client.OrasClient(hostname=reg.host, insecure=True)
        client.push(files=[f"f{i}.bin" for i in range(3)], target=reg.ref("lib/pull", "v1"))
        reg.on("GET", r"/blobs/(sha256:[0-9a-f]{64})$", _dripping_blob)
        watcher = _interrupt_when(lambda: out.is_dir() and len(list(out.iterdir())) >= 3)
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            client.pull(target=reg.ref("lib/pull", "v1"), outdir=str(out))
        took = time.monotonic() - started
        watcher.join()

    assert _everything_under(out) == []
    assert scratch.remove_all() == []  # nothing the library still tracked as temporary
    assert took < 15, f"{took:.1f} s"


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="main only")
def test_ctrl_c_during_a_library_push_cancels_the_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ctrl_c_raises: None
) -> None:
    monkeypatch.chdir(tmp_path)
    # More than the socket buffers hold: the upload is still under way when interrupted.
    (tmp_path / "big.bin").write_bytes(os.urandom(32 * MB))

    def slow_upload(handler: Any, match: Any) -> None:
        time.sleep(1.0)  # the body waits in the socket while the client is interrupted
        serve(handler)

    with HostileRegistry() as reg:
        client = oras.client.OrasClient(hostname=reg.host, insecure=True)
        reg.on("PUT", r"/blobs/uploads/.", slow_upload)
        watcher = _interrupt_when(lambda: bool(reg.seen("PUT", r"/blobs/uploads/.")))
        with pytest.raises(KeyboardInterrupt):
            client.push(files=["big.bin"], target=reg.ref("lib/push", "v1"))
        watcher.join()
        deadline = time.monotonic() + 5  # a worker may send its DELETE as the interrupt goes up
        while not reg.seen("DELETE", r"/blobs/uploads/.") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reg.seen("DELETE", r"/blobs/uploads/.")
        assert not reg.seen("PUT", r"/manifests/")
    assert _everything_under(tmp_path) == ["big.bin"]
