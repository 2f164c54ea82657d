"""Redirects and upload locations from a hostile registry: a redirect to another origin works
and carries neither credentials nor `-H` headers; loops, self-redirects and redirects to
other schemes end in one typed error, quickly, with nothing left in the output directory."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import oras.client
from oras.errors import RedirectError, TooManyRedirectsError
from oras.remote import transport
from oras.remote.ranged import RangedOptions
from tests.harness.hostile import HostileRegistry, send, send_chunked
from tests.harness.hostile_redirects import authenticated, redirect, redirect_to_host
from tests.harness.origin import BlobOrigin

USERS = {"myuser": "redirect-Pa55"}
SECRET_HEADER = ("X-Registry-Only", "registry-only-value")
BLOB_GET = r"/blobs/sha256:"


@pytest.fixture
def hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    """A registry with basic auth and another origin without, both holding `t/app:v1`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("redirected content\n")
    with HostileRegistry(users=USERS) as registry, HostileRegistry() as other:
        pusher = oras.client.OrasClient(insecure=True)
        pusher.set_basic_auth("myuser", USERS["myuser"])
        pusher.push(files=["a.txt"], target=f"{registry.host}/t/app:v1")
        oras.client.OrasClient(insecure=True).push(files=["a.txt"], target=f"{other.host}/t/app:v1")
        registry.clear()
        other.clear()
        yield registry, other


def _client(registry: Any) -> oras.client.OrasClient:
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    client.set_basic_auth("myuser", USERS["myuser"])
    client.remote.set_registry_header(*SECRET_HEADER)
    return client


def _assert_nothing_foreign(other: Any) -> None:
    assert other.seen(), "nothing reached the other origin"
    assert not other.saw_header("authorization")
    assert not other.saw_header(SECRET_HEADER[0])


def test_manifest_and_blob_redirects_to_another_host_carry_no_credentials(
    hosts: tuple[Any, Any], tmp_path: Path
) -> None:
    registry, other = hosts
    registry.on("*", r"/manifests/|/blobs/", authenticated(redirect_to_host(other.url)))
    client = _client(registry)
    [path] = client.pull(target=f"{registry.host}/t/app:v1", outdir=str(tmp_path / "out"))
    assert Path(path).read_text() == "redirected content\n"
    digest = "sha256:" + hashlib.sha256(b"redirected content\n").hexdigest()
    assert client.remote.blob_exists({"digest": digest}, f"{registry.host}/t/app")
    for method, path_re in (("GET", "/manifests/"), ("GET", BLOB_GET), ("HEAD", BLOB_GET)):
        assert other.seen(method, path_re), f"{method} {path_re} was not redirected"
        assert registry.saw_header("authorization", method=method, path=path_re)
        assert registry.saw_header(SECRET_HEADER[0], method=method, path=path_re)
    _assert_nothing_foreign(other)


def test_cli_pull_redirected_to_another_host_sends_no_credentials_nor_h_headers(
    hosts: tuple[Any, Any], oras_cli: Any, tmp_path: Path
) -> None:
    registry, other = hosts
    registry.on("GET", r"/manifests/|/blobs/", authenticated(redirect_to_host(other.url)))
    run = oras_cli(
        "pull", "--plain-http", "-u", "myuser", "--password-stdin",
        "-H", f"{SECRET_HEADER[0]}: {SECRET_HEADER[1]}",
        "-o", "out", f"{registry.host}/t/app:v1", input=USERS["myuser"],
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "a.txt").read_text() == "redirected content\n"
    assert registry.saw_header(SECRET_HEADER[0], path=BLOB_GET)
    _assert_nothing_foreign(other)


def test_ranged_download_redirected_to_a_cdn_sends_no_h_headers(
    hosts: tuple[Any, Any], tmp_path: Path
) -> None:
    registry, _ = hosts
    data = os.urandom(512 * 1024 + 17)
    (tmp_path / "big.bin").write_bytes(data)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _client(registry).push(files=["big.bin"], target=f"{registry.host}/t/big:v1")
    with BlobOrigin({digest: data}, ranges="serve") as cdn:
        registry.on("GET", BLOB_GET, redirect(lambda h: cdn.url_of(digest)))
        client = _client(registry)
        client.ranged = RangedOptions(ranges=4, threshold=256 * 1024, one_stream_rate=None)
        [path] = client.pull(target=f"{registry.host}/t/big:v1", outdir=str(tmp_path / "out"))
        seen = list(cdn.requests)
    assert Path(path).read_bytes() == data
    assert len([h for _, h in seen if "range" in h]) >= 3, "ranges were not used"
    assert [h for _, h in seen if "authorization" in h or SECRET_HEADER[0].lower() in h] == []


def test_a_redirect_body_without_end_is_not_read(hosts: tuple[Any, Any], tmp_path: Path) -> None:
    registry, other = hosts

    def endless() -> Iterator[bytes]:
        while True:
            yield b"x" * 65536

    registry.on(
        "GET",
        BLOB_GET,
        lambda h, m: send_chunked(h, 307, endless(), {"Location": other.url + h.path}),
    )
    started = time.monotonic()
    [path] = _client(registry).pull(
        target=f"{registry.host}/t/app:v1", outdir=str(tmp_path / "out")
    )
    assert time.monotonic() - started < 10
    assert Path(path).read_text() == "redirected content\n"


