"""A bounded memory of facts learnt per repository (or per key), forgetting the least recently
used first, so that a long-running program talking to many repositories stays flat in memory."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Optional, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: Most repositories a client remembers something about (whether the registry serves the
#: referrers API there, the token scopes to ask for up front); the least recently used are
#: forgotten first, and found out again when needed.
MAX_REMEMBERED_REPOSITORIES = 1024


class RecentDict(OrderedDict[K, V]):
    """A dict of at most `limit` entries (by default `MAX_REMEMBERED_REPOSITORIES`, read when
    an entry is set): reading or setting an entry makes it the most recent, and setting one
    beyond the limit drops the least recent. Safe to share between threads."""

    def __init__(self, limit: Optional[int] = None) -> None:
        super().__init__()
        self.limit = limit
        self._lock = threading.RLock()

    def __getitem__(self, key: K) -> V:
        with self._lock:
            value = super().__getitem__(key)
            self.move_to_end(key)
            return value

    def get(self, key: K, default: Any = None) -> Any:
        with self._lock:
            return self[key] if key in self else default

    def setdefault(self, key: K, default: Any = None) -> Any:
        with self._lock:
            if key not in self:
                self[key] = default
            return self[key]

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            super().__setitem__(key, value)
            self.move_to_end(key)
            limit = MAX_REMEMBERED_REPOSITORIES if self.limit is None else self.limit
            while len(self) > max(limit, 1):
                # not popitem(last=False): Python 3.9's OrderedDict calls the overridden
                # __getitem__ on the key it is popping, whose move_to_end then fails
                del self[next(iter(self))]

    def __reduce__(self) -> Any:  # a lock does not pickle or copy: a copy gets its own
        return (type(self), (self.limit,), None, None, iter(self.items()))
