"""Load: one client shared by many threads, and a long soak in one process, keep every
transfer correct and the process's open files, threads and memory flat."""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
import requests

import oras.client
import oras.provider
import oras.remote.referrers
from tests.conftest import PROJECT_ROOT
from tests.harness.hostile import HostileRegistry

THREADS = 8
ROUNDS = 4


Client = Any  # oras.client.OrasClient or oras.provider.Registry: the same push and pull


def _client(reg: HostileRegistry, facade: str) -> Client:
    """A client of `reg`, logged in when it has users."""
    cls = oras.client.OrasClient if facade == "client" else oras.provider.Registry
    client = cls(hostname=reg.host, insecure=True)
    if reg.username:
        client.login(username=reg.username, password=reg.password, hostname=reg.host)
    return client


def _round_trips(
    client: Client, reg: HostileRegistry, workdir: Path, rounds: int
) -> Callable[[int], int]:
    """What thread `n` does: push its own two files, pull them back and compare the bytes,
    `rounds` times; returns the number of rounds done."""

    def work(n: int) -> int:
        for r in range(rounds):
            src = workdir / f"src-{n}-{r}"
            src.mkdir()
            files = {f"t{n}-a.bin": os.urandom(2048 + n), f"t{n}-b.txt": f"{n}/{r}".encode()}
            for name, data in files.items():
                (src / name).write_bytes(data)
            # Every other thread shares one repository (other tags), the rest have their own.
            repo = "load/shared" if n % 2 else f"load/own-{n}"
            target = reg.ref(repo, f"t{n}-r{r}")
            client.push(files=[str(src / name) for name in files], target=target)
            out = workdir / f"out-{n}-{r}"
            paths = client.pull(target=target, outdir=str(out))
            assert sorted(Path(p).name for p in paths) == sorted(files)
            for name, data in files.items():
                assert (out / name).read_bytes() == data, (n, r, name)
        return rounds

    return work


@pytest.mark.parametrize("mode", ["plain", "token"])
@pytest.mark.parametrize("facade", ["client", "registry"])
def test_one_client_shared_by_eight_threads_pushes_and_pulls_correctly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, facade: str
) -> None:
    monkeypatch.chdir(tmp_path)  # oras-py pushes files under the working directory only
    kwargs: dict[str, Any] = (
        {"users": {"loader": "s3cret"}, "token": True} if mode == "token" else {}
    )
    with HostileRegistry(**kwargs) as reg:
        client = _client(reg, facade)
        work = _round_trips(client, reg, tmp_path, ROUNDS)
        started = time.monotonic()
        with ThreadPoolExecutor(THREADS) as pool:
            done = list(pool.map(work, range(THREADS)))
        took = time.monotonic() - started

        assert done == [ROUNDS] * THREADS
        assert took < 60, f"{took:.1f} s"
        if mode == "token":
            # Shared token cache: a token per repository and scope set, not one per request.
            tokens = len(reg.seen("GET", r"^/token"))
            repositories = THREADS // 2 + 1
            assert tokens <= 2 * repositories, tokens
            # Only the first requests, before the challenge is known, go without a token.
            anonymous = [r for r in reg.seen(path=r"^/v2/.") if "authorization" not in r.headers]
            assert len(anonymous) <= THREADS, [(r.method, r.path) for r in anonymous]


def test_the_test_registry_answers_small_requests_without_a_delayed_ack_stall() -> None:
    """Headers and body are written apart: with Nagle's algorithm on, every small answer on a
    kept-alive connection waited for the client's delayed ACK (40 ms), which made a soak of
    many small transfers mostly sleep."""
    with HostileRegistry() as reg, requests.Session() as session:
        times = []
        for _ in range(15):
            started = time.monotonic()
            got = session.get(f"{reg.url}/v2/nagle/tags/list", timeout=10)
            times.append(time.monotonic() - started)
            assert got.status_code == 404 and got.content
    assert statistics.median(times) < 0.025, times