# -- loops and other schemes ------------------------------------------------------------------


def _loop_to_self(registry: Any, other: Any) -> None:
    registry.on("GET", BLOB_GET, redirect(lambda h: h.path))


def _loop_between_hosts(registry: Any, other: Any) -> None:
    registry.on("GET", BLOB_GET, redirect_to_host(other.url))
    other.on("GET", BLOB_GET, redirect_to_host(registry.url))


LOOPS = {"self": _loop_to_self, "two-hosts": _loop_between_hosts}


def _assert_empty(out: Path) -> None:
    assert not out.exists() or [p.name for p in out.rglob("*")] == []


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_a_redirect_loop_ends_in_one_typed_error(
    hosts: tuple[Any, Any], tmp_path: Path, loop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry, other = hosts
    LOOPS[loop](registry, other)
    monkeypatch.setattr(transport, "MAX_REDIRECTS", 4)  # read when the request is sent
    out = tmp_path / "out"
    started = time.monotonic()
    with pytest.raises(TooManyRedirectsError) as info:
        _client(registry).pull(target=f"{registry.host}/t/app:v1", outdir=str(out))
    assert time.monotonic() - started < 10
    assert "redirected more than 4 times" in str(info.value)
    blob_gets = registry.seen("GET", BLOB_GET) + other.seen("GET", BLOB_GET)
    assert len(blob_gets) == 5  # the request and 4 redirects, not retried
    _assert_empty(out)
    assert not other.saw_header("authorization")


def test_cli_redirect_loop_is_one_line(
    hosts: tuple[Any, Any], oras_cli: Any, tmp_path: Path
) -> None:
    registry, other = hosts
    _loop_between_hosts(registry, other)
    started = time.monotonic()
    run = oras_cli("pull", "--plain-http", "-u", "myuser", "--password-stdin", "-o", "out",
                   f"{registry.host}/t/app:v1", input=USERS["myuser"])  # fmt: skip
    assert time.monotonic() - started < 30
    assert run.returncode == 1
    [line] = [x for x in run.stderr.splitlines() if x.startswith("Error")]
    assert line.startswith("Error: GET /v2/t/app/blobs/sha256:")
    assert f"redirected more than {transport.MAX_REDIRECTS} times" in line
    assert "Traceback" not in run.stderr and USERS["myuser"] not in run.stderr
    _assert_empty(tmp_path / "out")


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1:1/blob", "gopher://x/"])
def test_a_redirect_to_another_scheme_is_refused(
    hosts: tuple[Any, Any], tmp_path: Path, target: str
) -> None:
    registry, _ = hosts
    registry.on("GET", BLOB_GET, redirect(lambda h: target, status=302))
    out = tmp_path / "out"
    with pytest.raises(RedirectError) as info:
        _client(registry).pull(target=f"{registry.host}/t/app:v1", outdir=str(out))
    scheme = target.partition(":")[0]
    assert f"redirected to a {scheme} URL, which is not followed" in str(info.value)
    assert len(registry.seen("GET", BLOB_GET)) == 1
    _assert_empty(out)


def test_cli_redirect_to_a_file_url_is_one_line(
    hosts: tuple[Any, Any], oras_cli: Any, tmp_path: Path
) -> None:
    registry, _ = hosts
    registry.on("GET", r"/manifests/", redirect(lambda h: "file:///etc/passwd"))
    run = oras_cli("pull", "--plain-http", "-u", "myuser", "--password-stdin", "-o", "out",
                   f"{registry.host}/t/app:v1", input=USERS["myuser"])  # fmt: skip
    assert run.returncode == 1
    [line] = [x for x in run.stderr.splitlines() if x.startswith("Error")]
    assert "GET /v2/t/app/manifests/v1 was redirected to a file URL, which is not followed" in line
    assert "root:" not in run.stdout + run.stderr
    _assert_empty(tmp_path / "out")


# -- upload locations -------------------------------------------------------------------------


def test_cli_push_refuses_an_upload_location_of_another_scheme(
    hosts: tuple[Any, Any], oras_cli: Any, tmp_path: Path
) -> None:
    registry, _ = hosts
    (tmp_path / "b.txt").write_text("not uploaded\n")
    registry.on(
        "POST",
        r"/blobs/uploads/",
        lambda h, m: send(h, 202, b"", {"Location": "ftp://127.0.0.1:1/upload"}),
    )
    run = oras_cli("push", "--plain-http", "-u", "myuser", "--password-stdin",
                   f"{registry.host}/t/app:v2", "b.txt", input=USERS["myuser"])  # fmt: skip
    assert run.returncode == 1
    [line] = [x for x in run.stderr.splitlines() if x.startswith("Error")]
    assert "with an upload Location that is a ftp URL: refused" in line
    assert not registry.seen("PUT", r"/manifests/v2")
