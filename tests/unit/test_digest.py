"""Tests for oras.digest: validation, streaming hashes and file digests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from oras.digest import Hasher, digest_bytes, digest_file, split_digest, validate_digest
from oras.errors import DigestMismatchError, InvalidDigestError

SHA256_EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize(
    "digest",
    [
        SHA256_EMPTY,
        "sha512:" + "a" * 128,
        "blake3:" + "0" * 64,
        "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
        "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
        "a.b_c-d:x=y",
    ],
)
def test_valid_digests(digest: str) -> None:
    assert validate_digest(digest) == digest


@pytest.mark.parametrize(
    "digest",
    [
        "",
        "sha256",
        "sha256:",
        ":abc",
        "SHA256:" + "a" * 64,
        "sha256:" + "a" * 63,
        "sha256:" + "A" * 64,
        "sha256:" + "g" * 64,
        "sha512:" + "a" * 64,
        "blake3:" + "a" * 63,
        "sha256:" + "a" * 64 + "\n",
        "-sha:abc",
        "sha256:abc def",
    ],
)
def test_invalid_digests(digest: str) -> None:
    with pytest.raises(InvalidDigestError) as info:
        validate_digest(digest)
    assert repr(digest) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_invalid_digest_non_string() -> None:
    with pytest.raises(InvalidDigestError):
        validate_digest(None)  # type: ignore[arg-type]


def test_sha256_length_message() -> None:
    with pytest.raises(InvalidDigestError, match="64 lowercase hex"):
        validate_digest("sha256:abc")


def test_split_digest() -> None:
    assert split_digest(SHA256_EMPTY) == ("sha256", SHA256_EMPTY[7:])


def test_digest_bytes_matches_hashlib() -> None:
    data = b"hello dinosaur\n"
    assert digest_bytes(data) == "sha256:" + hashlib.sha256(data).hexdigest()
    assert digest_bytes(data, "sha512") == "sha512:" + hashlib.sha512(data).hexdigest()
    assert digest_bytes(b"") == SHA256_EMPTY


def test_hasher_streams_in_pieces() -> None:
    data = os.urandom(100_003)
    hasher = Hasher()
    for start in range(0, len(data), 4096):
        hasher.update(data[start : start + 4096])
    assert hasher.size == len(data)
    assert hasher.digest() == "sha256:" + hashlib.sha256(data).hexdigest()
    assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()


def test_hasher_accepts_bytearray_and_memoryview() -> None:
    hasher = Hasher()
    hasher.update(bytearray(b"ab"))
    hasher.update(memoryview(b"cd"))
    assert hasher.size == 4
    assert hasher.digest() == digest_bytes(b"abcd")


def test_hasher_for_digest() -> None:
    assert Hasher.for_digest(SHA256_EMPTY).algorithm == "sha256"
    assert Hasher.for_digest("sha512:" + "b" * 128).algorithm == "sha512"
    with pytest.raises(InvalidDigestError, match="unsupported"):
        Hasher.for_digest("blake3:" + "0" * 64)
    with pytest.raises(InvalidDigestError):
        Hasher.for_digest("nonsense")


def test_hasher_unknown_algorithm() -> None:
    with pytest.raises(InvalidDigestError, match="md5"):
        Hasher("md5")


def test_hasher_verify() -> None:
    hasher = Hasher()
    hasher.update(b"abc")
    hasher.verify(digest_bytes(b"abc"), 3)
    with pytest.raises(DigestMismatchError, match="size"):
        hasher.verify(digest_bytes(b"abc"), 4)
    with pytest.raises(DigestMismatchError, match="digest mismatch"):
        hasher.verify(SHA256_EMPTY)


def test_digest_file_matches_hashlib_on_whole_file(tmp_path: Path) -> None:
    # Larger than one 1 MiB read, and not a multiple of it.
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert digest_file(str(path)) == ("sha256:" + hashlib.sha256(data).hexdigest(), len(data))
    assert digest_file(path, "sha512") == ("sha512:" + hashlib.sha512(data).hexdigest(), len(data))


def test_digest_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert digest_file(str(path)) == (SHA256_EMPTY, 0)


def test_digest_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        digest_file(str(tmp_path / "missing"))


def test_digest_file_constant_memory(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "big"
    with open(path, "wb") as handle:
        for _ in range(16):
            handle.write(os.urandom(1024 * 1024))
    tracemalloc.start()
    try:
        digest_file(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024
