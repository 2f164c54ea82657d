"""OCI image layouts as stores: a directory (`oci-layout`, `index.json`, `blobs/<alg>/<encoded>`)
or the same tree in an uncompressed `.tar`, read and written through the content contracts.

Tags are the `org.opencontainers.image.ref.name` annotations of `index.json` entries. Only
tagged manifests are listed there; any manifest blob of the layout still resolves by its digest
(its media type read from its own `mediaType`), and any other blob resolves by digest as
`application/octet-stream`. Writes never leave a half-written blob, index or tar behind: content
goes to a temporary file beside its final name and is renamed into place once it is complete
(a blob only when its size and digest match).

Limits: a manifest read from a layout is at most `oras.descriptor.MAX_MANIFEST_SIZE` bytes,
`index.json` at most `MAX_INDEX_SIZE`, `oci-layout` at most `MAX_LAYOUT_FILE_SIZE`, and a tar
has at most `oras.content.layout_tar.MAX_TAR_MEMBERS` entries.
"""

from __future__ import annotations

import json
import os
import pathlib
import stat
import threading
from typing import Any, BinaryIO, Iterator, Optional, TypeVar, Union

from oras import defaults, descriptor
from oras.content import layout_graph
from oras.content.layout_index import (
    _INDEX_FILE,
    MAX_INDEX_SIZE,
    LayoutIndex,
    _entry_descriptor,
    _is_content_digest,
    _json_object,
    _read_limited,
    _ref_name,
    _temp_file,
    _validate_index,
    _write_atomically,
)
from oras.content.reader import (
    VerifyingReader,
    copy_stream,
    direct_download,
)
from oras.descriptor import Descriptor
from oras.digest import split_digest, validate_digest
from oras.errors import (
    InvalidDigestError,
    InvalidLayoutError,
    NotFoundError,
)
from oras.manifest import is_manifest

__all__ = [
    "BaseLayoutStore",
    "LayoutStore",
    "MAX_INDEX_SIZE",
    "MAX_LAYOUT_FILE_SIZE",
    "open_layout",
]

PathLike = Union[str, "os.PathLike[str]"]
_Store = TypeVar("_Store", bound="BaseLayoutStore")

#: Largest `oci-layout` file read (it holds one short JSON object).
MAX_LAYOUT_FILE_SIZE = 64 * 1024

#: The media type a blob that is not a manifest resolves to by digest (as in oras-go).
BLOB_MEDIA_TYPE = "application/octet-stream"

_LAYOUT_FILE = defaults.oci_layout_file
_BLOBS = defaults.oci_blobs_dir
_LAYOUT_VERSION = defaults.oci_layout_version_pin


def _blob_name(digest: str) -> str:
    """`blobs/<alg>/<encoded>` for a valid digest; InvalidDigestError otherwise, so no digest
    can name a path outside `blobs/`."""
    algorithm, encoded = split_digest(digest)
    return f"{_BLOBS}/{algorithm}/{encoded}"


