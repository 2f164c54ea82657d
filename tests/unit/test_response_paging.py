"""`next_link` follows only same-origin pages; `next_page` refuses a page asked for twice;
`read_limited` reads at most its limit plus one byte."""

from __future__ import annotations

import io
from typing import Optional

import pytest
import requests
import urllib3

from oras.errors import ProtocolError
from oras.remote.response import next_link, next_page, read_limited

BASE = "https://registry.example:443/v2/repo/tags/list?n=2"


def _response(url: str = BASE, link: Optional[str] = None, body: bytes = b"") -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.url = url
    if link is not None:
        response.headers["Link"] = f'<{link}>; rel="next"'
    response.raw = urllib3.HTTPResponse(io.BytesIO(body), preload_content=False)
    return response


@pytest.mark.parametrize(
    "link",
    [
        "/v2/repo/tags/list?n=2&last=b",
        "https://registry.example/v2/repo/tags/list?last=b",  # the default port
        "https://REGISTRY.example:443/v2/repo/tags/list?last=b",
    ],
)
def test_a_next_page_on_the_same_origin_is_followed(link: str) -> None:
    assert next_link(_response(link=link)) is not None


@pytest.mark.parametrize(
    "link",
    [
        "https://elsewhere.example/v2/repo/tags/list",
        "https://registry.example:5000/v2/repo/tags/list",
        "http://registry.example/v2/repo/tags/list",
        "//elsewhere.example/v2/repo/tags/list",
    ],
)
def test_a_next_page_on_another_origin_is_refused(link: str) -> None:
    with pytest.raises(ProtocolError, match="another server"):
        next_link(_response(link=link))


def test_a_page_asked_for_twice_is_a_loop() -> None:
    seen: set[str] = set()
    second = "https://registry.example:443/v2/repo/tags/list?n=2&last=b"
    assert next_page(_response(link=second), seen, "the tags") == second
    with pytest.raises(ProtocolError, match="loop"):
        next_page(_response(second, link=BASE), seen, "the tags")
    assert next_page(_response(), set(), "the tags") is None


@pytest.mark.parametrize("raw", [False, True])
def test_read_limited_reads_the_limit_plus_one_at_most(raw: bool) -> None:
    stream = io.BytesIO(b"x" * 100_000)
    response = _response()
    response.raw = urllib3.HTTPResponse(stream, preload_content=False)
    with pytest.raises(ProtocolError, match="larger than 1000 bytes"):
        read_limited(response, 1000, "the body", raw=raw)
    assert stream.tell() == 1001
    assert read_limited(_response(body=b"y" * 1000), 1000, "the body", raw=raw) == b"y" * 1000
