"""Where the test registry keeps its data: blobs, upload sessions, manifests, tags, blob links.

Two backends with one interface: `MemoryStorage` (bytes in dicts, gone when the process ends) and
`DirectoryStorage` (files under a root directory, streamed, kept across restarts). Both keep the
small metadata (which repository holds which blob, manifest and tag) in memory behind one lock;
the directory backend also writes it as small files and reads it back when it opens the root.

Blob bytes are content-addressed and shared by all repositories; a repository sees a blob only
once it is linked to it (by an upload, a mount or a manifest PUT), as in Distribution.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator, Optional, Union

#: Bytes read from a request or a file per step.
COPY_BUFFER = 1024 * 1024

_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


@dataclass
class ManifestRecord:
    """What the registry remembers about a stored manifest besides its bytes."""

    media_type: str
    size: int
    subject: Optional[str] = None
    artifact_type: Optional[str] = None
    annotations: Optional[dict[str, str]] = None

    def to_json(self) -> dict[str, Any]:
        return {
            "mediaType": self.media_type,
            "size": self.size,
            "subject": self.subject,
            "artifactType": self.artifact_type,
            "annotations": self.annotations,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ManifestRecord:
        return cls(
            data["mediaType"],
            int(data["size"]),
            data.get("subject"),
            data.get("artifactType"),
            data.get("annotations"),
        )


@dataclass
class Repository:
    blobs: set[str] = field(default_factory=set)
    manifests: dict[str, ManifestRecord] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Upload:
    """An open upload session: its repository, bytes received so far and a running sha256."""

    repository: str
    size: int = 0
    sha256: Any = field(default_factory=hashlib.sha256)
    lock: threading.Lock = field(default_factory=threading.Lock)


def digest_bytes(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{_HASHES[algorithm](data).hexdigest()}"


class Storage:
    """The interface and the in-memory metadata both backends share; subclasses hold the bytes."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.repositories: dict[str, Repository] = {}
        self.uploads: dict[str, Upload] = {}

    # -- bytes: implemented by the backends ------------------------------------------------

    def blob_size(self, digest: str) -> Optional[int]:
        raise NotImplementedError

    def open_blob(self, digest: str) -> IO[bytes]:
        raise NotImplementedError

    def put_blob(self, digest: str, data: bytes) -> None:
        raise NotImplementedError

    def _create_upload_data(self, upload_id: str) -> None:
        raise NotImplementedError

    def _append_upload_data(self, upload_id: str, chunks: Iterator[bytes]) -> int:
        raise NotImplementedError

    def _read_upload_data(self, upload_id: str) -> IO[bytes]:
        raise NotImplementedError

    def _commit_upload_data(self, upload_id: str, digest: str) -> None:
        raise NotImplementedError

    def _drop_upload_data(self, upload_id: str) -> None:
        raise NotImplementedError

    def _persist_repository(self, name: str) -> None:
        """Write `name`'s metadata (directory backend); nothing in memory."""

    # -- repositories ------------------------------------------------------------------------

    def repository(self, name: str, create: bool = False) -> Optional[Repository]:
        with self.lock:
            repo = self.repositories.get(name)
            if repo is None and create:
                repo = self.repositories[name] = Repository()
            return repo

    def repository_names(self) -> list[str]:
        with self.lock:
            return sorted(
                name for name, repo in self.repositories.items() if repo.manifests or repo.tags
            )

    def link_blob(self, name: str, digest: str) -> None:
        with self.lock:
            repo = self.repository(name, create=True)
            assert repo is not None
            if digest not in repo.blobs:
                repo.blobs.add(digest)
                self._persist_repository(name)

    def has_blob(self, name: str, digest: str) -> Optional[int]:
        """The blob's size if `name` holds it, else None."""
        with self.lock:
            repo = self.repositories.get(name)
            if repo is None or digest not in repo.blobs:
                return None
        return self.blob_size(digest)

    def unlink_blob(self, name: str, digest: str) -> bool:
        with self.lock:
            repo = self.repositories.get(name)
            if repo is None or digest not in repo.blobs:
                return False
            repo.blobs.discard(digest)
            self._persist_repository(name)
            return True

    # -- uploads -------------------------------------------------------------------------------

    def start_upload(self, name: str) -> str:
        upload_id = str(uuid.uuid4())
        self._create_upload_data(upload_id)
        with self.lock:
            self.uploads[upload_id] = Upload(name)
        return upload_id

    def upload(self, name: str, upload_id: str) -> Optional[Upload]:
        with self.lock:
            upload = self.uploads.get(upload_id)
        return upload if upload is not None and upload.repository == name else None

    def append_upload(self, upload: Upload, upload_id: str, chunks: Iterator[bytes]) -> None:
        """Append the chunks to the session (the caller holds `upload.lock`)."""

        def hashed() -> Iterator[bytes]:
            for chunk in chunks:
                upload.sha256.update(chunk)
                upload.size += len(chunk)
                yield chunk

        self._append_upload_data(upload_id, hashed())

    def upload_digest(self, upload: Upload, upload_id: str, algorithm: str) -> str:
        if algorithm == "sha256":
            return "sha256:" + upload.sha256.hexdigest()
        hasher = _HASHES[algorithm]()
        with self._read_upload_data(upload_id) as f:
            for block in iter(lambda: f.read(COPY_BUFFER), b""):
                hasher.update(block)
        return f"{algorithm}:{hasher.hexdigest()}"

    def commit_upload(self, upload_id: str, digest: str) -> None:
        with self.lock:
            upload = self.uploads.pop(upload_id)
        if self.blob_size(digest) is None:
            self._commit_upload_data(upload_id, digest)
        else:
            self._drop_upload_data(upload_id)
        self.link_blob(upload.repository, digest)

    def cancel_upload(self, upload_id: str) -> None:
        with self.lock:
            self.uploads.pop(upload_id, None)
        self._drop_upload_data(upload_id)

    # -- manifests and tags ----------------------------------------------------------------------

    def put_manifest(
        self, name: str, digest: str, data: bytes, record: ManifestRecord, tag: Optional[str]
    ) -> None:
        if self.blob_size(digest) is None:
            self.put_blob(digest, data)
        with self.lock:
            repo = self.repository(name, create=True)
            assert repo is not None
            repo.blobs.add(digest)
            repo.manifests[digest] = record
            if tag is not None:
                repo.tags[tag] = digest
            self._persist_repository(name)

    def manifest(self, name: str, digest: str) -> Optional[ManifestRecord]:
        with self.lock:
            repo = self.repositories.get(name)
            return repo.manifests.get(digest) if repo else None

    def resolve_tag(self, name: str, tag: str) -> Optional[str]:
        with self.lock:
            repo = self.repositories.get(name)
            return repo.tags.get(tag) if repo else None

    def delete_manifest(self, name: str, digest: str) -> bool:
        """Remove the manifest and every tag on it; False when the repository lacks it."""
        with self.lock:
            repo = self.repositories.get(name)
            if repo is None or digest not in repo.manifests:
                return False
            del repo.manifests[digest]
            repo.blobs.discard(digest)
            for tag in [t for t, d in repo.tags.items() if d == digest]:
                del repo.tags[tag]
            self._persist_repository(name)
            return True

    def delete_tag(self, name: str, tag: str) -> bool:
        with self.lock:
            repo = self.repositories.get(name)
            if repo is None or tag not in repo.tags:
                return False
            del repo.tags[tag]
            self._persist_repository(name)
            return True

    def tags(self, name: str) -> Optional[list[str]]:
        with self.lock:
            repo = self.repositories.get(name)
            return sorted(repo.tags) if repo is not None else None

    def referrers(self, name: str, subject: str) -> list[tuple[str, ManifestRecord]]:
        with self.lock:
            repo = self.repositories.get(name)
            if repo is None:
                return []
            return sorted(
                (digest, record)
                for digest, record in repo.manifests.items()
                if record.subject == subject
            )

    def close(self) -> None:
        """Release what the backend holds open (nothing by default)."""


