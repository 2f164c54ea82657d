"""The bounded per-repository memory and the per-key locks that do not outlive their use."""

from __future__ import annotations

import copy
import threading

import pytest

import oras.recent
from oras.concurrency import KeyedLocks
from oras.recent import RecentDict


def test_recent_dict_forgets_the_least_recently_used_beyond_its_limit() -> None:
    d: RecentDict[str, int] = RecentDict(limit=2)
    d["a"], d["b"] = 1, 2
    assert d["a"] == 1  # "a" is now the most recent
    d["c"] = 3
    assert dict(d) == {"a": 1, "c": 3}
    assert d.get("b") is None
    d.setdefault("x", 9)
    assert list(d) == ["c", "x"]
    assert copy.deepcopy(d).limit == 2


def test_recent_dict_reads_the_named_limit_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    d: RecentDict[int, int] = RecentDict()
    monkeypatch.setattr(oras.recent, "MAX_REMEMBERED_REPOSITORIES", 3)
    for i in range(10):
        d[i] = i
    assert list(d) == [7, 8, 9]


def test_keyed_locks_exclude_per_key_and_are_dropped_once_unused() -> None:
    locks = KeyedLocks()
    inside: list[str] = []
    overlap = threading.Event()

    def worker(key: str) -> None:
        for _ in range(200):
            with locks.hold(key):
                inside.append(key)
                if inside.count(key) > 1:
                    overlap.set()
                inside.remove(key)

    threads = [threading.Thread(target=worker, args=(k,)) for k in "aabbc" * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlap.is_set()
    assert len(locks) == 0
    with pytest.raises(ValueError), locks.hold("z"):
        raise ValueError("released on errors too")
    assert len(locks) == 0
