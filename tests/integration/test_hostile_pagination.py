"""Hostile `Link` pagination: pages that loop back, pages without end, a next page on another
server, and a tag list of a million entries in one answer; for tags, the catalog and the
referrers API, from the library and the CLI. Every case ends in a one-line typed error (or
a complete listing) within a bounded time, and no request reaches another server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

import oras.client
import oras.remote.repository
import oras.remote.response
from oras.errors import ProtocolError
from tests.conftest import PROJECT_ROOT
from tests.harness.hostile import HostileRegistry, send, send_chunked, serve

BOUND = 20.0
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
USERS = {"hostile": "sentinel-password-1234"}

#: kind -> (path searched, JSON key of the names)
LISTINGS = {
    "tags": (r"/tags/list$", "tags"),
    "catalog": (r"/_catalog$", "repositories"),
    "referrers": (r"/referrers/", "manifests"),
}


@pytest.fixture
def reg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileRegistry]:
    """A registry with basic auth holding one artifact, `hostile/pages:v1`."""
    with HostileRegistry(users=USERS) as registry:
        (tmp_path / "a.txt").write_text("pages\n")
        monkeypatch.chdir(tmp_path)
        client = _client(registry)
        client.push(files=["a.txt"], target=f"{registry.host}/hostile/pages:v1")
        yield registry


def _client(registry: HostileRegistry) -> Any:
    client = oras.client.OrasClient(insecure=True)
    client.set_basic_auth(*next(iter(USERS.items())))
    return client


def _page_body(kind: str, number: int) -> bytes:
    names = [f"p{number:05d}-{i}" for i in range(2)]
    if kind == "referrers":
        return json.dumps({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": []}).encode()
    return json.dumps({LISTINGS[kind][1]: names}).encode()


def _paging(kind: str, next_of: Callable[[str, str, int], Optional[str]]) -> Callable[..., None]:
    """An action answering page after page; `next_of(path, query, number)` gives the Link
    target of page `number` (None: the last page)."""
    count = {"n": 0}

    def action(handler: Any, match: Any) -> None:
        if "Authorization" not in handler.headers:
            serve(handler)  # the registry's own 401 challenge: credentials come next
            return
        path, _, query = handler.path.partition("?")
        number = count["n"]
        count["n"] += 1
        headers = {"Content-Type": INDEX_TYPE if kind == "referrers" else "application/json"}
        target = next_of(path, query, number)
        if target is not None:
            headers["Link"] = f'<{target}>; rel="next"'
        send(handler, 200, _page_body(kind, number), headers)

    return action


def _looping() -> Callable[[str, str, int], Optional[str]]:
    """Page 0 links to page 1, page 1 back to page 0 (its exact URL)."""
    first: dict[str, str] = {}

    def next_of(path: str, query: str, number: int) -> Optional[str]:
        first.setdefault("url", f"{path}?{query}" if query else path)
        if number == 0:
            sep = "&" if query else ""
            return f"{path}?{query}{sep}page=1"
        return first["url"]

    return next_of


def _endless(path: str, query: str, number: int) -> str:
    return f"{path}?{urllib.parse.urlencode({'n': 2, 'last': f'p{number:05d}-1'})}"


def _list(registry: HostileRegistry, kind: str) -> list[Any]:
    client = _client(registry)
    if kind == "tags":
        return client.remote.get_tags(f"{registry.host}/hostile/pages")
    if kind == "catalog":
        return client.remote.get_catalog(registry.host)
    return client.remote.get_referrers(f"{registry.host}/hostile/pages:v1")


def _cli_args(registry: HostileRegistry, kind: str) -> list[str]:
    login = ["--plain-http", "-u", "hostile", "-p", USERS["hostile"]]
    if kind == "tags":
        return ["repo", "tags", *login, f"{registry.host}/hostile/pages"]
    if kind == "catalog":
        return ["repo", "ls", *login, registry.host]
    return ["discover", *login, f"{registry.host}/hostile/pages:v1"]


def _run_cli(args: list[str], max_pages: Optional[int] = None) -> subprocess.CompletedProcess:
    """`python -m oras.cli ARGS`, with `oras.remote.response.MAX_PAGES` lowered first (as a
    program embedding the CLI could)."""
    code = (
        "import runpy, sys, oras.remote.response as r\n"
        f"if {max_pages!r} is not None: r.MAX_PAGES = {max_pages!r}\n"
        "sys.argv = ['oras-py', *sys.argv[1:]]\n"
        "runpy.run_module('oras.cli', run_name='__main__')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**__import__("os").environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )


def _pages(registry: HostileRegistry, path: str) -> int:
    """Pages served so far (GETs with credentials: a 401 challenge is no page)."""
    return sum("authorization" in r.headers for r in registry.seen("GET", path))


def _one_line_error(result: Any) -> str:
    assert result.returncode != 0, result.stdout[:500]
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert USERS["hostile"] not in result.stderr + result.stdout
    return errors[0]


@pytest.mark.parametrize("kind", list(LISTINGS))
def test_pages_that_loop_back_are_an_error(reg: HostileRegistry, kind: str) -> None:
    path, _ = LISTINGS[kind]
    reg.on("GET", path, _paging(kind, _looping()))
    start = time.monotonic()
    with pytest.raises(ProtocolError, match="loop"):
        _list(reg, kind)
    assert time.monotonic() - start < BOUND
    assert _pages(reg, path) == 2  # stopped at the first page seen twice
    result = _run_cli(_cli_args(reg, kind))
    assert "loop" in _one_line_error(result)
    assert _pages(reg, path) <= 4  # the CLI stops as soon (at most two pages)


@pytest.mark.parametrize("kind", list(LISTINGS))
def test_endless_fresh_pages_stop_at_max_pages(
    reg: HostileRegistry, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = LISTINGS[kind]
    reg.on("GET", path, _paging(kind, _endless))
    monkeypatch.setattr(oras.remote.response, "MAX_PAGES", 25)  # read when used
    start = time.monotonic()
    with pytest.raises(ProtocolError, match="more than 25 pages"):
        _list(reg, kind)
    assert time.monotonic() - start < BOUND
    assert _pages(reg, path) == 25
    if kind != "tags":
        return  # the CLI takes the same code path: shown once
    before = _pages(reg, path)
    result = _run_cli(_cli_args(reg, kind), max_pages=10)
    assert "more than 10 pages" in _one_line_error(result)
    assert _pages(reg, path) - before == 10


def test_legacy_paginated_request_stops_at_loops_and_max_pages(
    reg: HostileRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """oras-py's `Registry._do_paginated_request(url, callable)` follows the same rules."""
    reg.on("GET", r"/tags/list$", _paging("tags", _looping()))
    client = _client(reg).remote
    url = f"http://{reg.host}/v2/hostile/pages/tags/list"
    pages: list[dict] = []
    with pytest.raises(ProtocolError, match="loop"):
        client._do_paginated_request(url, lambda r: pages.append(r.json()) and False)
    assert len(pages) == 2
    reg.clear()
    reg.on("GET", r"/tags/list$", _paging("tags", _endless))
    monkeypatch.setattr(oras.remote.response, "MAX_PAGES", 7)
    with pytest.raises(ProtocolError, match="more than 7 pages"):
        client._do_paginated_request(url, lambda r: False)