def _name_digest(name: str) -> Optional[str]:
    """The digest a `blobs/<alg>/<encoded>` name stands for, or None for anything else."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != _BLOBS:
        return None
    digest = f"{parts[1]}:{parts[2]}"
    try:
        validate_digest(digest)
    except InvalidDigestError:
        return None
    return digest


def _parse_layout_file(raw: bytes, where: str) -> None:
    document = _json_object(raw, f"{where}/{_LAYOUT_FILE}")
    version = document.get("imageLayoutVersion")
    if version != _LAYOUT_VERSION:
        raise InvalidLayoutError(
            f"{where}/{_LAYOUT_FILE}: unsupported imageLayoutVersion {version!r} "
            f"(this client reads {_LAYOUT_VERSION!r})"
        )


class BaseLayoutStore:
    """An OCI image layout as a Target, PredecessorFinder, Deleter and TagLister; safe across
    threads. `LayoutStore` keeps it in a directory, `LayoutTarStore` in a tar; use
    `open_layout` to pick one by path. A store is also a context manager (`close()` on exit)."""

    def __init__(self, path: PathLike, read_only: bool) -> None:
        self.path = pathlib.Path(path)
        self.read_only = read_only
        self._lock = threading.RLock()  # index.json, the manifests pushed, the graph
        self._index = LayoutIndex(self._lock, self._save_index)
        #: Manifests pushed through this store (their media types, whatever their JSON says).
        self._pushed: dict[str, Descriptor] = {}
        #: The edges of the layout's graph, reversed; built on first use.
        self._predecessors: Optional[layout_graph.Predecessors] = None
        self._closed = False

    def __repr__(self) -> str:
        mode = "r" if self.read_only else "w"
        return f"{type(self).__name__}({os.fspath(self.path)!r}, mode={mode!r})"

    def __enter__(self: _Store) -> _Store:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close()

    def close(self) -> None:
        """Finish writing (a tar is written here); the store is unusable afterwards."""
        self._closed = True

    # -- what a backend provides -----------------------------------------------------------------
    def _open(self, name: str) -> BinaryIO:
        """The layout file `name` (`index.json`, `blobs/...`); FileNotFoundError when absent."""
        raise NotImplementedError

    def _size(self, name: str) -> Optional[int]:
        """The size of the regular file `name`, None when there is none."""
        raise NotImplementedError

    def _blob_names(self) -> set[str]:
        """Every `blobs/<alg>/<encoded>` name with a valid digest."""
        raise NotImplementedError

    def _blob_target(self, name: str) -> pathlib.Path:
        """Where a pushed blob is renamed to (the layout exists once this returns)."""
        raise NotImplementedError

    def _remove_blob(self, name: str) -> None:
        raise NotImplementedError

    def _save_index(self) -> None:
        """Persist `self._index` (called with the lock held)."""
        raise NotImplementedError

    # -- Storage ---------------------------------------------------------------------------------
    def fetch(self, desc: Descriptor) -> BinaryIO:
        """The blob's bytes as they are stored (callers verify: see `oras.content.Fetcher`)."""
        self._check_open()
        name = _blob_name(desc.digest)
        try:
            return self._open(name)
        except FileNotFoundError:
            raise self._not_found(desc.digest) from None

    def exists(self, desc: Descriptor) -> bool:
        """Whether the layout holds a blob of `desc`'s digest and size."""
        self._check_open()
        return self._size(_blob_name(desc.digest)) == desc.size

    def push(self, expected: Descriptor, content: BinaryIO) -> None:
        """Store `content` as the blob `expected`, hashed while it is written to a temporary
        file that is renamed into place only when its size and digest match."""
        self._check_writable()
        name = _blob_name(expected.digest)
        target = self._blob_target(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        trusted = (
            isinstance(content, VerifyingReader)
            and content.descriptor.digest == expected.digest
            and content.descriptor.size == expected.size
        )
        direct = None if trusted else direct_download(content)
        if direct is not None:  # a large registry blob: fetched in ranges, verified, renamed
            direct(str(target))
            self._blob_written(name)
            return
        stream = content if trusted else VerifyingReader(content, expected)
        temp, fd = _temp_file(target.parent, "blob")
        try:
            with os.fdopen(fd, "wb") as out:
                copy_stream(stream, out)  # type: ignore[arg-type]
            stream.verify()  # type: ignore[union-attr]
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        self._blob_written(name)
        if is_manifest(expected):
            self._add_manifest(expected.identity())
            self._list_referrer(expected)

    def _list_referrer(self, desc: Descriptor) -> None:
        """A manifest with a `subject` (a referrer, which no tag names) gets an untagged entry
        in `index.json`, as oras-go lists the layout's untagged roots, so that tools reading
        only `index.json` find it."""
        from oras.referrers import referrer_descriptor, subject_of

        if desc.size > descriptor.MAX_MANIFEST_SIZE:
            return
        with self._open(_blob_name(desc.digest)) as stream:
            data = stream.read(descriptor.MAX_MANIFEST_SIZE + 1)
        subject = subject_of(data)
        if subject is None:
            return
        referrer = referrer_descriptor(desc, data, subject.digest)
        assert referrer is not None
        self._index.add_untagged(
            Descriptor(
                desc.media_type, desc.digest, desc.size, artifact_type=referrer.artifact_type
            )
        )

    def _blob_written(self, name: str) -> None:
        """Hook: `name` now holds new content."""

    # -- references ------------------------------------------------------------------------------
    def resolve(self, reference: str) -> Descriptor:
        """A tag (the `ref.name` of an `index.json` entry; the last one wins) or a digest."""
        self._check_open()
        if not reference:
            raise ValueError("an empty reference names nothing")
        with self._lock:
            entries = self._index.entries()
            pushed = self._pushed.get(reference)
        # Tags first: a ref.name such as `app:v1` is also a well-formed digest.
        for entry in reversed(entries):
            if _ref_name(entry) == reference:
                return self._complete(_entry_descriptor(entry))
        try:
            validate_digest(reference)
        except InvalidDigestError:
            raise NotFoundError(
                f"{reference}: no such tag in OCI layout {os.fspath(self.path)}", status=404
            ) from None
        if pushed is not None:
            return pushed
        for entry in entries:
            if entry.get("digest") == reference:
                return self._complete(_entry_descriptor(entry).identity())
        return self._describe_blob(reference)

    def _complete(self, desc: Descriptor) -> Descriptor:
        """An index entry without a media type takes the one its manifest declares."""
        if desc.media_type:
            return desc
        found = self._describe_blob(desc.digest)
        desc.media_type = found.media_type
        return desc

    def _describe_blob(self, digest: str) -> Descriptor:
        name = _blob_name(digest)
        size = self._size(name)
        if size is None:
            raise self._not_found(digest)
        if size <= descriptor.MAX_MANIFEST_SIZE:
            desc = self._read_manifest_blob(digest, size)
            if desc is not None:
                return desc
        return Descriptor(media_type=BLOB_MEDIA_TYPE, digest=digest, size=size)

    def _read_manifest_blob(
        self, digest: str, size: int, media_type: Optional[str] = None
    ) -> Optional[Descriptor]:
        """The blob as a manifest, verified; None when it is not one (or is corrupt)."""
        with self._open(_blob_name(digest)) as stream:
            data = stream.read(descriptor.MAX_MANIFEST_SIZE + 1)
        return layout_graph.verified_manifest(digest, data, media_type, size, self.path)

    def tag(self, desc: Descriptor, reference: str) -> None:
        """Point `reference` at `desc` in `index.json`: its entry is replaced (or added), every
        other entry and field is kept, and the file is replaced in one rename."""
        self._check_writable()
        if not isinstance(reference, str) or not reference or reference != reference.strip():
            raise ValueError(f"invalid tag {reference!r}: empty or with surrounding spaces")
        if reference == desc.digest:
            if not self.exists(desc):
                raise self._not_found(desc.digest)
            return  # a manifest resolves by its digest already
        if _is_content_digest(reference):
            raise ValueError(f"cannot tag {desc.digest} with the digest {reference}")
        if not self.exists(desc):
            raise NotFoundError(
                f"cannot tag {desc.digest}: not in OCI layout {os.fspath(self.path)}", status=404
            )
        self._index.tag(desc, reference)

    def tags(self, last: Optional[str] = None) -> Iterator[str]:
        """The tags of `index.json`, sorted, starting after `last`."""
        self._check_open()
        return self._index.tags(last)

    # -- graph -----------------------------------------------------------------------------------
    def predecessors(self, desc: Descriptor) -> list[Descriptor]:
        """The manifests of the layout that point at `desc` (subject, config, layers or an
        index entry). The first call reads every manifest blob of the layout once."""
        self._check_open()
        with self._lock:
            return self._graph().of(desc.digest)

    def walk(self, root: Descriptor) -> list[Descriptor]:
        """Everything `root` points at and `root` itself, each once, children before their
        parents (the order a copy pushes them); manifests are read and verified on the way."""
        self._check_open()
        return layout_graph.walk(self.fetch, root)

    def _graph(self) -> layout_graph.Predecessors:
        if self._predecessors is None:
            self._predecessors = layout_graph.Predecessors(self.path)
            # A manifest's media type as index.json's entries and the manifests pushed say.
            declared = self._index.declared_media_types()
            for digest, desc in self._pushed.items():
                declared[digest] = desc.media_type
            found = layout_graph.scan_manifests(
                self._json_blobs(), declared, self._pushed, self.path
            )
            for manifest, data in found:
                self._predecessors.add(manifest, data)
        return self._predecessors

    def _json_blobs(self) -> Iterator[tuple[str, bytes]]:
        """The digest and bytes of every blob that may be a manifest: JSON (by its first
        bytes) of at most `MAX_MANIFEST_SIZE` bytes."""
        for name in sorted(self._blob_names()):
            size = self._size(name)
            if size is None or size > descriptor.MAX_MANIFEST_SIZE:
                continue
            with self._open(name) as stream:
                data = stream.read(64)
                if not data.lstrip().startswith(b"{"):
                    continue  # not JSON: read no further
                data += stream.read(descriptor.MAX_MANIFEST_SIZE + 1 - len(data))
            digest = _name_digest(name)
            assert digest is not None
            yield digest, data

    def _add_manifest(self, desc: Descriptor) -> None:
        with self._lock:
            self._pushed[desc.digest] = desc
            if self._predecessors is None:
                return  # the first predecessors() call reads it from the layout
            if desc.size > descriptor.MAX_MANIFEST_SIZE:
                return
            with self._open(_blob_name(desc.digest)) as stream:
                data = stream.read(descriptor.MAX_MANIFEST_SIZE + 1)
            self._predecessors.add(desc, data)

    # -- deletion --------------------------------------------------------------------------------
    def delete(self, desc: Descriptor) -> None:
        """Remove the blob of `desc` and every `index.json` entry (tag) that names it."""
        self._check_writable()
        name = _blob_name(desc.digest)
        with self._lock:
            if self._size(name) is None:
                raise self._not_found(desc.digest)
            self._index.remove(desc.digest)
            self._remove_blob(name)
            self._pushed.pop(desc.digest, None)
            if self._predecessors is not None:
                self._predecessors.forget(desc.digest)

    # -- checks ----------------------------------------------------------------------------------
    def validate(self) -> None:
        """InvalidLayoutError unless the layout is well formed: `oci-layout` says version
        1.0.0, `index.json` is an image index (schemaVersion 2, the OCI index media type when
        set) of descriptors, and `blobs/` is there."""
        self._check_open()
        where = os.fspath(self.path)
        for name in (_LAYOUT_FILE, _INDEX_FILE):
            if self._size(name) is None:
                raise InvalidLayoutError(f"{where}: no {name} file: not an OCI image layout")
        _parse_layout_file(
            _read_limited(self._open(_LAYOUT_FILE), MAX_LAYOUT_FILE_SIZE, _LAYOUT_FILE), where
        )
        _validate_index(_read_limited(self._open(_INDEX_FILE), MAX_INDEX_SIZE, _INDEX_FILE), where)
        if not self._has_blobs_directory():
            raise InvalidLayoutError(f"{where}: no {_BLOBS}/ directory: not an OCI image layout")

    def _has_blobs_directory(self) -> bool:
        raise NotImplementedError

    def _load(self, where: str) -> None:
        """Read `oci-layout` (required) and `index.json` (an empty index when absent)."""
        try:
            raw = _read_limited(self._open(_LAYOUT_FILE), MAX_LAYOUT_FILE_SIZE, _LAYOUT_FILE)
        except FileNotFoundError:
            raise InvalidLayoutError(
                f"{where} is not an OCI image layout: it has no {_LAYOUT_FILE} file",
                hint="give the path of an OCI image layout, or a new or empty directory to "
                "create one in",
            ) from None
        _parse_layout_file(raw, where)
        try:
            raw = _read_limited(self._open(_INDEX_FILE), MAX_INDEX_SIZE, _INDEX_FILE)
        except FileNotFoundError:
            return
        self._index.load(raw, where)

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"{self!r} is closed")

    def _check_writable(self) -> None:
        self._check_open()
        if self.read_only:
            raise PermissionError(f"OCI layout {os.fspath(self.path)} is opened read-only")

    def _not_found(self, digest: str) -> NotFoundError:
        return NotFoundError(
            f"{digest}: not found in OCI layout {os.fspath(self.path)}", status=404
        )


