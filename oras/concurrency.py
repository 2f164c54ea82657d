"""Run independent transfers side by side, failing fast, keeping results in input order, and
stopping them early when the caller is interrupted."""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextvars import ContextVar, copy_context
from typing import Any, Callable, Iterable, TypeVar

from oras.errors import TransferInterrupted

T = TypeVar("T")
R = TypeVar("R")

#: Defaults of the Go oras CLI.
PUSH_CONCURRENCY = 5
PULL_CONCURRENCY = 3
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


def check_interrupted() -> None:
    """Raise TransferInterrupted in a worker whose caller was interrupted; a no-op elsewhere.
    Transfer loops call it once per chunk."""
    if any(stop.is_set() for stop in _stops.get()):
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


def map_concurrently(fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> list[R]:
    """`[fn(item) for item in items]` on up to `concurrency` threads. The first error is raised
    once the running calls end; calls not yet started are cancelled.

    An interrupt of the calling thread (KeyboardInterrupt) stops the workers at their next
    chunk (they raise TransferInterrupted and remove their partial files) and is re-raised
    once they have, or after INTERRUPT_GRACE seconds, whichever comes first.
    """
    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
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