@pytest.mark.parametrize("kind", list(LISTINGS))
def test_next_page_on_another_server_is_refused_without_credentials(
    reg: HostileRegistry, kind: str
) -> None:
    path, _ = LISTINGS[kind]
    with HostileRegistry(users=USERS) as other:
        elsewhere = f"http://{other.host}/v2/hostile/pages/tags/list?n=2&last=x"
        reg.on("GET", path, _paging(kind, lambda p, q, n: elsewhere))
        with pytest.raises(ProtocolError, match="another server"):
            _list(reg, kind)
        if kind == "catalog":  # the CLI takes the same code path: shown once
            result = _run_cli(_cli_args(reg, kind))
            assert "another server" in _one_line_error(result)
        assert other.seen() == []  # not followed: no request, so no credential either
    assert reg.saw_header("authorization", path=path)  # the registry itself got them


def test_a_million_tags_in_one_answer_are_listed(reg: HostileRegistry, tmp_path: Path) -> None:
    """A registry that ignores `n` and sends every tag at once: within MAX_LIST_SIZE, listed
    whole (the library and `repo tags`), in bounded time."""
    tags = [f"t{i:07d}" for i in range(1_000_000)]
    body = json.dumps({"name": "hostile/pages", "tags": tags}).encode()
    assert len(body) < oras.remote.repository.MAX_LIST_SIZE
    reg.on(
        "GET", r"/tags/list$", lambda h, m: send(h, 200, body, {"Content-Type": "application/json"})
    )
    start = time.monotonic()
    listed = _client(reg).remote.get_tags(f"{reg.host}/hostile/pages")
    assert time.monotonic() - start < BOUND
    assert len(listed) == 1_000_000 and listed[-1] == tags[-1]
    result = _run_cli(_cli_args(reg, "tags"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1_000_000


def test_a_tag_list_over_max_list_size_is_refused(
    reg: HostileRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over MAX_LIST_SIZE (here an endless chunked answer): refused after reading the cap."""
    sent = {"bytes": 0}

    def endless() -> Iterator[bytes]:
        yield b'{"tags": ['
        while sent["bytes"] < 256 * 1024 * 1024:  # a safety stop far past the cap
            sent["bytes"] += 65536
            yield b'"abcdefgh",' * 5957 + b'"abcdefghijk",'

    reg.on("GET", r"/tags/list$", lambda h, m: send_chunked(h, 200, endless()))
    monkeypatch.setattr(oras.remote.repository, "MAX_LIST_SIZE", 1024 * 1024)
    with pytest.raises(ProtocolError, match="larger than 1048576 bytes"):
        _client(reg).remote.get_tags(f"{reg.host}/hostile/pages")
    cap = oras.remote.repository.MAX_LIST_SIZE
    monkeypatch.undo()
    result = _run_cli(_cli_args(reg, "tags"))
    assert f"larger than {oras.remote.repository.MAX_LIST_SIZE} bytes" in _one_line_error(result)
    assert sent["bytes"] < 2 * (oras.remote.repository.MAX_LIST_SIZE + 16 * 1024 * 1024) + cap
