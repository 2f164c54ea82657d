"""The fault-injecting proxy works: forwarding, Location rewriting by Host, and each fault, via requests."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest
import requests
import urllib3

from tests.harness.proxy import FaultProxy
from tests.harness.registry import RegistryServer

TIMEOUT = 10
OCTETS = {"Content-Type": "application/octet-stream"}


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _start_upload(base_url: str, repo: str, session: requests.Session | None = None) -> str:
    """POST a new upload session; returns the absolute Location."""
    started = (session or requests).post(f"{base_url}/v2/{repo}/blobs/uploads/", timeout=TIMEOUT)
    assert started.status_code == 202, started.text
    return requests.compat.urljoin(base_url, started.headers["Location"])


def _push_blob(base_url: str, repo: str, data: bytes) -> str:
    """Monolithic upload (POST, then PUT with the digest); returns the digest."""
    digest = _digest(data)
    location = _start_upload(base_url, repo)
    finished = requests.put(
        location, params={"digest": digest}, data=data, headers=OCTETS, timeout=TIMEOUT
    )
    assert finished.status_code == 201, finished.text
    return digest


def _blob_status(registry: RegistryServer, repo: str, digest: str) -> int:
    """HEAD the blob on the registry itself, bypassing the proxy."""
    return requests.head(f"{registry.url}/v2/{repo}/blobs/{digest}", timeout=TIMEOUT).status_code


def test_monolithic_upload_goes_through_and_location_points_at_proxy(
    fault_proxy: FaultProxy, registry: RegistryServer, unique_repo: str
) -> None:
    data = os.urandom(300_000)
    digest = _digest(data)
    with requests.Session() as session:  # one keep-alive connection for every request
        location = _start_upload(fault_proxy.url, unique_repo, session)
        assert location.startswith(fault_proxy.url + "/v2/"), location
        finished = session.put(
            location, params={"digest": digest}, data=data, headers=OCTETS, timeout=TIMEOUT
        )
        assert finished.status_code == 201, finished.text
        assert finished.headers["Docker-Content-Digest"] == digest
        head = session.head(f"{fault_proxy.url}/v2/{unique_repo}/blobs/{digest}", timeout=TIMEOUT)
        assert head.status_code == 200
        assert head.headers["Content-Length"] == str(len(data))
        fetched = session.get(f"{fault_proxy.url}/v2/{unique_repo}/blobs/{digest}", timeout=TIMEOUT)
        assert fetched.content == data

    assert _blob_status(registry, unique_repo, digest) == 200
    entries = fault_proxy.log()
    assert [(e.method, e.status) for e in entries] == [
        ("POST", 202),
        ("PUT", 201),
        ("HEAD", 200),
        ("GET", 200),
    ]
    put, get = entries[1], entries[3]
    assert put.bytes_in == len(data) and put.query.endswith(digest.replace(":", "%3A"))
    assert put.header("host") == fault_proxy.host
    assert get.bytes_out == len(data)
    assert len({e.connection_id for e in entries}) == 1
    assert all(e.finished and e.end >= e.start for e in entries)  # type: ignore[operator]


def test_chunked_request_bodies_are_streamed_through(
    fault_proxy: FaultProxy, registry: RegistryServer, unique_repo: str
) -> None:
    pieces = [os.urandom(100_000), os.urandom(50_000), os.urandom(1)]
    data = b"".join(pieces)
    location = _start_upload(fault_proxy.url, unique_repo)
    # A generator body makes requests send Transfer-Encoding: chunked.
    patched = requests.patch(location, data=iter(pieces), headers=OCTETS, timeout=TIMEOUT)
    assert patched.status_code == 202, patched.text
    assert patched.headers["Range"] == f"0-{len(data) - 1}"
    location = requests.compat.urljoin(location, patched.headers["Location"])
    closed = requests.put(location, params={"digest": _digest(data)}, timeout=TIMEOUT)
    assert closed.status_code == 201, closed.text
    assert _blob_status(registry, unique_repo, _digest(data)) == 200
    (patch,) = fault_proxy.log("PATCH")
    assert patch.header("Transfer-Encoding") == "chunked"
    assert patch.bytes_in == len(data)


def test_fail_answers_once_then_forwards(fault_proxy: FaultProxy) -> None:
    fault = fault_proxy.fail("GET", r"^/v2/$", 503, headers={"Retry-After": "1"}, body=b"busy")
    with requests.Session() as session:
        first = session.get(f"{fault_proxy.url}/v2/", timeout=TIMEOUT)
        second = session.get(f"{fault_proxy.url}/v2/", timeout=TIMEOUT)
    assert (first.status_code, first.headers["Retry-After"], first.content) == (503, "1", b"busy")
    assert second.status_code == 200
    assert second.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert fault.hits == 1 and fault.remaining == 0
    assert [e.faults for e in fault_proxy.log()] == [["fail"], []]


def test_fail_only_matches_its_method_and_path_and_fires_n_times(fault_proxy: FaultProxy) -> None:
    fault_proxy.fail("HEAD", r"^/v2/$", 429, times=2)
    statuses = [requests.get(f"{fault_proxy.url}/v2/", timeout=TIMEOUT).status_code]
    statuses += [
        requests.head(f"{fault_proxy.url}/v2/", timeout=TIMEOUT).status_code for _ in "123"
    ]
    assert statuses == [200, 429, 429, 200]


def test_cut_request_drops_the_upload_and_nothing_is_stored(
    fault_proxy: FaultProxy, registry: RegistryServer, unique_repo: str
) -> None:
    data = os.urandom(1024 * 1024)
    fault = fault_proxy.cut_request("PUT", r"/blobs/uploads/", after_bytes=64 * 1024)
    location = _start_upload(fault_proxy.url, unique_repo)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.put(
            location, params={"digest": _digest(data)}, data=data, headers=OCTETS, timeout=TIMEOUT
        )
    assert fault.hits == 1
    assert _blob_status(registry, unique_repo, _digest(data)) == 404
    put = fault_proxy.log("PUT")[0]
    assert put.status is None and put.bytes_in >= 64 * 1024 and put.faults == ["cut_request"]


def test_cut_response_gives_a_short_read_and_a_range_request_gets_the_rest(
    fault_proxy: FaultProxy, registry: RegistryServer, unique_repo: str
) -> None:
    data = os.urandom(1024 * 1024)
    digest = _push_blob(registry.url, unique_repo, data)
    cut_at = 300_001
    fault_proxy.cut_response("GET", r"/blobs/sha256:", after_bytes=cut_at, times=2)
    blob_url = f"{fault_proxy.url}/v2/{unique_repo}/blobs/{digest}"

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(blob_url, timeout=TIMEOUT)

    # read1 hands over every byte that arrived; iter_content drops the piece cut in the middle.
    received = bytearray()
    with requests.get(blob_url, stream=True, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        with pytest.raises(urllib3.exceptions.ProtocolError):
            while piece := response.raw.read1(64 * 1024):
                received += piece
    assert bytes(received) == data[:cut_at]

    rest = requests.get(blob_url, headers={"Range": f"bytes={cut_at}-"}, timeout=TIMEOUT)
    assert rest.status_code == 206
    assert rest.headers["Content-Range"] == f"bytes {cut_at}-{len(data) - 1}/{len(data)}"
    assert bytes(received) + rest.content == data
    assert [e.bytes_out for e in fault_proxy.log("GET")] == [cut_at, cut_at, len(data) - cut_at]


def test_corrupt_response_flips_bytes_but_keeps_the_length(
    fault_proxy: FaultProxy, registry: RegistryServer, unique_repo: str
) -> None:
    data = os.urandom(500_000)
    digest = _push_blob(registry.url, unique_repo, data)
    fault_proxy.corrupt_response("GET", r"/blobs/", offset=400_000)
    blob_url = f"{fault_proxy.url}/v2/{unique_repo}/blobs/{digest}"
    corrupted = requests.get(blob_url, timeout=TIMEOUT).content
    assert len(corrupted) == len(data) and corrupted != data
    assert [i for i in range(len(data)) if corrupted[i] != data[i]] == [400_000]
    assert requests.get(blob_url, timeout=TIMEOUT).content == data  # the fault was one-shot


def test_throttle_relays_a_response_at_the_set_rate(
    fault_proxy: FaultProxy, unique_repo: str
) -> None:
    data = os.urandom(400_000)
    digest = _push_blob(fault_proxy.url, unique_repo, data)
    fault = fault_proxy.throttle("GET", r"/blobs/sha256:", 1_000_000)
    started = time.monotonic()
    fetched = requests.get(f"{fault_proxy.url}/v2/{unique_repo}/blobs/{digest}", timeout=TIMEOUT)
    took = time.monotonic() - started
    assert fetched.content == data
    assert took >= 0.35  # 400 kB at 1 MB/s
    assert fault.hits == 1 and fault_proxy.log("GET")[-1].faults == ["throttle"]


def test_max_concurrent_sees_overlapping_delayed_requests(fault_proxy: FaultProxy) -> None:
    fault_proxy.delay("GET", r"^/v2/$", seconds=0.5, times=3)
    statuses: list[int] = []
    barrier = threading.Barrier(3)

    def get() -> None:
        barrier.wait(timeout=TIMEOUT)
        statuses.append(requests.get(f"{fault_proxy.url}/v2/", timeout=TIMEOUT).status_code)

    threads = [threading.Thread(target=get) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    assert statuses == [200, 200, 200]
    assert fault_proxy.max_concurrent("GET", r"^/v2/$") == 3
    assert len({e.connection_id for e in fault_proxy.log()}) == 3

    # One after another they never overlap.
    fault_proxy.clear()
    for _ in range(3):
        requests.get(f"{fault_proxy.url}/v2/", timeout=TIMEOUT)
    assert fault_proxy.max_concurrent() == 1


def test_the_link_simulator_delays_and_caps_every_request_both_ways(
    registry: RegistryServer, unique_repo: str
) -> None:
    from tests.harness.link import LinkSimulator

    data = os.urandom(300_000)
    with LinkSimulator(registry.url, rtt=0.001, bytes_per_second=50_000_000) as link:
        digest = _push_blob(link.url, unique_repo, data)
        fetched = requests.get(f"{link.url}/v2/{unique_repo}/blobs/{digest}", timeout=TIMEOUT)
        assert fetched.content == data
        [put] = link.log("PUT")
        [get] = link.log("GET")
        assert put.faults == ["delay", "throttle_request", "throttle"]
        assert get.faults == ["delay", "throttle_request", "throttle"]
        link.clear()  # the faults of the link stay armed
        requests.get(f"{link.url}/v2/", timeout=TIMEOUT)
        assert "delay" in link.log("GET")[0].faults
