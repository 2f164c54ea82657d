"""Run independent transfers side by side, failing fast, keeping results in input order, and
stopping them early when the caller is interrupted; and decide how many run at once, fixed or
adapting to what finished transfers measure (`AdaptiveConcurrency`, `TransferSlots`)."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, TypeVar, Union

if TYPE_CHECKING:
    from concurrent.futures import Future

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

#: Defaults of the Go oras CLI: where an adaptive concurrency starts, and a fixed one's default
#: in the commands that do not adapt.
PUSH_CONCURRENCY = 5
PULL_CONCURRENCY = 3
#: The most transfers an adaptive concurrency grows to.
MAX_CONCURRENCY = 16
#: Connections a large blob is downloaded over at once, and from which size on
#: (`oras.remote.ranged`; here, so that the CLI can show them without importing requests).
DOWNLOAD_RANGES = 8
RANGED_THRESHOLD = 64 * 1024 * 1024

#: After an interrupt, how long the workers get to notice it and remove their partial files
#: before the interrupt goes on up (a worker blocked on a silent connection cannot notice).
INTERRUPT_GRACE = 1.0

#: How often the calling thread wakes up while it waits for the workers.
_WAKE_UP = 0.25

#: The stop events of the `map_concurrently` calls the current thread works for.
_stops: ContextVar[tuple[threading.Event, ...]] = ContextVar("oras_stops", default=())


def check_concurrency(concurrency: Optional[int]) -> None:
    """ArgumentError for a concurrency below 1 (None: the default, fine)."""
    if concurrency is not None and concurrency < 1:
        from oras.errors import ArgumentError  # (requests, which the CLI's parser does without)

        raise ArgumentError(f"concurrency must be at least 1, not {concurrency!r}")


def check_interrupted() -> None:
    """Raise TransferInterrupted in a worker whose caller was interrupted; a no-op elsewhere.
    Transfer loops call it once per chunk."""
    if any(stop.is_set() for stop in _stops.get()):
        from oras.errors import TransferInterrupted

        raise TransferInterrupted("interrupted")


def run_stoppable(stop: threading.Event, fn: Callable[..., R], *args: Any) -> R:
    """`fn(*args)` in a context where `check_interrupted` raises once `stop` is set (and when
    the caller's own stop events are): what a worker thread of a pool runs."""
    context = copy_context()
    context.run(_stops.set, (*_stops.get(), stop))
    return context.run(fn, *args)


def in_this_context(fn: Callable[..., R]) -> Callable[..., R]:
    """`fn` bound to the current context, to run on a helper thread that must stop with this
    one (a plain thread starts with an empty context)."""
    context = copy_context()
    return lambda *args: context.run(fn, *args)


#: An adaptive window: at least one round of the limit's transfers that moved bytes, and at
#: least this many...
MIN_WINDOW_TRANSFERS = 4
#: ...and at least this long, so that one scheduling hiccup does not decide.
MIN_WINDOW_SECONDS = 0.05
#: A larger limit is kept when the throughput rose by at least this share of what the extra
#: transfers would add if only waiting held them back (doubling: +30 %; 12 -> 16: +10 %).
GAIN_SHARE = 0.3
#: A window in which fewer transfers were in flight, on average, than this share of the limit
#: (too little work left to fill it) decides nothing.
MIN_BUSY = 0.75
#: Windows measured at the old limit after a larger one did not pay, before the next try;
#: doubled after each try that fails.
HOLD_WINDOWS = 2


class AdaptiveConcurrency:
    """How many transfers run at once, from what the finished ones measure: a hill climb on
    the bytes per second that transfers complete.

    The limit starts at `start` (the fixed default it replaces). A window is at least
    `max(limit, MIN_WINDOW_TRANSFERS)` finished transfers that moved bytes (one round of them)
    and at least MIN_WINDOW_SECONDS since the limit last changed; its throughput is the bytes
    moved in it (a transfer begun before it counts with the share of its time that fell into
    it) divided by its duration. After a window the limit tries twice as many (at most `cap`) and
    keeps them when the next window's throughput rose by GAIN_SHARE of the proportional gain;
    otherwise it goes back and measures HOLD_WINDOWS windows before it tries again (twice as
    many after each failed try). The limit never goes below `start`.

    Why this is robust: where the transfers wait on a link (a round trip per request, a rate
    capped per connection), twice the transfers complete about twice the bytes per second, far
    above the +30 % asked; where they compete for the CPU (a registry on this machine, two
    cores shared with other work), they complete about the same, and a busy machine's noise
    rarely adds up to +30 % between two windows; a wrong step up costs little there, since the
    CPU, not the number of transfers, sets the pace. A
    window in which the transfers in flight did not fill the limit (MIN_BUSY: the last blobs of
    a copy, a graph that is still being discovered) decides nothing.

    Pure logic: `started` and `finished` are called by one thread at a time (`TransferSlots`
    calls them under its lock); `clock` gives the time in seconds.
    """

    def __init__(
        self, start: int, cap: int = MAX_CONCURRENCY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if start < 1 or cap < start:
            raise ValueError(f"an adaptive concurrency needs 1 <= start <= cap, not {start}, {cap}")
        self.start = start
        self.cap = cap
        #: Transfers allowed at once now.
        self.limit = start
        self._clock = clock
        self._in_flight = 0
        # The limit and throughput before the try being measured, if one is.
        self._baseline: Optional[tuple[int, float]] = None
        self._hold = 0
        self._backoff = HOLD_WINDOWS
        self._window_start: Optional[float] = None
        self._last = 0.0
        self._busy = 0.0  # transfers in flight integrated over the window's time
        self._count = 0
        self._bytes = 0

    def started(self) -> float:
        """A transfer starts (the caller keeps at most `limit` in flight); returns its start,
        for `finished`."""
        now = self._clock()
        if self._window_start is None:
            self._begin(now)
        else:
            self._advance(now)
        self._in_flight += 1
        return now

    def finished(self, nbytes: int, since: Optional[float] = None) -> None:
        """A started transfer ended, having moved `nbytes` (0: it moved none, or it failed)
        since `since` (what `started` returned). A transfer that began before the window counts
        with the share of its bytes that fell into the window (as if it moved evenly): the
        transfers the last limit left in flight would otherwise swell a short window."""
        now = self._clock()
        self._advance(now)
        self._in_flight -= 1
        assert self._window_start is not None
        if nbytes > 0:
            self._count += 1
            if since is not None and since < self._window_start < now:
                nbytes = round(nbytes * (now - self._window_start) / (now - since))
            self._bytes += nbytes
        if (
            self._count >= max(self.limit, MIN_WINDOW_TRANSFERS)
            and now - self._window_start >= MIN_WINDOW_SECONDS
        ):
            self._decide(now)

    def _advance(self, now: float) -> None:
        self._busy += self._in_flight * (now - self._last)
        self._last = now

    def _begin(self, now: float) -> None:
        self._window_start = self._last = now
        self._busy = 0.0
        self._count = self._bytes = 0

    def _decide(self, now: float) -> None:
        assert self._window_start is not None
        elapsed = now - self._window_start
        rate = self._bytes / elapsed
        if self._busy / elapsed < MIN_BUSY * self.limit:
            self._begin(now)
            return
        if self._baseline is not None:
            old_limit, old_rate = self._baseline
            self._baseline = None
            wanted = old_rate * (1 + GAIN_SHARE * (self.limit / old_limit - 1))
            if rate < wanted:
                log.debug(
                    "concurrency %d moved %.1f MiB/s, not more than %d did (%.1f MiB/s): back to %d",
                    self.limit,
                    rate / 2**20,
                    old_limit,
                    old_rate / 2**20,
                    old_limit,
                )
                self.limit = old_limit
                self._hold = self._backoff
                self._backoff *= 2
                self._begin(now)
                return
            log.debug(
                "concurrency %d moved %.1f MiB/s, %d moved %.1f MiB/s: keeping %d",
                self.limit,
                rate / 2**20,
                old_limit,
                old_rate / 2**20,
                self.limit,
            )
            self._backoff = HOLD_WINDOWS
        if self._hold > 0:
            self._hold -= 1
        elif self.limit < self.cap:
            self._baseline = (self.limit, rate)
            self.limit = min(self.cap, 2 * self.limit)
        self._begin(now)


class TransferSlots:
    """At most so many transfers at once: `concurrency` of them, or, when it is None, as many
    as an AdaptiveConcurrency from `start` up to `cap` decides. A pool that runs transfers in
    slots needs `workers` threads; the threads beyond the limit wait for a slot."""

    def __init__(
        self,
        concurrency: Optional[int],
        start: int,
        cap: int = MAX_CONCURRENCY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.adaptive = (
            AdaptiveConcurrency(start, max(cap, start), clock) if concurrency is None else None
        )
        #: Threads a pool needs: a fixed concurrency, or the adaptive one's cap.
        self.workers = concurrency if self.adaptive is None else self.adaptive.cap
        self._condition = threading.Condition()
        self._in_flight = 0
        self._local = threading.local()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot while the block runs (a fixed concurrency: the pool's size is the
        limit, so this waits for nothing). Bytes the block reports with `moved` are measured."""
        adaptive = self.adaptive
        if adaptive is None:
            yield
            return
        with self._condition:
            while self._in_flight >= adaptive.limit:
                # Waking up now and then lets a stopped copy end this thread too.
                self._condition.wait(_WAKE_UP)
                check_interrupted()
            self._in_flight += 1
            since = adaptive.started()
        self._local.moved = 0
        try:
            yield
        except BaseException:
            self._local.moved = 0  # a failed transfer measures nothing
            raise
        finally:
            with self._condition:
                self._in_flight -= 1
                adaptive.finished(self._local.moved, since)
                # Wake as many waiting threads as there are free slots, not all of them: a
                # pool of `cap` threads around a small limit would stampede after every
                # transfer (on loopback, that costs a tenth of a 100-blob pull).
                self._condition.notify(max(1, adaptive.limit - self._in_flight))

    def moved(self, nbytes: int) -> None:
        """The transfer in this thread's slot moved `nbytes` (a no-op outside one)."""
        if self.adaptive is not None and hasattr(self._local, "moved"):
            self._local.moved += nbytes


def map_concurrently(
    fn: Callable[[T], R],
    items: Iterable[T],
    concurrency: Union[int, TransferSlots],
    weigh: Optional[Callable[[R], int]] = None,
) -> list[R]:
    """`[fn(item) for item in items]` on up to `concurrency` threads (or in the slots of a
    TransferSlots, with `weigh(result)` the bytes a call moved). The first error is raised
    once the running calls end; calls not yet started are cancelled.

    An interrupt of the calling thread (KeyboardInterrupt) stops the workers at their next
    chunk (they raise TransferInterrupted and remove their partial files) and is re-raised
    once they have, or after INTERRUPT_GRACE seconds, whichever comes first.
    """
    items = list(items)
    if isinstance(concurrency, TransferSlots):
        slots, concurrency = concurrency, concurrency.workers
        fn = _in_slot(slots, fn, weigh)
    if concurrency <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    # Imported on use: concurrent.futures costs start-up time, and only transfers need it.
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=min(concurrency, len(items)))
    futures: list[Future[R]] = []
    interrupted = False
    try:
        futures = [pool.submit(run_stoppable, stop, fn, item) for item in items]
        while True:
            # Waking up now and then lets a signal handler run here even when the signal was
            # delivered to a worker thread (a lock wait without a timeout sleeps through it).
            done, pending = wait(futures, timeout=_WAKE_UP, return_when=FIRST_EXCEPTION)
            if not pending or any(not f.cancelled() and f.exception() for f in done):
                break
        for future in pending:
            future.cancel()
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]
    except BaseException as e:
        if not isinstance(e, Exception):  # KeyboardInterrupt, SystemExit: stop the workers
            interrupted = True
            stop.set()
            for future in futures:
                future.cancel()
            wait(futures, timeout=INTERRUPT_GRACE)
        raise
    finally:
        # After an interrupt, a worker still blocked is left to end on its own.
        pool.shutdown(wait=not interrupted, cancel_futures=interrupted)


def _in_slot(
    slots: TransferSlots, fn: Callable[[T], R], weigh: Optional[Callable[[R], int]]
) -> Callable[[T], R]:
    def run(item: T) -> R:
        with slots.slot():
            result = fn(item)
            if weigh is not None:
                slots.moved(weigh(result))
            return result

    return run


class KeyedLocks:
    """One lock per key, held with `with locks.hold(key):`; a key's lock exists only while
    some thread holds or waits for it, so the table does not grow with every key ever used."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Any, tuple[threading.Lock, int]] = {}  # key -> (lock, users)

    def __len__(self) -> int:
        return len(self._locks)

    @contextmanager
    def hold(self, key: Any) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (None, 0))
            if lock is None:
                lock = threading.Lock()
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)
