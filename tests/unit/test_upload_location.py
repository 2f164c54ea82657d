"""The upload `Location` a registry answers: resolved against the request, refused when it
leaves http(s) or takes an https upload to plain http."""

from __future__ import annotations

import pytest
import requests

from oras.errors import ProtocolError
from oras.remote.response import resolve_location


def _answer(url: str, location: str) -> requests.Response:
    response = requests.Response()
    response.url = url
    response.status_code = 202
    response.headers["Location"] = location
    response.request = requests.Request("POST", url).prepare()
    return response


@pytest.mark.parametrize(
    ("url", "location", "expected"),
    [
        ("https://r.example/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/u1?_state=x",
         "https://r.example/v2/a/blobs/uploads/u1?_state=x"),
        ("https://r.example/v2/a/blobs/uploads/", "https://store.example/up/u1",
         "https://store.example/up/u1"),
        ("http://r.example/v2/a/blobs/uploads/", "https://r.example/v2/a/blobs/uploads/u1",
         "https://r.example/v2/a/blobs/uploads/u1"),
        ("http://r.example/v2/a/blobs/uploads/", "http://store.example/u1",
         "http://store.example/u1"),
    ],
)  # fmt: skip
def test_locations_that_are_followed(url: str, location: str, expected: str) -> None:
    assert resolve_location(_answer(url, location)) == expected


@pytest.mark.parametrize(
    ("url", "location", "why"),
    [
        ("https://r.example/v2/a/blobs/uploads/", "http://r.example/v2/a/blobs/uploads/u1",
         "plain http after https"),
        ("https://r.example/v2/a/blobs/uploads/", "http://store.example/u1",
         "plain http after https"),
        ("http://r.example/v2/a/blobs/uploads/", "ftp://r.example/u1", "a ftp URL"),
        ("https://r.example/v2/a/blobs/uploads/", "file:///etc/passwd", "a file URL"),
    ],
)  # fmt: skip
def test_locations_that_are_refused(url: str, location: str, why: str) -> None:
    with pytest.raises(ProtocolError) as info:
        resolve_location(_answer(url, location))
    assert f"upload Location that is {why}: refused" in str(info.value)
    assert "\n" not in str(info.value)
