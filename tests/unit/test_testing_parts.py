"""Pure parts of the test registry (oras.testing): ranges, pages, scopes, htpasswd entries."""

from __future__ import annotations

import base64
import hashlib

import pytest

from oras.testing.auth import Scope, TokenAuth, password_check, plain_users
from oras.testing.server import Reply, _page, _parse_range


@pytest.mark.parametrize(
    "header, expected",
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=10-", (10, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=90-500", (90, 99)),
        ("bytes=100-", None),
        ("bytes=5-4", None),
        ("bytes=-0", None),
        ("bytes=-", None),
        ("items=0-1", None),
    ],
)
def test_parse_range(header: str, expected: object) -> None:
    assert _parse_range(header, 100) == expected


def test_page() -> None:
    items = ["a", "b", "c", "d"]
    assert _page(items, {}) == (items, None)
    assert _page(items, {"n": ["2"]}) == (["a", "b"], 2)
    assert _page(items, {"n": ["2"], "last": ["b"]}) == (["c", "d"], None)
    assert _page(items, {"n": ["0"]}) == ([], None)
    assert _page(items, {"last": ["c"]}) == (["d"], None)
    with pytest.raises(Reply) as info:
        _page(items, {"n": ["-1"]})
    assert info.value.code == "PAGINATION_NUMBER_INVALID"


def test_scope_parse() -> None:
    scope = Scope.parse("repository:a/b:push,pull")
    assert scope == Scope("repository", "a/b", frozenset({"pull", "push"}))
    assert str(scope) == "repository:a/b:pull,push"
    # a registry host with a port in the name: actions split at the last colon
    assert Scope.parse("repository:localhost:5000/x:pull").name == "localhost:5000/x"
    assert Scope.parse("repository(plugin):x:pull").type == "repository"
    assert Scope.parse("nonsense") is None


def test_password_entries() -> None:
    sha = "{SHA}" + base64.b64encode(hashlib.sha1(b"secret").digest()).decode()
    assert password_check(sha)("secret") and not password_check(sha)("other")
    assert password_check("plain")("plain") and not password_check("plain")("Plain")


def test_token_permissions() -> None:
    auth = TokenAuth(
        plain_users({"a": "x", "b": "y"}),
        permissions={"a": {"team/*": "pull,push"}, "*": {"public/*": "pull"}, "": {"open": "pull"}},
    )
    everything = frozenset({"pull", "push", "delete"})
    assert auth.allowed("a", Scope("repository", "team/x", everything)) == {"pull", "push"}
    assert auth.allowed("b", Scope("repository", "team/x", everything)) == frozenset()
    assert auth.allowed("b", Scope("repository", "public/x", everything)) == {"pull"}
    assert auth.allowed(None, Scope("repository", "open", everything)) == {"pull"}
    assert auth.allowed(None, Scope("repository", "public/x", everything)) == frozenset()
    default = TokenAuth(plain_users({"a": "x"}))
    assert default.allowed("a", Scope("repository", "any", everything)) == everything
    assert default.allowed(None, Scope("repository", "any", everything)) == frozenset()
