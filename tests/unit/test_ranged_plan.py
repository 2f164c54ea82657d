"""How a blob is cut into ranges, and the options that say when (`oras.remote.ranged`)."""

from __future__ import annotations

import pytest
import requests

from oras.errors import ArgumentError
from oras.remote.ranged import MIN_PART, PARTS_PER_RANGE, RangedOptions, plan_parts, supports_ranges


def _covers(parts: list[tuple[int, int]], total: int) -> bool:
    return (
        parts[0][0] == 0
        and parts[-1][1] == total
        and all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    )


def test_a_large_blob_gets_several_parts_per_connection() -> None:
    total = 512 * 1024 * 1024
    parts = plan_parts(total, 8)
    assert len(parts) == 8 * PARTS_PER_RANGE
    assert _covers(parts, total)


def test_parts_are_not_smaller_than_the_minimum_when_the_blob_allows() -> None:
    total = 40 * 1024 * 1024 + 3
    parts = plan_parts(total, 8)
    assert all(end - start >= MIN_PART for start, end in parts[:-1])
    assert _covers(parts, total)


def test_a_small_blob_gets_one_part_per_connection() -> None:
    parts = plan_parts(1000, 4)
    assert parts == [(0, 250), (250, 500), (500, 750), (750, 1000)]


def test_an_odd_size_is_covered_exactly() -> None:
    for total in (1, 7, 4 * 1024 * 1024 + 1, 123_456_789):
        assert _covers(plan_parts(total, 3), total)


@pytest.mark.parametrize("ranges", [0, -1, 1.5, "8"])
def test_ranges_must_be_a_positive_integer(ranges: object) -> None:
    with pytest.raises(ArgumentError):
        RangedOptions(ranges=ranges)  # type: ignore[arg-type]


def test_support_is_what_the_answer_says() -> None:
    def answer(status: int, **headers: str) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers)
        return response

    assert supports_ranges(answer(200, **{"Accept-Ranges": "bytes"}))
    assert supports_ranges(answer(206))
    assert not supports_ranges(answer(200))
    assert not supports_ranges(answer(200, **{"Accept-Ranges": "none"}))