class MemoryStorage(Storage):
    """Everything in memory: fast, and gone with the registry."""

    def __init__(self) -> None:
        super().__init__()
        self._blobs: dict[str, bytes] = {}
        self._uploads: dict[str, bytearray] = {}

    def blob_size(self, digest: str) -> Optional[int]:
        data = self._blobs.get(digest)
        return None if data is None else len(data)

    def open_blob(self, digest: str) -> IO[bytes]:
        return io.BytesIO(self._blobs[digest])

    def put_blob(self, digest: str, data: bytes) -> None:
        self._blobs[digest] = bytes(data)

    def _create_upload_data(self, upload_id: str) -> None:
        self._uploads[upload_id] = bytearray()

    def _append_upload_data(self, upload_id: str, chunks: Iterator[bytes]) -> int:
        buffer = self._uploads[upload_id]
        for chunk in chunks:
            buffer += chunk
        return len(buffer)

    def _read_upload_data(self, upload_id: str) -> IO[bytes]:
        return io.BytesIO(bytes(self._uploads[upload_id]))

    def _commit_upload_data(self, upload_id: str, digest: str) -> None:
        self._blobs[digest] = bytes(self._uploads.pop(upload_id))

    def _drop_upload_data(self, upload_id: str) -> None:
        self._uploads.pop(upload_id, None)


