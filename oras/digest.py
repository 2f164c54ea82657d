"""Content digests: validate `<algorithm>:<encoded>` strings; hash bytes, streams and files."""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any, Callable, Optional, Union

from oras.concurrency import check_interrupted
from oras.errors import DigestMismatchError, InvalidDigestError

# OCI image-spec digest grammar (oci.md section 1), without anchors so other grammars can embed it.
DIGEST_PATTERN = r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"
_DIGEST_REGEX = re.compile(DIGEST_PATTERN)

# Registered algorithms and the number of lowercase hex characters they need; other
# well-formed algorithms pass validation (oci.md section 1).
_REGISTERED_HEX_LENGTHS = {"sha256": 64, "sha512": 128, "blake3": 64}
_LOWER_HEX = re.compile(r"[a-f0-9]+")

# Algorithms this library can compute.
_HASH_FACTORIES: dict[str, Callable[[], Any]] = {
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}

FILE_READ_SIZE = 1024 * 1024

BytesLike = Union[bytes, bytearray, memoryview]


def digest_problem(digest: str) -> Optional[str]:
    """What is wrong with `digest` (without repeating it), or None if it is well formed."""
    if not isinstance(digest, str):
        return "expected a string"
    if not _DIGEST_REGEX.fullmatch(digest):
        return "expected <algorithm>:<encoded>, e.g. sha256:<64 hex>"
    algorithm, encoded = digest.split(":", 1)
    length = _REGISTERED_HEX_LENGTHS.get(algorithm)
    if length is not None and (len(encoded) != length or not _LOWER_HEX.fullmatch(encoded)):
        return f"{algorithm} needs {length} lowercase hex characters"
    return None


def validate_digest(digest: str) -> str:
    """Return `digest` if it is a well-formed OCI digest, else raise InvalidDigestError."""
    problem = digest_problem(digest)
    if problem:
        raise InvalidDigestError(f"invalid digest {digest!r}: {problem}")
    return digest


def split_digest(digest: str) -> tuple[str, str]:
    """Validate `digest` and return its `(algorithm, encoded)` parts."""
    algorithm, encoded = validate_digest(digest).split(":", 1)
    return algorithm, encoded


class Hasher:
    """A streaming digest: feed bytes with `update`, read `size` and `digest()` at any time."""

    def __init__(self, algorithm: str = "sha256") -> None:
        factory = _HASH_FACTORIES.get(algorithm)
        if factory is None:
            supported = ", ".join(sorted(_HASH_FACTORIES))
            raise InvalidDigestError(
                f"unsupported digest algorithm {algorithm!r} (supported: {supported})"
            )
        self.algorithm = algorithm
        self._hash = factory()
        self._size = 0

    @classmethod
    def for_digest(cls, digest: str) -> Hasher:
        """A hasher using the algorithm of `digest` (which must be valid and supported)."""
        algorithm, _ = split_digest(digest)
        return cls(algorithm)

    def update(self, data: BytesLike) -> None:
        view = memoryview(data)
        self._size += view.nbytes
        self._hash.update(view)

    def reset(self) -> None:
        """Forget every byte seen (a download that starts over)."""
        self._hash = _HASH_FACTORIES[self.algorithm]()
        self._size = 0

    @property
    def size(self) -> int:
        """Number of bytes seen so far."""
        return self._size

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def digest(self) -> str:
        """The digest of the bytes seen so far, as `<algorithm>:<hex>`."""
        return f"{self.algorithm}:{self._hash.hexdigest()}"

    def verify(self, expected_digest: str, expected_size: Optional[int] = None) -> None:
        """Raise DigestMismatchError unless the bytes seen match `expected_digest` (and size)."""
        if expected_size is not None and self._size != expected_size:
            raise DigestMismatchError(
                f"size mismatch for {expected_digest}: expected {expected_size} bytes, "
                f"got {self._size}"
            )
        actual = self.digest()
        if actual != expected_digest:
            raise DigestMismatchError(f"digest mismatch: expected {expected_digest}, got {actual}")


def digest_bytes(data: BytesLike, algorithm: str = "sha256") -> str:
    """The `<algorithm>:<hex>` digest of `data`."""
    hasher = Hasher(algorithm)
    hasher.update(data)
    return hasher.digest()


def digest_file(path: Union[str, os.PathLike[str]], algorithm: str = "sha256") -> tuple[str, int]:
    """Return `(digest, size)` of a file, read in 1 MiB blocks so memory stays constant."""
    hasher = Hasher(algorithm)
    buffer = bytearray(FILE_READ_SIZE)
    view = memoryview(buffer)
    with open(path, "rb") as handle:
        while True:
            check_interrupted()
            count = handle.readinto(buffer)
            if not count:
                break
            hasher.update(view[:count])
    return hasher.digest(), hasher.size
