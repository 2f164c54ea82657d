"""The hostile registry harness itself: rules fire as told, everything else is answered
honestly, and every request is recorded."""

from __future__ import annotations

import requests

from tests.harness.hostile import HostileRegistry, send, send_chunked


def test_rules_fire_their_times_then_the_registry_answers_honestly() -> None:
    with HostileRegistry() as reg:
        rule = reg.on("GET", r"^/v2/$", lambda h, m: send(h, 503, b"nope"), times=2)
        statuses = [requests.get(f"{reg.url}/v2/", timeout=5).status_code for _ in range(3)]
        assert statuses == [503, 503, 200]
        assert rule.fired == 2
        assert [r.path for r in reg.seen("GET", r"^/v2/$")] == ["/v2/"] * 3


def test_actions_can_lie_about_length_and_stream_chunks() -> None:
    with HostileRegistry() as reg:
        reg.on("GET", r"/short", lambda h, m: send(h, 200, b"abc", length=10))
        reg.on("GET", r"/chunks", lambda h, m: send_chunked(h, 200, [b"ab", b"cd"]))
        assert requests.get(f"{reg.url}/chunks", timeout=5).content == b"abcd"
        try:
            requests.get(f"{reg.url}/short", timeout=5).content  # noqa: B018
        except requests.exceptions.ChunkedEncodingError:
            pass
        else:
            raise AssertionError("a body shorter than its Content-Length was accepted")
        assert reg.saw_header("user-agent", path=r"/chunks")
