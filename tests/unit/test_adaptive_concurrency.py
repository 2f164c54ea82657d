"""The adaptive concurrency: a hill climb on completed bytes per second, driven here by a fake
clock and synthetic transfer times (a link that rewards more transfers, a CPU that does not)."""

from __future__ import annotations

import heapq
import random
import threading
from typing import Callable

import pytest

from oras.concurrency import (
    MAX_CONCURRENCY,
    PULL_CONCURRENCY,
    PUSH_CONCURRENCY,
    AdaptiveConcurrency,
    TransferSlots,
    map_concurrently,
)

MiB = 1024 * 1024


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def link(rtt: float = 0.020, rate: float = 25 * MiB) -> Callable[[int, int], float]:
    """A long link: every transfer waits a round trip and moves at the per-connection rate,
    however many run at once."""
    return lambda size, in_flight: rtt + size / rate


def cpu(seconds_per_mib: float = 0.005) -> Callable[[int, int], float]:
    """A registry on this machine: the transfers share one CPU, so each takes as many times
    longer as there are in flight (the throughput stays the same)."""
    return lambda size, in_flight: seconds_per_mib * size / MiB * in_flight


def noisy(model: Callable[[int, int], float], seed: int, spread: float = 0.4):
    """`model` on a busy machine: every transfer takes up to `spread` longer or shorter."""
    rng = random.Random(seed)
    return lambda size, in_flight: model(size, in_flight) * rng.uniform(1 - spread, 1 + spread)


def simulate(
    controller: AdaptiveConcurrency,
    clock: FakeClock,
    duration: Callable[[int, int], float],
    transfers: int = 100,
    size: int = MiB,
) -> list[tuple[float, int]]:
    """Run `transfers` of `size` bytes, at most `controller.limit` at once, each taking
    `duration(size, transfers in flight when it starts)`; returns (time, limit) after each
    transfer finished."""
    running: list[tuple[float, int, float]] = []
    left, seen = transfers, 0
    limits: list[tuple[float, int]] = []
    while left or running:
        while left and len(running) < controller.limit:
            since = controller.started()
            heapq.heappush(running, (clock.now + duration(size, len(running) + 1), seen, since))
            seen += 1
            left -= 1
        clock.now, _, since = heapq.heappop(running)
        controller.finished(size, since)
        limits.append((clock.now, controller.limit))
    return limits


def time_share(limits: list[tuple[float, int]], level: int) -> float:
    """The share of the time during which the limit was `level`."""
    total = limits[-1][0] - limits[0][0]
    at_level = sum(t1 - t0 for (t0, n), (t1, _) in zip(limits, limits[1:]) if n == level)
    return at_level / total


def test_it_starts_at_the_fixed_default() -> None:
    assert AdaptiveConcurrency(PULL_CONCURRENCY).limit == 3
    assert AdaptiveConcurrency(PUSH_CONCURRENCY).limit == 5


def test_through_a_link_it_grows_to_the_cap() -> None:
    clock = FakeClock()
    controller = AdaptiveConcurrency(PULL_CONCURRENCY, clock=clock)
    limits = simulate(controller, clock, link())
    assert controller.limit == MAX_CONCURRENCY
    # Three windows (3, 6, 12) of a round each before the cap: most of the 100 blobs move at 16.
    first_at_cap = next(i for i, (_, n) in enumerate(limits) if n == MAX_CONCURRENCY)
    assert first_at_cap < 30


@pytest.mark.parametrize("seed", range(10))
def test_through_a_link_on_a_busy_machine_it_still_grows(seed: int) -> None:
    clock = FakeClock()
    controller = AdaptiveConcurrency(PULL_CONCURRENCY, clock=clock)
    simulate(controller, clock, noisy(link(), seed), transfers=200)
    assert controller.limit >= 12


@pytest.mark.parametrize("start", [PULL_CONCURRENCY, PUSH_CONCURRENCY])
def test_on_loopback_it_stays_where_it_started(start: int) -> None:
    clock = FakeClock()
    controller = AdaptiveConcurrency(start, clock=clock)
    limits = simulate(controller, clock, cpu(), transfers=300)
    assert controller.limit == start
    assert max(n for _, n in limits) == 2 * start  # it tried twice as many, once or more
    # Tries grow further apart after each one that failed: most of the time runs at `start`.
    assert time_share(limits, start) > 0.75


