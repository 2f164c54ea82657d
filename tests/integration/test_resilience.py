"""Transfers over a connection that drops, corrupts or refuses: the fault proxy in front of the
real registry cuts uploads and downloads, flips bytes and injects 503/429/413 answers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import oras.client
from oras.errors import DigestMismatchError, RegistryError

BLOB_UPLOAD = r"/blobs/uploads/"
BLOB_GET = r"/blobs/sha256:"


@pytest.fixture
def payload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.chdir(tmp_path)
    data = os.urandom(1024 * 1024 + 17)
    (tmp_path / "blob.bin").write_bytes(data)
    return data


def _client() -> oras.client.OrasClient:
    return oras.client.OrasClient(insecure=True)


def _pull_back(client, target: str, tmp_path: Path) -> bytes:
    out = tmp_path / "out"
    [path] = client.pull(target=target, outdir=str(out))
    return Path(path).read_bytes()


def test_chunked_upload_resumes_after_a_dropped_connection(
    fault_proxy, payload, unique_repo, tmp_path
):
    fault_proxy.cut_request("PATCH", BLOB_UPLOAD, after_bytes=300_000)
    client = _client()
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    client.push(files=["blob.bin"], target=target, do_chunked=True, chunk_size=256 * 1024)
    statuses = [r for r in fault_proxy.log("GET", BLOB_UPLOAD)]
    assert statuses, "the client asked the registry where the upload stood"
    patches = fault_proxy.log("PATCH", BLOB_UPLOAD)
    # 5 chunks plus the one that was cut, not a restart from byte 0
    assert len(patches) == 6
    assert _pull_back(client, target, tmp_path) == payload


def test_monolithic_upload_starts_over_after_a_dropped_connection(
    fault_proxy, payload, unique_repo, tmp_path
):
    fault_proxy.cut_request("PUT", BLOB_UPLOAD, after_bytes=200_000)
    client = _client()
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    client.push(files=["blob.bin"], target=target)
    blob_puts = [r for r in fault_proxy.log("PUT", BLOB_UPLOAD) if "digest=sha256" in r.query]
    assert len(blob_puts) >= 3  # cut PUT, its replacement, the config
    assert any(r.method == "DELETE" for r in fault_proxy.log("DELETE", BLOB_UPLOAD))
    assert _pull_back(client, target, tmp_path) == payload


def test_download_resumes_with_range_after_a_dropped_connection(
    fault_proxy, payload, unique_repo, tmp_path
):
    client = _client()
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    client.push(files=["blob.bin"], target=target)
    fault_proxy.clear()
    fault_proxy.cut_response("GET", BLOB_GET, after_bytes=400_000)
    assert _pull_back(client, target, tmp_path) == payload
    ranged = [r for r in fault_proxy.log("GET", BLOB_GET) if r.header("Range")]
    assert [r.header("Range") for r in ranged] == ["bytes=400000-"]
    assert ranged[0].status == 206


def test_corrupted_download_is_refused_and_nothing_is_left(
    fault_proxy, payload, unique_repo, tmp_path
):
    client = _client()
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    client.push(files=["blob.bin"], target=target)
    fault_proxy.corrupt_response("GET", BLOB_GET, times=None, offset=12345)
    out = tmp_path / "out"
    with pytest.raises(DigestMismatchError):
        client.pull(target=target, outdir=str(out))
    assert list(out.iterdir()) == []


def test_503_and_429_are_retried_honouring_retry_after(fault_proxy, payload, unique_repo, tmp_path):
    client = _client()
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    fault_proxy.fail("PUT", r"/manifests/", 429, headers={"Retry-After": "1"})
    start = time.monotonic()
    assert client.push(files=["blob.bin"], target=target).status_code == 201
    assert time.monotonic() - start >= 1.0
    fault_proxy.fail("GET", r"/manifests/", 503, headers={"Retry-After": "1"})
    assert _pull_back(client, target, tmp_path) == payload
    manifest_gets = fault_proxy.log("GET", r"/manifests/")
    assert [r.status for r in manifest_gets[:2]] == [503, 200]


def test_server_errors_are_retried_a_bounded_number_of_times(fault_proxy, unique_repo):
    fault_proxy.fail("GET", r"/tags/list", 502, times=None)
    client = _client()
    with pytest.raises(RegistryError) as info:
        client.get_tags(f"{fault_proxy.host}/{unique_repo}")
    assert info.value.status == 502
    assert len(fault_proxy.log("GET", r"/tags/list")) == 5


def test_request_too_large_switches_to_chunks(fault_proxy, payload, unique_repo, tmp_path):
    fault_proxy.fail("PUT", BLOB_UPLOAD, 413, times=1)  # the first PUT: the layer's
    client = _client()
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    client.push(files=["blob.bin"], target=target)
    assert fault_proxy.log("PATCH", BLOB_UPLOAD), "the blob went up in chunks after the 413"
    assert _pull_back(client, target, tmp_path) == payload


@pytest.fixture
def large_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file above the size at which hashing overlaps the upload (sparse: cheap to make)."""
    from oras.remote.upload import OVERLAP_THRESHOLD

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "large.bin"
    with open(path, "wb") as fh:
        fh.truncate(OVERLAP_THRESHOLD + 4096)
        fh.seek(OVERLAP_THRESHOLD // 2)
        fh.write(os.urandom(4096))  # not all zeros
    return path


def test_large_file_is_uploaded_while_it_is_hashed(fault_proxy, large_file, unique_repo):
    client = _client()
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    client.push(files=["large.bin"], target=target)
    patches = fault_proxy.log("PATCH", BLOB_UPLOAD)
    assert patches, "the file went up in chunks, no separate hashing pass first"
    assert patches[0].bytes_in == 1024 * 1024  # the small probe chunk comes first
    manifest = client.get_manifest(target)
    import hashlib

    expected = "sha256:" + hashlib.sha256(large_file.read_bytes()).hexdigest()
    assert manifest["layers"][0]["digest"] == expected
    assert manifest["layers"][0]["size"] == large_file.stat().st_size

    # pushing it again stops uploading once the hash shows the registry holds it
    fault_proxy.clear()
    client.push(files=["large.bin"], target=target)
    sent = sum(r.bytes_in for r in fault_proxy.log("PATCH", BLOB_UPLOAD))
    assert sent < large_file.stat().st_size
    assert not [r for r in fault_proxy.log("PUT", BLOB_UPLOAD) if "digest=" + expected in r.query]


def test_registry_without_chunked_uploads_gets_one_put(fault_proxy, large_file, unique_repo):
    fault_proxy.fail("PATCH", BLOB_UPLOAD, 405, times=None)
    client = _client()
    target = f"{fault_proxy.host}/{unique_repo}:v1"
    assert client.push(files=["large.bin"], target=target).status_code == 201
    [probe] = fault_proxy.log("PATCH", BLOB_UPLOAD)
    assert probe.status == 405
    puts = [r for r in fault_proxy.log("PUT", BLOB_UPLOAD) if r.bytes_in > 0]
    # the blob and the config, in one PUT each
    assert sorted(r.bytes_in for r in puts) == [2, large_file.stat().st_size]
