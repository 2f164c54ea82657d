"""Run independent transfers side by side, failing fast, keeping results in input order."""

from __future__ import annotations

from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Defaults of the Go oras CLI.
PUSH_CONCURRENCY = 5
PULL_CONCURRENCY = 3


def map_concurrently(fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> list[R]:
    """`[fn(item) for item in items]` on up to `concurrency` threads. The first error is raised
    once the running calls end; calls not yet started are cancelled."""
    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        futures = [pool.submit(fn, item) for item in items]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]