class DirectoryStorage(Storage):
    """Blobs and metadata as files under `root`, streamed to disk; a restart finds them again.

    Layout: `blobs/<alg>/<encoded>`, `uploads/<id>`, and per repository
    `repositories/<name>/_blobs/<alg>-<encoded>` (empty), `_manifests/<alg>-<encoded>.json` (media
    type, subject, ...) and `_tags/<tag>` (the digest). Repository name components never start
    with `_`, so these names cannot clash with a nested repository. Upload sessions do not
    survive a restart.
    """

    def __init__(self, root: Union[str, os.PathLike[str]]) -> None:
        super().__init__()
        self.root = Path(root)
        for sub in ("blobs", "uploads", "repositories"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for stale in (self.root / "uploads").iterdir():
            stale.unlink()
        self._load()

    def blob_path(self, digest: str) -> Path:
        algorithm, encoded = digest.split(":", 1)
        return self.root / "blobs" / algorithm / encoded

    def _upload_path(self, upload_id: str) -> Path:
        return self.root / "uploads" / upload_id

    def blob_size(self, digest: str) -> Optional[int]:
        try:
            return self.blob_path(digest).stat().st_size
        except OSError:
            return None

    def open_blob(self, digest: str) -> IO[bytes]:
        return open(self.blob_path(digest), "rb")

    def put_blob(self, digest: str, data: bytes) -> None:
        path = self.blob_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, data)

    def _create_upload_data(self, upload_id: str) -> None:
        self._upload_path(upload_id).touch()

    def _append_upload_data(self, upload_id: str, chunks: Iterator[bytes]) -> int:
        with open(self._upload_path(upload_id), "ab") as f:
            for chunk in chunks:
                f.write(chunk)
            return f.tell()

    def _read_upload_data(self, upload_id: str) -> IO[bytes]:
        return open(self._upload_path(upload_id), "rb")

    def _commit_upload_data(self, upload_id: str, digest: str) -> None:
        path = self.blob_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._upload_path(upload_id), path)

    def _drop_upload_data(self, upload_id: str) -> None:
        self._upload_path(upload_id).unlink(missing_ok=True)

    def _repo_dir(self, name: str) -> Path:
        return self.root / "repositories" / name

    def _persist_repository(self, name: str) -> None:
        # Rewrites the repository's metadata files to match memory; small and infrequent.
        repo = self.repositories[name]
        base = self._repo_dir(name)
        wanted: dict[str, dict[str, bytes]] = {
            "_blobs": {d.replace(":", "-", 1): b"" for d in repo.blobs},
            "_manifests": {
                d.replace(":", "-", 1) + ".json": json.dumps(r.to_json()).encode()
                for d, r in repo.manifests.items()
            },
            "_tags": {t: d.encode() for t, d in repo.tags.items()},
        }
        for sub, files in wanted.items():
            directory = base / sub
            directory.mkdir(parents=True, exist_ok=True)
            present = {p.name for p in directory.iterdir()}
            for stale in present - set(files):
                (directory / stale).unlink(missing_ok=True)
            for file_name, content in files.items():
                path = directory / file_name
                if file_name not in present or sub == "_tags":
                    _write_atomically(path, content)

    def _load(self) -> None:
        base = self.root / "repositories"
        for manifests_dir in sorted(base.rglob("_manifests")):
            repo_dir = manifests_dir.parent
            name = repo_dir.relative_to(base).as_posix()
            repo = Repository()
            for path in (repo_dir / "_blobs").glob("*"):
                repo.blobs.add(path.name.replace("-", ":", 1))
            for path in manifests_dir.glob("*.json"):
                digest = path.name[: -len(".json")].replace("-", ":", 1)
                repo.manifests[digest] = ManifestRecord.from_json(json.loads(path.read_text()))
            for path in (repo_dir / "_tags").glob("*"):
                repo.tags[path.name] = path.read_text().strip()
            self.repositories[name] = repo


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def copy_stream(source: IO[bytes], target: IO[bytes], length: int) -> None:
    """Copy `length` bytes from `source` to `target` in large blocks."""
    remaining = length
    while remaining > 0:
        block = source.read(min(COPY_BUFFER, remaining))
        if not block:
            raise EOFError("short read")
        target.write(block)
        remaining -= len(block)


__all__ = ["DirectoryStorage", "ManifestRecord", "MemoryStorage", "Storage"]