class LayoutStore(BaseLayoutStore):
    """An OCI image layout directory. A missing directory is created on the first write (with
    `oci-layout`, `index.json` and `blobs/`); an existing directory must be a layout or empty."""

    def __init__(self, path: PathLike, read_only: bool = False) -> None:
        super().__init__(path, read_only)
        where = os.fspath(self.path)
        self._created = False
        if not self.path.exists():
            if read_only:
                raise NotFoundError(f"{where}: no such OCI layout", status=404)
            return
        if not self.path.is_dir():
            raise InvalidLayoutError(
                f"{where} is not a directory",
                hint="open a layout tar with open_layout() or LayoutTarStore",
            )
        if (self.path / _LAYOUT_FILE).exists() or read_only or any(self.path.iterdir()):
            self._load(where)

    def blob_path(self, digest: str) -> pathlib.Path:
        """`<layout>/blobs/<alg>/<encoded>` (InvalidDigestError for a malformed digest)."""
        return self.path / _blob_name(digest)

    def _open(self, name: str) -> BinaryIO:
        path = self.path / name
        try:
            return open(path, "rb")
        except (IsADirectoryError, NotADirectoryError):
            raise FileNotFoundError(path) from None

    def _size(self, name: str) -> Optional[int]:
        try:
            info = os.stat(self.path / name)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return info.st_size if stat.S_ISREG(info.st_mode) else None

    def _blob_names(self) -> set[str]:
        found: set[str] = set()
        blobs = self.path / _BLOBS
        if not blobs.is_dir():
            return found
        for algorithm in blobs.iterdir():
            if not algorithm.is_dir():
                continue
            for entry in algorithm.iterdir():
                name = f"{_BLOBS}/{algorithm.name}/{entry.name}"
                if _name_digest(name) is not None and entry.is_file():
                    found.add(name)
        return found

    def _has_blobs_directory(self) -> bool:
        return (self.path / _BLOBS).is_dir()

    def _ensure_layout(self) -> None:
        """Create what the layout lacks of `blobs/`, `oci-layout` and `index.json` on the
        first write."""
        with self._lock:
            if self._created:
                return
            (self.path / _BLOBS).mkdir(parents=True, exist_ok=True)
            if not (self.path / _LAYOUT_FILE).exists():
                layout = json.dumps({"imageLayoutVersion": _LAYOUT_VERSION}).encode()
                _write_atomically(self.path / _LAYOUT_FILE, layout)
            if not (self.path / _INDEX_FILE).exists():
                self._write_index()
            self._created = True

    def _blob_target(self, name: str) -> pathlib.Path:
        self._ensure_layout()
        return self.path / name

    def _remove_blob(self, name: str) -> None:
        (self.path / name).unlink(missing_ok=True)

    def _save_index(self) -> None:
        with self._lock:
            self._ensure_layout()
            self._write_index()

    def _write_index(self) -> None:
        _write_atomically(self.path / _INDEX_FILE, self._index.encode())


def open_layout(path: PathLike, mode: str = "r") -> BaseLayoutStore:
    """The OCI image layout at `path`: a tar when `path` is an existing file or, when it does
    not exist yet, ends in `.tar`; a directory otherwise. Mode "r" reads an existing layout;
    "w" also writes (creating the layout on the first write, keeping what is there). Close a
    written tar (or use `with`) to write it."""
    if mode not in ("r", "w"):
        raise ValueError(f"mode must be 'r' or 'w', not {mode!r}")
    from oras.content.layout_tar import LayoutTarStore

    location = pathlib.Path(path)
    if location.is_file() or (not location.exists() and location.suffix.lower() == ".tar"):
        return LayoutTarStore(location, mode)
    return LayoutStore(location, read_only=mode == "r")