def fixed_time(duration: Callable[[int, int], float], concurrency: int, transfers: int) -> float:
    """How long `transfers` take at a fixed `concurrency`."""
    clock = FakeClock()
    controller = AdaptiveConcurrency(concurrency, cap=concurrency, clock=clock)
    return simulate(controller, clock, duration, transfers=transfers)[-1][0]


def test_on_a_busy_loopback_it_rarely_leaves_the_start() -> None:
    """A busy machine's noise may pass for a gain now and then: most runs end where they
    started, and none is slower for having tried more (the CPU sets the pace)."""
    stayed = 0
    for seed in range(30):
        clock = FakeClock()
        controller = AdaptiveConcurrency(PULL_CONCURRENCY, clock=clock)
        limits = simulate(controller, clock, noisy(cpu(), seed), transfers=300)
        stayed += controller.limit == PULL_CONCURRENCY
        fixed = fixed_time(noisy(cpu(), seed), PULL_CONCURRENCY, 300)
        assert limits[-1][0] <= 1.05 * fixed
    assert stayed >= 24


def test_a_link_behind_a_busy_cpu_grows_only_as_far_as_it_pays() -> None:
    """The link rewards more transfers until the CPU is the limit (here at 8 in flight): it
    grows past 3, and takes about as long as the best fixed number would."""
    clock = FakeClock()
    controller = AdaptiveConcurrency(PULL_CONCURRENCY, clock=clock)

    def capped(size: int, in_flight: int) -> float:
        return max(0.060, 0.060 * in_flight / 8)

    limits = simulate(controller, clock, capped, transfers=400)
    assert controller.limit >= 6
    assert limits[-1][0] <= 1.10 * fixed_time(capped, 8, 400)
    assert limits[-1][0] < 0.5 * fixed_time(capped, PULL_CONCURRENCY, 400)


def test_no_growth_when_too_little_work_fills_the_limit() -> None:
    """Fewer transfers than a window: nothing is decided, the limit stays."""
    clock = FakeClock()
    controller = AdaptiveConcurrency(PULL_CONCURRENCY, clock=clock)
    simulate(controller, clock, link(), transfers=PULL_CONCURRENCY)
    assert controller.limit == PULL_CONCURRENCY


def test_a_window_that_does_not_fill_the_limit_decides_nothing() -> None:
    clock = FakeClock()
    controller = AdaptiveConcurrency(PULL_CONCURRENCY, clock=clock)
    for _ in range(20):  # one at a time, although three may run
        controller.started()
        clock.now += 0.05
        controller.finished(MiB)
    assert controller.limit == PULL_CONCURRENCY


def test_transfers_that_move_no_bytes_are_not_measured() -> None:
    clock = FakeClock()
    controller = AdaptiveConcurrency(PULL_CONCURRENCY, clock=clock)
    for _ in range(30):
        for _ in range(3):
            controller.started()
        clock.now += 0.05
        for _ in range(3):
            controller.finished(0)  # a blob the destination had, a failed transfer
    assert controller.limit == PULL_CONCURRENCY


def test_start_and_cap_are_checked() -> None:
    with pytest.raises(ValueError):
        AdaptiveConcurrency(0)
    with pytest.raises(ValueError):
        AdaptiveConcurrency(8, cap=4)


def test_fixed_slots_wait_for_nothing() -> None:
    slots = TransferSlots(4, start=PULL_CONCURRENCY)
    assert slots.adaptive is None and slots.workers == 4
    with slots.slot():
        slots.moved(10)


def test_adaptive_slots_hold_the_limit_and_measure_what_moved() -> None:
    clock = FakeClock()
    slots = TransferSlots(None, start=2, cap=4, clock=clock)
    assert slots.adaptive is not None and slots.workers == 4
    lock = threading.Lock()
    in_flight, peak = 0, 0
    release = threading.Event()

    def transfer(n: int) -> int:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        release.wait(5)
        with lock:
            in_flight -= 1
        return MiB

    threading.Timer(0.2, release.set).start()
    assert map_concurrently(transfer, range(6), slots, weigh=lambda n: n) == [MiB] * 6
    assert peak == 2  # the limit, not the pool's four threads
    assert slots.adaptive._in_flight == 0
