"""A simulated long-distance link on loopback, between any HTTP client and a test registry.

`LinkSimulator(upstream_url, rtt=0.020, bytes_per_second=25 MiB)` is a `FaultProxy` that holds
every request one round trip (`rtt` seconds, after reading its head) and relays every body,
both ways, at most `bytes_per_second` **per connection**, as a TCP stream over a long path is
capped by its window and round-trip time, while several connections share a link that is
wider. Opening a connection is not delayed. Every proxy connection is served by its own
thread, with its own registry connection kept between its requests, and bodies are relayed in slices of 10 ms of the link's rate, so the simulator itself
is not the bottleneck: N connections get about N times the rate of one (the benchmark measures
it with curl fetching N ranges at once). The faults and the log of `FaultProxy` work through
it too (`cut_response`, `corrupt_response`, `log`, `max_concurrent`...).

Both the tests (`tests/integration/test_ranged_download.py`) and the benchmark (`bench/run.py`,
which imports it from here) use it.
"""

from __future__ import annotations

from typing import Optional

from tests.harness.proxy import FaultProxy

__all__ = ["LINK_BYTES_PER_SECOND", "LINK_RTT", "LinkSimulator"]

#: The benchmark's link: 20 ms round trip, 25 MiB/s per connection.
LINK_RTT = 0.020
LINK_BYTES_PER_SECOND = 25 * 1024 * 1024


class LinkSimulator(FaultProxy):
    """A FaultProxy whose every request waits `rtt` and whose bodies flow at most
    `bytes_per_second` per connection (None or 0: not limited)."""

    def __init__(
        self,
        upstream_url: str,
        rtt: float = LINK_RTT,
        bytes_per_second: Optional[int] = LINK_BYTES_PER_SECOND,
    ) -> None:
        super().__init__(upstream_url)
        self.rtt = rtt
        self.bytes_per_second = bytes_per_second or 0

    def start(self) -> LinkSimulator:
        super().start()
        self._arm_link()
        return self

    def clear(self) -> None:
        """Drop the faults and the log; the link itself stays."""
        super().clear()
        self._arm_link()

    def _arm_link(self) -> None:
        if self.rtt > 0:
            self.delay("*", "", self.rtt, times=None)
        if self.bytes_per_second:
            self.throttle("*", "", self.bytes_per_second, times=None)
            self.throttle_request("*", "", self.bytes_per_second, times=None)
