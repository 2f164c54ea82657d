"""`RangedOptions`, how large blobs are downloaded (`oras.remote.ranged`, which re-exports it).

Apart from the downloading, so that every `Registry` can hold its options without importing
the ranged download machinery at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from oras.concurrency import DOWNLOAD_RANGES
from oras.concurrency import RANGED_THRESHOLD as _THRESHOLD
from oras.errors import ArgumentError

#: Connections one blob is fetched over at once (Ollama uses 16; 8 fills a link of 25 MiB/s
#: per connection up to 200 MiB/s without opening a crowd of connections per blob).
DEFAULT_RANGES = DOWNLOAD_RANGES
#: Blobs from this size on are fetched in ranges (a smaller one is fetched in a few round
#: trips anyway, and is usually one of many blobs downloaded side by side).
RANGED_THRESHOLD = _THRESHOLD
#: A first answer whose first PROBE_SIZE bytes arrive at least this fast (bytes a second) is
#: read as one stream: the link is not what limits it (a registry on the same machine or
#: network), and more connections would only cost CPU that hashing and writing need.
ONE_STREAM_RATE = 128 * 1024 * 1024


@dataclass(frozen=True)
class RangedOptions:
    """How large blobs are downloaded: `ranges` connections at once for a blob of at least
    `threshold` bytes on a registry that supports ranges, unless its first answer already
    arrives at `one_stream_rate` bytes a second or more (None: always in ranges); `ranges=1`
    always uses one stream."""

    ranges: int = DEFAULT_RANGES
    threshold: int = RANGED_THRESHOLD
    one_stream_rate: Optional[int] = ONE_STREAM_RATE

    def __post_init__(self) -> None:
        if not isinstance(self.ranges, int) or self.ranges < 1:
            raise ArgumentError(f"ranges must be a positive integer, not {self.ranges!r}")
        if not isinstance(self.threshold, int) or self.threshold < 0:
            raise ArgumentError(f"threshold must be a byte count, not {self.threshold!r}")
        rate = self.one_stream_rate
        if rate is not None and (not isinstance(rate, int) or rate < 1):
            raise ArgumentError(f"one_stream_rate must be bytes a second or None, not {rate!r}")
