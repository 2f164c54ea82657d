"""Transfers against the real registry: parallel blobs, progress events, stdin and stdout."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

import oras.provider
import oras.remote.ranged
from oras.filewrite import WRITE_PIECE
from oras.progress import DONE, EXISTS, PROGRESS, STARTED, ProgressEvent
from oras.remote.ranged_options import RangedOptions
from oras.remote.transport import POOL_HEADROOM


class CountingRegistry(oras.provider.Registry):
    """A custom client (as oras-py users write them) that measures blob requests in flight."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def do_request(self, url: str, method: str = "GET", *args: Any, **kwargs: Any):
        blob_transfer = (method == "PUT" and "/blobs/uploads/" in url) or (
            method == "GET" and "/blobs/sha256:" in url
        )
        if not blob_transfer:
            return super().do_request(url, method, *args, **kwargs)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(0.2)  # long enough for the other workers to start theirs
            return super().do_request(url, method, *args, **kwargs)
        finally:
            with self._lock:
                self.in_flight -= 1


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(tmp_path)
    names = []
    for i in range(6):
        (tmp_path / f"f{i}.bin").write_bytes(os.urandom(50_000 + i))
        names.append(f"f{i}.bin")
    return names


def test_layers_move_in_parallel(registry, files, unique_repo, tmp_path):
    client = CountingRegistry(insecure=True)
    target = f"{registry.host}/{unique_repo}:v1"
    client.push(files=files, target=target)
    assert client.max_in_flight == 5  # the push default, as the Go CLI's
    client.max_in_flight = 0
    pulled = client.pull(target=target, outdir=str(tmp_path / "out"))
    assert client.max_in_flight == 3  # the pull default
    assert [os.path.basename(p) for p in pulled] == files  # manifest order, whatever finished first
    for name in files:
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / name).read_bytes()


def _write_calls() -> int:
    """write(2)-like system calls this process has made (`syscw` of /proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise AssertionError("no syscw in /proc/self/io")


@pytest.mark.parametrize(
    "ranged",
    [
        RangedOptions(ranges=1),
        RangedOptions(ranges=4, threshold=1024 * 1024, one_stream_rate=None),
    ],
    ids=["one stream", "four ranges"],
)
def test_downloads_write_files_in_small_pieces(
    registry, unique_repo, tmp_path, monkeypatch, ranged
):
    """A pulled blob is written WRITE_PIECE bytes at a time, not in its 1 MiB reads (large
    writes cost a virtual machine that returns free memory to its host several times more)."""
    monkeypatch.chdir(tmp_path)
    data = os.urandom(40 * 1024 * 1024)  # hashed on a second thread; a RangedBlob
    (tmp_path / "big.bin").write_bytes(data)
    target = f"{registry.host}/{unique_repo}:v1"
    client = oras.provider.Registry(insecure=True)
    client.push(files=["big.bin"], target=target)
    client.ranged = ranged
    in_parts: list[int] = []
    real_parts = oras.remote.ranged.download_parts
    monkeypatch.setattr(
        oras.remote.ranged,
        "download_parts",
        lambda *args, **kwargs: in_parts.append(1) or real_parts(*args, **kwargs),
    )
    before = _write_calls()
    client.pull(target=target, outdir=str(tmp_path / "out"))
    assert _write_calls() - before >= len(data) // WRITE_PIECE
    assert bool(in_parts) == (ranged.ranges > 1)
    assert (tmp_path / "out" / "big.bin").read_bytes() == data


def test_blob_downloads_reuse_one_connection(fault_proxy, files, unique_repo, tmp_path):
    """A fully read blob hands its connection back: a sequential pull opens no new ones."""
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    oras.provider.Registry(insecure=True).push(files=files, target=target)
    fault_proxy.clear()
    oras.provider.Registry(insecure=True).pull(
        target=target, outdir=str(tmp_path / "out"), concurrency=1
    )
    requests_seen = fault_proxy.log()
    assert len([r for r in requests_seen if "/blobs/" in r.path]) == len(files)
    assert len({r.connection_id for r in requests_seen}) == 1


def test_config_goes_up_alongside_a_single_file(fault_proxy, unique_repo, tmp_path, monkeypatch):
    """A one-file push waits for one blob's round trips, not for the file's and then the config's."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.bin").write_bytes(os.urandom(10_000))
    fault_proxy.delay("*", "/blobs/", 0.1, times=None)
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    oras.provider.Registry(insecure=True).push(files=["one.bin"], target=target)
    assert fault_proxy.max_concurrent("*", "/blobs/") == 2
    [manifest_put] = fault_proxy.log("PUT", "/manifests/")
    assert all(r.end <= manifest_put.start for r in fault_proxy.log("*", "/blobs/"))


