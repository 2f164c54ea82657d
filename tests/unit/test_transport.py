"""Parsing `-H` and `--resolve` as Go `oras` takes them, and the address map of the adapters."""

from __future__ import annotations

import pytest
import requests
import requests.sessions
from requests.structures import CaseInsensitiveDict

from oras.remote.transport import (
    RegistryAdapter,
    RegistrySession,
    connect_address,
    merge_setting,
    parse_header,
    parse_resolve,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("X-Trace: abc", ("X-Trace", "abc")),
        ("X-Trace:abc", ("X-Trace", "abc")),
        ("X-Empty:", ("X-Empty", "")),
        ("X-Url: http://a:b/c", ("X-Url", "http://a:b/c")),
        ("  Spaced  :  v  ", ("Spaced", "v")),
    ],
)
def test_parse_header(text: str, expected: tuple[str, str]) -> None:
    assert parse_header(text) == expected


@pytest.mark.parametrize("text", ["no-colon", ": v", "bad name: v", "X: a\r\nY: b", "é: v"])
def test_parse_header_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="invalid header"):
        parse_header(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("made.up:5000:127.0.0.1", (("made.up", 5000), ("127.0.0.1", 5000))),
        ("Made.Up:443:10.0.0.2:8443", (("made.up", 443), ("10.0.0.2", 8443))),
        ("h:80:[::1]:8080", (("h", 80), ("::1", 8080))),
    ],
)
def test_parse_resolve(text: str, expected: tuple) -> None:
    assert parse_resolve(text) == expected


@pytest.mark.parametrize(
    "text",
    ["made.up:5000", "made.up::127.0.0.1", "h:x:127.0.0.1", "h:1:name.example", "h:0:1.2.3.4"],
)
def test_parse_resolve_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="invalid --resolve"):
        parse_resolve(text)


def test_connect_address_matches_host_and_port() -> None:
    mapping = {("made.up", 5000): ("127.0.0.1", 6000)}
    assert connect_address(mapping, "MADE.UP", 5000) == ("127.0.0.1", 6000)
    assert connect_address(mapping, "made.up.", 5000) == ("127.0.0.1", 6000)
    assert connect_address(mapping, "made.up", 5001) is None


def test_session_adapters_share_its_map() -> None:
    from oras.provider import Registry

    client = Registry(hostname="made.up:5000", insecure=True)
    assert isinstance(client.session, RegistrySession)
    assert isinstance(client.session, requests.Session)
    client.connect_to("made.up", 5000, "127.0.0.1", 6000)
    adapter = client.session.get_adapter("http://made.up:5000/v2/")
    assert isinstance(adapter, RegistryAdapter)
    assert adapter.connect_to == {("made.up", 5000): ("127.0.0.1", 6000)}
    client._fit_pool(100)  # new adapters keep the map
    assert client.session.get_adapter("https://x/").connect_to is client.session.connect_to


_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def _proxies(session: requests.Session, url: str) -> dict:
    return session.merge_environment_settings(url, {}, None, None, None)["proxies"]


def test_session_reads_the_proxy_environment_once_per_host(no_proxies) -> None:
    """requests reads the whole environment for every request; the session, once per host
    (a large share of the CPU of a small blob's request)."""
    import oras.remote.transport as transport

    calls: list[str] = []
    real = transport.get_environ_proxies

    def counting(url: str, no_proxy: object = None) -> dict:
        calls.append(url)
        return real(url, no_proxy=no_proxy)

    no_proxies.setattr(transport, "get_environ_proxies", counting)
    no_proxies.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    session = RegistrySession()
    for digest in ("a", "b", "c"):
        assert _proxies(session, f"https://registry.example/v2/r/blobs/{digest}") == {
            "https": "http://proxy.example:3128"
        }
    assert len(calls) == 1


def test_session_follows_changes_of_the_proxy_environment(no_proxies) -> None:
    """The same answers as requests' own merge, also after the environment changed."""
    plain = requests.Session()
    session = RegistrySession()
    url = "https://registry.example/v2/"

    def same() -> dict:
        ours = session.merge_environment_settings(url, {}, None, None, None)
        theirs = plain.merge_environment_settings(url, {}, None, None, None)
        assert ours == theirs
        return ours["proxies"]

    assert same() == {}
    no_proxies.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert same() == {"https": "http://proxy.example:3128"}
    no_proxies.setenv("NO_PROXY", "registry.example")
    assert same() == {}
    no_proxies.delenv("NO_PROXY")
    no_proxies.setenv("https_proxy", "http://other.example:8080")
    assert same()["https"] == "http://other.example:8080"
    no_proxies.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bundle.pem")
    assert session.merge_environment_settings(url, {}, None, None, None)["verify"] == (
        "/etc/ssl/bundle.pem"
    )
    session.trust_env = False
    assert session.merge_environment_settings(url, {}, None, None, None)["proxies"] == {}


@pytest.mark.parametrize(
    "request_setting, session_setting",
    [
        (None, None),
        ({"a": "1"}, None),
        (None, {"a": "1"}),
        ({"a": "1", "b": None}, {"b": "2", "c": "3"}),
        ({"A": "1"}, CaseInsensitiveDict({"a": "2", "B": "3"})),
        (True, False),
        ("/ca.pem", True),
        (("user", "pw"), None),
    ],
)
def test_merge_setting_is_requests_own(request_setting: object, session_setting: object) -> None:
    for dict_class in (dict, CaseInsensitiveDict):
        ours = merge_setting(request_setting, session_setting, dict_class)
        theirs = requests.sessions.merge_setting(request_setting, session_setting, dict_class)
        assert ours == theirs and type(ours) is type(theirs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "get", "url": "http://r.example:5000/v2/a/b/manifests/v1"},
        {
            "method": "PUT",
            "url": "https://r.example/v2/a/blobs/uploads/u?_state=x%3D&digest=sha256%3Aab",
            "headers": {"Content-Type": "application/octet-stream", "X-Gone": None},
            "data": b"bytes",
        },
        {"method": "POST", "url": "https://r.example/token", "data": {"grant_type": "password"}},
        {"method": "PUT", "url": "https://r.example/v2/a/manifests/v1", "json": {"k": 1}},
        {"method": "GET", "url": "https://r.example/v2/a/tags/list", "params": {"n": "10"}},
        {"method": "GET", "url": "https://r.example/v2/", "auth": ("user", "pw")},
    ],
)
def test_prepared_requests_are_those_requests_prepares(
    kwargs: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    """The cheaper preparation gives what `requests.Session` gives: method, URL, headers,
    body, hooks (with a session header, and no ~/.netrc to find)."""
    monkeypatch.setenv("NETRC", str(tmp_path) + "/none")
    ours, theirs = RegistrySession(), requests.Session()
    for session in (ours, theirs):
        session.headers["X-Session"] = "s"
    mine = ours.prepare_request(requests.Request(**kwargs))
    plain = theirs.prepare_request(requests.Request(**kwargs))
    assert (mine.method, mine.url, mine.body) == (plain.method, plain.url, plain.body)
    assert dict(mine.headers) == dict(plain.headers)
    assert mine.hooks == plain.hooks
