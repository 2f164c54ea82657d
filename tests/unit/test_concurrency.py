"""Running transfers side by side: results in order, errors, and stopping on an interrupt."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from oras import scratch
from oras.concurrency import INTERRUPT_GRACE, check_interrupted, map_concurrently
from oras.errors import TransferInterrupted


def test_results_keep_the_order_of_the_items() -> None:
    assert map_concurrently(lambda n: n * n, range(10), 4) == [n * n for n in range(10)]


def test_check_interrupted_is_a_no_op_outside_workers() -> None:
    check_interrupted()


def test_an_interrupt_stops_the_other_workers_at_their_next_chunk() -> None:
    stopped = threading.Event()

    def work(n: int) -> int:
        if n == 0:
            time.sleep(0.2)
            raise KeyboardInterrupt  # as the signal handler raises it in the calling thread
        try:
            while True:  # a transfer: one chunk after another
                check_interrupted()
                time.sleep(0.01)
        except TransferInterrupted:
            stopped.set()
            raise

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        map_concurrently(work, range(3), 3)
    assert time.monotonic() - started < 0.2 + INTERRUPT_GRACE
    assert stopped.is_set()


def test_a_signal_in_the_calling_thread_stops_the_workers_without_waiting_for_them() -> None:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    release = threading.Event()
    noticed: list[int] = []

    def work(n: int) -> int:
        if n == 0:  # blocked where it cannot notice: it is not waited for beyond the grace
            release.wait(30)
            return n
        while True:
            try:
                check_interrupted()
            except TransferInterrupted:
                noticed.append(n)
                raise
            time.sleep(0.01)

    previous = signal.signal(signal.SIGUSR1, interrupt)
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR1))
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            map_concurrently(work, range(3), 3)
        took = time.monotonic() - started
    finally:
        release.set()
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)
    assert took < 0.2 + INTERRUPT_GRACE + 0.5
    assert sorted(noticed) == [1, 2]


def test_remove_all_removes_what_is_tracked_and_refuses_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scratch, "_paths", set())
    monkeypatch.setattr(scratch, "_leaving", False)
    kept, partial, staging = tmp_path / "kept", tmp_path / "partial", tmp_path / "staging"
    kept.write_bytes(b"done")
    partial.write_bytes(b"half")
    (staging / "inner").mkdir(parents=True)
    for path in (kept, partial, staging):
        scratch.track(str(path))
    scratch.untrack(str(kept))  # renamed into place: no longer temporary
    assert scratch.remove_all() == sorted([str(partial), str(staging)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]

    late = tmp_path / "late"
    late.write_bytes(b"")
    with pytest.raises(TransferInterrupted):
        scratch.track(str(late))  # a worker that starts a file while the program leaves
    assert not late.exists()