def _most_connections_open_at_once(log: list[Any]) -> int:
    """The most connections in use at one time, a connection counting from the start of its
    first request to the end of its last one (it may have lived longer: a lower bound)."""
    spans: dict[int, list[float]] = {}
    for r in log:
        end = r.end if r.end is not None else time.monotonic()
        span = spans.setdefault(r.connection_id, [r.start, end])
        span[0], span[1] = min(span[0], r.start), max(span[1], end)
    events = sorted(
        [(start, 1) for start, _ in spans.values()] + [(end, -1) for _, end in spans.values()],
        key=lambda event: (event[0], event[1]),  # an end before a start at the same instant
    )
    most = now = 0
    for _, change in events:
        now += change
        most = max(most, now)
    return most


def test_pool_grows_with_concurrency(fault_proxy, unique_repo, tmp_path, monkeypatch, caplog):
    """More workers than the default pool: each keeps a pooled connection, none is thrown away."""
    monkeypatch.chdir(tmp_path)
    names = []
    for i in range(40):
        (tmp_path / f"g{i}.bin").write_bytes(os.urandom(1000 + i))
        names.append(f"g{i}.bin")
    fault_proxy.delay("*", "/blobs/", 0.3, times=None)  # keep the workers busy at once
    client = oras.provider.Registry(insecure=True)
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    with caplog.at_level(logging.WARNING, logger="urllib3"):
        client.push(files=names, target=target, concurrency=40)
        client.pull(target=target, outdir=str(tmp_path / "out"), concurrency=40)
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]
    assert fault_proxy.max_concurrent() > 32  # the pool did not cap the workers
    # The pool keeps at most 40 + POOL_HEADROOM connections at once. The number of distinct
    # connections over the whole run is not bounded by it: a connection the other end closed
    # while idle in the pool is replaced by a new one (under load this happened to all 40
    # between the push and the pull, 80 in all, with no connection thrown away).
    assert _most_connections_open_at_once(fault_proxy.log()) <= 40 + POOL_HEADROOM


def test_concurrency_one_is_sequential(registry, files, unique_repo, tmp_path):
    client = CountingRegistry(insecure=True)
    target = f"{registry.host}/{unique_repo}:v1"
    client.push(files=files[:3], target=target, concurrency=1)
    client.pull(target=target, outdir=str(tmp_path / "out"), concurrency=1)
    assert client.max_in_flight == 1


def test_progress_events_and_library_stays_silent(registry, files, unique_repo, tmp_path, capfd):
    (tmp_path / "large.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    events: list[ProgressEvent] = []
    lock = threading.Lock()

    def record(event: ProgressEvent) -> None:
        with lock:
            events.append(event)

    client = oras.provider.Registry(insecure=True, progress=record)
    target = f"{registry.host}/{unique_repo}:v1"
    client.push(files=["large.bin", files[0]], target=target)
    uploads = [e for e in events if e.name == "large.bin"]
    statuses = [e.status for e in uploads]
    assert statuses[0] == STARTED and statuses[-1] == DONE and PROGRESS in statuses
    assert uploads[-1].done == uploads[-1].total == 3 * 1024 * 1024
    assert [e.done for e in uploads] == sorted(e.done for e in uploads)

    events.clear()
    client.push(files=["large.bin"], target=target)
    assert [e.status for e in events if e.name == "large.bin"] == [EXISTS]

    events.clear()
    client.pull(target=target, outdir=str(tmp_path / "out"), progress=record)
    downloads = [e for e in events if e.name == "large.bin"]
    assert downloads[0].action == "download" and downloads[-1].status == DONE
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # the library reports through the callback and logging only


def test_push_from_stdin_and_pull_to_stdout(registry, tmp_path):
    payload = os.urandom(200_000)
    target = f"localhost:{registry.port}/t/stdin:v1"
    pushed = run_bytes(
        ["push", "--no-tty", target, "-:application/x-test", "--stdin-name", "blob.bin"],
        payload,
        tmp_path,
    )
    assert pushed.returncode == 0, pushed.stderr
    digest = "sha256:" + hashlib.sha256(payload).hexdigest()
    manifest = requests.get(
        f"{registry.url}/v2/t/stdin/manifests/v1",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    ).json()
    [layer] = manifest["layers"]
    assert layer["digest"] == digest and layer["size"] == len(payload)
    assert layer["mediaType"] == "application/x-test"
    assert layer["annotations"]["org.opencontainers.image.title"] == "blob.bin"

    pulled = run_bytes(["pull", target, "-o", "-"], b"", tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout == payload


def run_bytes(args: list[str], data: bytes, cwd: Path):
    """The `oras_cli` fixture speaks text; blobs need bytes on stdin and stdout."""
    import subprocess
    import sys

    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "oras.cli", *args],
        input=data,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
        cwd=cwd,
    )
