"""Parallel ranged downloads against Distribution (which serves ranges), through the link
simulator and the fault proxy, and from a blob origin that a registry redirects to (a CDN, or
one that ignores or does not offer ranges). Thresholds are set small through the option."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import oras.client
from oras.copy import copy
from oras.errors import DigestMismatchError
from oras.progress import DONE, STARTED, ProgressEvent
from oras.remote.ranged import RangedOptions
from tests.harness.link import LinkSimulator
from tests.harness.origin import BlobOrigin

BLOB_GET = r"/blobs/sha256:"
#: Four parts of 128 KiB and a bit (see `plan_parts`).
SIZE = 512 * 1024 + 17
#: Ranges whatever the speed of the first answer (a loopback registry is fast).
SMALL = RangedOptions(ranges=4, threshold=256 * 1024, one_stream_rate=None)


@pytest.fixture
def blob(tmp_path: Path) -> tuple[bytes, str]:
    data = os.urandom(SIZE)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "blob.bin").write_bytes(data)
    return data, "sha256:" + hashlib.sha256(data).hexdigest()


def _client(options: RangedOptions = SMALL, **kwargs: object) -> oras.client.OrasClient:
    client = oras.client.OrasClient(insecure=True, **kwargs)  # type: ignore[arg-type]
    client.ranged = options
    return client


def _seed(registry, repo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path / "in")
    target = f"{registry.host}/{repo}:v1"
    oras.client.OrasClient(insecure=True).push(files=["blob.bin"], target=target)
    monkeypatch.chdir(tmp_path)
    return f"{repo}:v1"


def _range(request) -> str | None:
    return request.header("Range")


def _blob_gets(proxy, digest: str) -> list:
    return proxy.log("GET", f"/blobs/{digest}")


def test_ranges_are_fetched_in_parallel_through_the_link(
    registry, blob, unique_repo, tmp_path, monkeypatch
):
    data, digest = blob
    ref = _seed(registry, unique_repo, tmp_path, monkeypatch)
    events: list[ProgressEvent] = []
    # 1 MiB/s per connection: each 128 KiB part takes long enough for the others to overlap it.
    with LinkSimulator(registry.url, rtt=0.005, bytes_per_second=1024 * 1024) as link:
        client = _client(progress=events.append)
        [path] = client.pull(target=f"{link.host}/{ref}", outdir=str(tmp_path / "out"))
        gets = _blob_gets(link, digest)
        concurrent = link.max_concurrent("GET", f"/blobs/{digest}")
    assert Path(path).read_bytes() == data
    # Support is detected from the first answer, never assumed: its request has no Range.
    assert _range(gets[0]) is None
    assert sorted(_range(g) for g in gets[1:]) == [
        "bytes=131077-262153",
        "bytes=262154-393230",
        "bytes=393231-524304",
    ]
    assert concurrent >= 2
    # One progress row for the blob, whatever the ranges: one start, one end, every byte.
    mine = [e for e in events if e.descriptor.get("digest") == digest]
    assert [e.status for e in mine if e.status in (STARTED, DONE)] == [STARTED, DONE]
    assert mine[-1].done == SIZE
    assert not list((tmp_path / "out").glob(".oras-*"))


def test_a_cut_range_resumes_where_it_stopped_and_the_others_go_on(
    registry, fault_proxy, blob, unique_repo, tmp_path, monkeypatch
):
    data, digest = blob
    ref = _seed(registry, unique_repo, tmp_path, monkeypatch)
    # The first answer (part 0, read from the whole-blob GET) and one range are cut.
    fault_proxy.cut_response("GET", BLOB_GET, after_bytes=50_000, times=2)
    [path] = _client().pull(target=f"{fault_proxy.host}/{ref}", outdir=str(tmp_path / "out"))
    assert Path(path).read_bytes() == data
    gets = _blob_gets(fault_proxy, digest)
    cut = [g for g in gets if "cut_response" in g.faults]
    assert len(cut) == 2
    starts = [int((_range(g) or "bytes=0-").split("=")[1].split("-")[0]) for g in gets]
    cut_starts = [start for g, start in zip(gets, starts) if g in cut]
    # Each part asked for once, and each cut request again from the byte where it stopped:
    # nothing restarted from its beginning.
    expected = [0, 131077, 262154, 393231] + [start + 50_000 for start in cut_starts]
    assert sorted(starts) == sorted(expected)


@pytest.mark.parametrize("ranges", ["ignore", "none"])
def test_an_origin_without_working_ranges_gets_one_stream(
    registry, fault_proxy, blob, unique_repo, tmp_path, monkeypatch, ranges
):
    data, digest = blob
    ref = _seed(registry, unique_repo, tmp_path, monkeypatch)
    with BlobOrigin({digest: data}, ranges=ranges) as origin:
        fault_proxy.fail(
            "GET", BLOB_GET, 307, headers={"Location": origin.url_of(digest)}, times=None
        )
        [path] = _client().pull(target=f"{fault_proxy.host}/{ref}", outdir=str(tmp_path / "out"))
        seen = list(origin.requests)
    assert Path(path).read_bytes() == data
    asked = [headers.get("range") for _, headers in seen]
    assert asked[0] is None
    if ranges == "none":
        # Not advertised: no Range is ever sent, the first answer is read to its end.
        assert asked == [None]
    else:
        # Advertised but ignored (200 with the whole blob): the ranged download stops and the
        # blob is read as one stream, from the start.
        assert asked[-1] is None
        assert any(a is not None for a in asked)
    assert not list((tmp_path / "out").glob(".oras-*"))


def test_a_corrupted_range_fails_the_digest_and_leaves_nothing(
    registry, fault_proxy, blob, unique_repo, tmp_path, monkeypatch
):
    data, digest = blob
    ref = _seed(registry, unique_repo, tmp_path, monkeypatch)
    # Every answer has a byte flipped: a resumed or retried download cannot repair it.
    fault_proxy.corrupt_response("GET", BLOB_GET, offset=1000, times=None)
    out = tmp_path / "out"
    with pytest.raises(DigestMismatchError):
        _client().pull(target=f"{fault_proxy.host}/{ref}", outdir=str(out))
    assert any(_range(g) for g in _blob_gets(fault_proxy, digest)), "ranges were used"
    assert not out.exists() or not list(out.iterdir())


def test_a_redirect_to_a_cdn_gets_no_authorization(
    registry, fault_proxy, blob, unique_repo, tmp_path, monkeypatch
):
    data, digest = blob
    ref = _seed(registry, unique_repo, tmp_path, monkeypatch)
    with BlobOrigin({digest: data}, ranges="serve") as cdn:
        fault_proxy.fail("GET", BLOB_GET, 307, headers={"Location": cdn.url_of(digest)}, times=None)
        client = _client(hostname=fault_proxy.host, auth_backend="basic")
        client.set_basic_auth("someone", "secret-password")
        [path] = client.pull(target=f"{fault_proxy.host}/{ref}", outdir=str(tmp_path / "out"))
        seen = list(cdn.requests)
    assert Path(path).read_bytes() == data
    # The registry got the credentials (every blob request too, before it was redirected)...
    assert all(g.header("Authorization") for g in _blob_gets(fault_proxy, digest))
    # ...the CDN, a different origin, never did, on any of the ranges.
    assert len(seen) == 4
    assert [h for _, h in seen if "authorization" in h] == []
    assert sorted(h.get("range") or "" for _, h in seen)[1:] == [
        "bytes=131077-262153",
        "bytes=262154-393230",
        "bytes=393231-524304",
    ]


def test_cp_from_a_registry_into_a_layout_uses_ranges(
    registry, fault_proxy, blob, unique_repo, tmp_path, monkeypatch
):
    from oras.content.layout import LayoutStore

    data, digest = blob
    ref = _seed(registry, unique_repo, tmp_path, monkeypatch)
    client = _client()
    source = client.repository(f"{fault_proxy.host}/{ref}")
    with LayoutStore(tmp_path / "layout") as layout:
        copy(source, "v1", layout, "v1")
    stored = tmp_path / "layout" / "blobs" / "sha256" / digest.split(":")[1]
    assert stored.read_bytes() == data
    assert sum(1 for g in _blob_gets(fault_proxy, digest) if _range(g)) == 3
    assert not list(stored.parent.glob(".oras-*"))


def test_cp_between_registries_streams_the_blob_once(
    registry, second_registry, fault_proxy, blob, unique_repo, tmp_path, monkeypatch
):
    data, digest = blob
    ref = _seed(registry, unique_repo, tmp_path, monkeypatch)
    client = _client()
    source = client.repository(f"{fault_proxy.host}/{ref}")
    destination = client.repository(f"{second_registry.host}/{unique_repo}:v1", push=True)
    copy(source, "v1", destination, "v1")
    gets = _blob_gets(fault_proxy, digest)
    assert [_range(g) for g in gets] == [None]  # one stream, no temporary file
    [path] = client.pull(
        target=f"{second_registry.host}/{unique_repo}:v1", outdir=str(tmp_path / "out")
    )
    assert Path(path).read_bytes() == data


def test_a_fast_first_answer_is_read_as_one_stream(
    registry, fault_proxy, blob, unique_repo, tmp_path, monkeypatch
):
    """A first answer that already comes fast enough (here: any) is read to its end."""
    data, digest = blob
    ref = _seed(registry, unique_repo, tmp_path, monkeypatch)
    client = _client(RangedOptions(ranges=4, threshold=256 * 1024, one_stream_rate=1))
    [path] = client.pull(target=f"{fault_proxy.host}/{ref}", outdir=str(tmp_path / "out"))
    assert Path(path).read_bytes() == data
    assert [_range(g) for g in _blob_gets(fault_proxy, digest)] == [None]


def test_a_fast_first_answer_is_hashed_as_it_arrives_not_read_back(
    registry, fault_proxy, blob, unique_repo, tmp_path, monkeypatch
):
    """Read as one stream, the blob is hashed from the buffers it arrives in: the temporary
    file is not read back to hash it (a second pass over a large blob's bytes)."""
    import oras.remote.ranged_parts as ranged_parts

    data, digest = blob
    ref = _seed(registry, unique_repo, tmp_path, monkeypatch)
    read_back: list[int] = []
    real_read_at = ranged_parts._read_at

    def counting_read_at(fd: int, view: memoryview, offset: int) -> int:
        n = real_read_at(fd, view, offset)
        read_back.append(n)
        return n

    monkeypatch.setattr(ranged_parts, "_read_at", counting_read_at)
    client = _client(RangedOptions(ranges=4, threshold=256 * 1024, one_stream_rate=1))
    [path] = client.pull(target=f"{fault_proxy.host}/{ref}", outdir=str(tmp_path / "out"))
    assert Path(path).read_bytes() == data
    assert [_range(g) for g in _blob_gets(fault_proxy, digest)] == [None]
    assert sum(read_back) == 0


def test_one_range_means_one_stream(
    registry, fault_proxy, blob, unique_repo, tmp_path, monkeypatch
):
    data, digest = blob
    ref = _seed(registry, unique_repo, tmp_path, monkeypatch)
    client = _client(RangedOptions(ranges=1, threshold=0, one_stream_rate=None))
    [path] = client.pull(target=f"{fault_proxy.host}/{ref}", outdir=str(tmp_path / "out"))
    assert Path(path).read_bytes() == data
    assert [_range(g) for g in _blob_gets(fault_proxy, digest)] == [None]


@pytest.mark.parametrize("corrupt", [False, True], ids=["intact", "corrupted"])
def test_cp_into_a_layout_hashes_one_stream_of_a_large_blob_on_a_second_thread(
    registry, fault_proxy, blob, unique_repo, tmp_path, monkeypatch, corrupt
):
    """From THREADED_HASH_SIZE on, a blob copied into a layout as one stream (`ranges=1`
    here) is hashed on a second thread while it is written, as a pull's is, not inline by the
    layout; a corrupted one still fails its digest and leaves nothing."""
    import oras.remote.download as download
    import oras.remote.repository as repository
    from oras.content.layout import LayoutStore

    data, digest = blob
    ref = _seed(registry, unique_repo, tmp_path, monkeypatch)
    monkeypatch.setattr(download, "THREADED_HASH_SIZE", SIZE)
    monkeypatch.setattr(repository, "THREADED_HASH_SIZE", SIZE)
    started: list[object] = []

    class CountedThread(download._HashingThread):
        def __init__(self, hasher) -> None:
            started.append(hasher)
            super().__init__(hasher)

    monkeypatch.setattr(download, "_HashingThread", CountedThread)
    if corrupt:
        fault_proxy.corrupt_response("GET", BLOB_GET, offset=1000, times=None)
    client = _client(RangedOptions(ranges=1, threshold=0, one_stream_rate=None))
    source = client.repository(f"{fault_proxy.host}/{ref}")
    stored = tmp_path / "layout" / "blobs" / "sha256" / digest.split(":")[1]
    with LayoutStore(tmp_path / "layout") as layout:
        if corrupt:
            with pytest.raises(DigestMismatchError):
                copy(source, "v1", layout, "v1")
        else:
            copy(source, "v1", layout, "v1")
    assert [_range(g) for g in _blob_gets(fault_proxy, digest)][:1] == [None]
    assert len(started) == 1
    if corrupt:
        assert not stored.exists()
    else:
        assert stored.read_bytes() == data
    assert not list(stored.parent.glob(".oras-*"))


def test_cli_pull_and_cp_take_the_number_of_ranges(
    registry, unique_repo, tmp_path, oras_cli, request
):
    """At the CLI's threshold (64 MiB): `--ranges 3` fetches three ranges for pull and for a
    copy into a layout, `--ranges 1` one stream; `--ranges 0` is refused."""
    data = os.urandom(1024 * 1024) * 64  # the CLI's threshold, cheaply
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (tmp_path / "big.bin").write_bytes(data)
    ref = f"{registry.host}/{unique_repo}:v1"
    assert oras_cli("push", "--plain-http", ref, "big.bin").returncode == 0
    # A link slower than ONE_STREAM_RATE per connection, so that the CLI's default uses ranges.
    link = LinkSimulator(registry.url, rtt=0.002, bytes_per_second=24 * 1024 * 1024).start()
    request.addfinalizer(link.stop)
    fault_proxy = link
    via_proxy = f"{link.host}/{unique_repo}:v1"

    done = oras_cli("pull", "--plain-http", "--ranges", "3", via_proxy, "-o", "out")
    assert done.returncode == 0, done.stderr
    assert hashlib.sha256((tmp_path / "out" / "big.bin").read_bytes()).hexdigest() == digest[7:]
    assert sum(1 for g in _blob_gets(fault_proxy, digest) if _range(g)) > 0
    # Range requests only: the first answer (no Range) is closed by the client once its part
    # is read, but the proxy may relay the rest of its body a moment longer.
    assert fault_proxy.max_concurrent("GET", f"/blobs/{digest}", where=_range) <= 3

    fault_proxy.clear()
    layout = f"{tmp_path / 'layout'}:v1"
    done = oras_cli(
        "cp", "--from-plain-http", "--to-oci-layout", "--ranges", "3", via_proxy, layout
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "layout" / "blobs" / "sha256" / digest[7:]).stat().st_size == len(data)
    assert sum(1 for g in _blob_gets(fault_proxy, digest) if _range(g)) > 0

    fault_proxy.clear()
    done = oras_cli("pull", "--plain-http", "--ranges", "1", via_proxy, "-o", "one")
    assert done.returncode == 0, done.stderr
    assert [_range(g) for g in _blob_gets(fault_proxy, digest)] == [None]

    refused = oras_cli("pull", "--plain-http", "--ranges", "0", via_proxy, "-o", "none")
    assert refused.returncode != 0
    assert refused.stderr.startswith("Error: --ranges must be at least 1")
