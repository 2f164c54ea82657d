"""Parsing `-H` and `--resolve` as Go `oras` takes them, and the address map of the adapters."""

from __future__ import annotations

import pytest
import requests

from oras.remote.transport import (
    RegistryAdapter,
    RegistrySession,
    connect_address,
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
