"""Properties of what the registry's headers are parsed into: `Link` pagination
(oras.remote.response) and `WWW-Authenticate` challenges and scopes (oras.remote.challenge)."""

from __future__ import annotations

from typing import Optional
from urllib.parse import urljoin

import pytest
import requests
from hypothesis import example, given
from hypothesis import strategies as st

from oras.auth.utils import parse_auth_header
from oras.errors import ProtocolError
from oras.remote.challenge import (
    merge_scopes,
    parse_challenges,
    repository_of,
    scope_for_request,
    split_scope,
)
from oras.remote.response import parse_next_link, resolve_location
from tests.unit.properties.invariants import Refused, parse_or_refuse, time_bound

BASE = "http://127.0.0.1:5000/v2/repo/tags/list?n=10"

# --- Link ---------------------------------------------------------------------------------

# What can stand between `<` and `>`: anything but `>` (a URL there has it percent-encoded).
link_target = st.text(st.characters(blacklist_characters=">", blacklist_categories=["Cs"]))
_url_path = st.text(alphabet="abc/?=&%;,._-~:@!$'()*+ ", max_size=30)
link_url = st.one_of(
    _url_path.map(lambda p: "/v2/repo/tags/list?" + p),
    _url_path.map(lambda p: "http://127.0.0.1:5000/" + p),
    link_target,
)
other_params = st.sampled_from(['rel="prev"', "rel=last", 'title="a, b; c"', "type=x", ""])


def _link(url: str, rel: str) -> str:
    return f"<{url}>; {rel}" if rel else f"<{url}>"


@given(st.text(max_size=200))
@example("<http://[>; rel=next")
@example('<a>; rel="next"')
@example("<" * 100)
def test_next_link_is_a_url_or_none_or_a_typed_error(header: str) -> None:
    try:
        link = parse_or_refuse(parse_next_link, header, BASE)
    except Refused as refused:
        assert isinstance(refused.error, ProtocolError)
        return
    assert link is None or isinstance(link, str)


@given(
    link_url,
    st.lists(st.tuples(link_url, other_params), max_size=3),
    st.lists(st.tuples(link_url, other_params), max_size=3),
    st.sampled_from(['rel="next"', "rel=next", 'REL="Next"', 'rel="prev next"']),
)
def test_the_next_link_is_found_among_others(
    url: str,
    before: list[tuple[str, str]],
    after: list[tuple[str, str]],
    rel: str,
) -> None:
    links = [_link(u, r) for u, r in before] + [_link(url, rel)] + [_link(u, r) for u, r in after]
    header = ", ".join(links)
    try:
        expected: Optional[str] = urljoin(BASE, url)
    except ValueError:
        expected = None  # not a URL (an unclosed IPv6 bracket): refused below
    if expected is None:
        with pytest.raises(ProtocolError):
            parse_next_link(header, BASE)
    else:
        assert parse_next_link(header, BASE) == expected


@given(st.lists(st.tuples(link_url, other_params), max_size=4))
def test_no_next_link_gives_none(links: list[tuple[str, str]]) -> None:
    header = ", ".join(_link(u, r) for u, r in links if "next" not in r)
    assert parse_next_link(header, BASE) is None


LINK_ADVERSARIAL = [
    "<" * 65_536,
    "<a>;" * 16_000,
    "<a>; rel=" * 7_000,
    "<a>;" + "x" * 65_536,
    "<a>; " + ";" * 65_536,
    '<a>; rel="' + "n" * 65_536,
    ", " * 32_000 + '<a>; rel="next"',
]


@pytest.mark.parametrize("header", LINK_ADVERSARIAL, ids=range(len(LINK_ADVERSARIAL)))
def test_long_link_headers_are_answered_fast(header: str) -> None:
    with time_bound():
        parse_next_link(header, BASE)


# --- WWW-Authenticate -----------------------------------------------------------------------

token = st.text(alphabet="abcXYZ019!#$%&'*+-.^_`|~", min_size=1, max_size=12)
param_value = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def challenges(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    scheme = draw(token)
    params = draw(st.dictionaries(token.map(str.lower), param_value, max_size=4))
    return scheme, params


@given(st.lists(challenges(), min_size=1, max_size=3), st.sampled_from([",", ", ", " ,  "]))
@example([("Bearer", {"realm": 'a "quoted" \\ realm, with commas', "scope": "a b"})], ", ")
def test_challenges_round_trip_with_quoted_strings_and_escapes(
    items: list[tuple[str, dict[str, str]]], sep: str
) -> None:
    header = sep.join(
        scheme + (" " + sep.join(f"{k}={_quote(v)}" for k, v in params.items()) if params else "")
        for scheme, params in items
    )
    parsed = parse_challenges(header)
    assert [(c.scheme, c.params) for c in parsed] == [(s.lower(), p) for s, p in items]
    assert parse_auth_header(header).realm == items[0][1].get("realm")


@given(st.text(max_size=200))
@example('Bearer realm="unterminated')
@example("Bearer realm=\\")
@example('=,="\\')
def test_any_challenge_header_parses(header: str) -> None:
    with time_bound():
        parsed = parse_challenges(header)
    for challenge in parsed:
        assert challenge.scheme and challenge.scheme == challenge.scheme.lower()
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in challenge.params.items())
        assert isinstance(challenge.scopes, list)
    parse_auth_header(header)


CHALLENGE_ADVERSARIAL = [
    "Bearer " + "a=" * 32_000,
    'Bearer realm="' + "\\" * 65_536,
    "Bearer " + " " * 65_536 + "x",
    "a " * 32_000,
    "Bearer " + "a=b," * 16_000,
    "=" * 65_536,
]


@pytest.mark.parametrize("header", CHALLENGE_ADVERSARIAL, ids=range(len(CHALLENGE_ADVERSARIAL)))
def test_long_challenge_headers_are_answered_fast(header: str) -> None:
    with time_bound():
        parse_challenges(header)


@given(st.lists(st.text(alphabet="repository:ab/c,pushl*", max_size=30), max_size=6))
def test_merged_scopes_are_stable_and_cover_their_parts(scopes: list[str]) -> None:
    merged = merge_scopes(scopes)
    assert merge_scopes(merged) == merged
    assert merge_scopes(reversed(scopes)) == merged
    for scope in scopes:
        kind, name, actions = split_scope(scope)
        if kind and name:
            assert any(split_scope(m)[:2] == (kind, name) for m in merged)


@given(st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]), st.text(max_size=80))
@example("GET", "http://[::1")
def test_request_scopes_never_crash(method: str, url: str) -> None:
    try:
        scope = parse_or_refuse(scope_for_request, method, url)
        repo = parse_or_refuse(repository_of, url)
    except Refused as refused:
        assert isinstance(refused.error, ProtocolError)
        return
    assert scope is None or scope.count(":") >= 2
    assert repo is None or repo


def test_an_upload_location_that_is_not_a_url_is_a_protocol_error() -> None:
    response = requests.Response()
    response.status_code = 202
    response.url = "http://127.0.0.1:5000/v2/repo/blobs/uploads/"
    response.headers["Location"] = "http://[::1/upload"
    response.request = requests.Request("POST", response.url).prepare()
    with pytest.raises(ProtocolError, match="not a URL"):
        resolve_location(response)