# -- soak ---------------------------------------------------------------------------------------
#: Push/pull cycles of the soak, and how many of them warm up before the baseline is taken.
SOAK_CYCLES = 1000
WARM_UP = 50


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def _container_sizes(*objects: Any) -> dict[str, int]:
    """The length of every dict, set and list attribute of `objects` (the caches a client
    keeps), and of the module-level lock table of tag-schema referrers indexes."""
    sizes = {"referrers._index_locks": len(oras.remote.referrers._index_locks)}
    for obj in objects:
        for name, value in vars(obj).items():
            if isinstance(value, (dict, set, list)):
                sizes[f"{type(obj).__name__}.{name}"] = len(value)
    return sizes


class _RegistryProcess:
    """`python -m oras.testing` on a free port: `host`, `ref()`, no users."""

    username: Optional[str] = None
    password: Optional[str] = None

    def __init__(self, url: str) -> None:
        self.url = url
        self.host = url.split("://", 1)[1]

    def ref(self, repository: str, tag: str) -> str:
        return f"{self.host}/{repository}:{tag}"


@contextlib.contextmanager
def _registry_process() -> Iterator[_RegistryProcess]:
    process = subprocess.Popen(
        [sys.executable, "-m", "oras.testing"],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://\S+", line)
        assert url, line
        yield _RegistryProcess(url.group(0))
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_soak_of_push_pull_cycles_keeps_files_threads_and_memory_flat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # The registry runs in a process of its own, so that what it stores is not counted here.
    with _registry_process() as reg:
        client = _client(reg, "client")
        src, out = tmp_path / "f.txt", tmp_path / "out"
        baseline: Optional[tuple[int, int, int]] = None
        started = time.monotonic()
        for i in range(SOAK_CYCLES):
            data = os.urandom(64) + str(i).encode()
            src.write_bytes(data)
            target = reg.ref(f"soak/r{i % 20}", f"v{i}")
            client.push(files=["f.txt"], target=target)
            (path,) = client.pull(target=target, outdir=str(out))
            assert Path(path).read_bytes() == data
            os.unlink(path)
            if i == WARM_UP:
                baseline = (_open_files(), threading.active_count(), _rss())
        took = time.monotonic() - started
        assert baseline is not None
        fds, threads, rss = _open_files(), threading.active_count(), _rss()

    growth = (fds - baseline[0], threads - baseline[1], (rss - baseline[2]) / 2**20)
    assert fds - baseline[0] <= 5, growth
    assert threads - baseline[1] <= 2, growth
    assert rss - baseline[2] < 20 * 2**20, growth
    assert took < 600, f"{SOAK_CYCLES} cycles took {took:.0f} s"
    print(f"soak: {SOAK_CYCLES} cycles in {took:.1f} s; growth fds/threads/MiB {growth}")


@pytest.mark.parametrize("facade", ["client", "registry"])
def test_what_a_client_remembers_per_repository_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, facade: str
) -> None:
    import oras.recent

    monkeypatch.setattr(oras.recent, "MAX_REMEMBERED_REPOSITORIES", 4)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.txt").write_text("same")
    users = {"loader": "s3cret"}
    with HostileRegistry(users=users, token=True, referrers=False) as reg:
        client = _client(reg, facade)
        registry = client if facade == "registry" else client.remote
        sizes = []
        for i in range(16):
            target = reg.ref(f"many/r{i}", "v1")
            client.push(files=["f.txt"], target=target)
            client.pull(target=target, outdir=str(tmp_path / "out"))
            registry.get_tags(target)
            # The referrers capability and the tag-schema index lock, per repository.
            registry.attach(target, "application/vnd.test.load")
            registry.get_referrers(target)
            sizes.append(_container_sizes(registry, registry.auth))

    grown = {k: (sizes[7][k], v) for k, v in sizes[-1].items() if v > sizes[7].get(k, 0)}
    assert grown == {}, grown
