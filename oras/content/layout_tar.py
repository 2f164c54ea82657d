"""The OCI image layout store kept in an uncompressed `.tar` (`LayoutTarStore`): read in
place by member offset, written by staging a directory beside the tar and replacing the tar
whole on close. The layout logic itself is `oras.content.layout.BaseLayoutStore`'s."""

from __future__ import annotations

import io
import json
import logging
import os
import pathlib
import posixpath
import shutil
import tarfile
import tempfile
import weakref
from typing import Any, BinaryIO, Optional

from oras.content.layout import (
    _BLOBS,
    _LAYOUT_FILE,
    _LAYOUT_VERSION,
    BaseLayoutStore,
    PathLike,
    _name_digest,
)
from oras.content.layout_index import _INDEX_FILE, _TEMP_PREFIX, _temp_file
from oras.content.reader import COPY_CHUNK
from oras.errors import (
    InvalidLayoutError,
    NotFoundError,
)

__all__ = ["LayoutTarStore", "MAX_TAR_MEMBERS"]

log = logging.getLogger(__name__)

#: Most entries read from a layout tar.
MAX_TAR_MEMBERS = 1_000_000


class _TarMember(io.RawIOBase):
    """One member of an uncompressed tar, read in place (its own file handle, seekable)."""

    def __init__(self, path: pathlib.Path, offset: int, size: int) -> None:
        super().__init__()
        self._file = open(path, "rb", buffering=0)
        self._start = offset
        self._size = size
        self._position = 0
        self._file.seek(offset)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._size - self._position
        if remaining <= 0:
            return 0
        view = memoryview(buffer).cast("B")[:remaining]
        n = self._file.readinto(view) or 0
        if not n and len(view):
            raise InvalidLayoutError(f"{self._file.name} is truncated")
        self._position += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        self._file.seek(self._start + min(self._position, self._size))
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        try:
            self._file.close()
        finally:
            super().close()


def _tar_members(path: pathlib.Path) -> tuple[dict[str, tuple[int, int]], set[str]]:
    """name -> (data offset, size) of the regular files of an uncompressed tar, and the names
    of its directories. Names are normalised (`./blobs/x` is `blobs/x`); a hard link reads as
    the file it links to; anything else (symbolic links, devices, names leaving the tar's
    root) is left out."""
    members: dict[str, tuple[int, int]] = {}
    directories: set[str] = set()
    try:
        with tarfile.open(path, "r:") as tar:
            for count, member in enumerate(tar, start=1):
                if count > MAX_TAR_MEMBERS:
                    raise InvalidLayoutError(
                        f"{os.fspath(path)} has more than {MAX_TAR_MEMBERS} entries"
                    )
                name = _tar_name(member.name)
                if name is None:
                    continue
                if member.isreg() and not member.issparse():
                    members[name] = (member.offset_data, member.size)
                elif member.isdir():
                    directories.add(name)
                elif member.islnk():
                    target = _tar_name(member.linkname)
                    if target is not None and target in members:
                        members[name] = members[target]
    except tarfile.TarError as e:
        raise InvalidLayoutError(
            f"{os.fspath(path)} is not an uncompressed tar: {e}",
            hint="a layout tar is read as it is: decompress it first",
        ) from None
    return members, directories


def _tar_name(name: str) -> Optional[str]:
    normalised = posixpath.normpath(name.lstrip("/"))
    if normalised in (".", "") or normalised.startswith(".."):
        return None
    return normalised


class LayoutTarStore(BaseLayoutStore):
    """An OCI image layout in an uncompressed tar. Blobs are read in place, by member offset.

    Mode "r" reads an existing tar. Mode "w" also writes: a new tar, or one that starts with
    the content of the existing tar. What is written is staged in a temporary directory beside
    the tar, and `close()` (or leaving a `with` block) writes the whole tar to a temporary
    file there and renames it into place; leaving the `with` block on an exception, `abort()`,
    or a failure while the tar is written keeps the old tar (or none) and removes every
    temporary file. The stage needs disk space for what is written, and the new tar for all
    of it."""

    def __init__(self, path: PathLike, mode: str = "r") -> None:
        if mode not in ("r", "w"):
            raise ValueError(f"mode must be 'r' or 'w', not {mode!r}")
        super().__init__(path, read_only=mode == "r")
        where = os.fspath(self.path)
        self._members: dict[str, tuple[int, int]] = {}
        self._directories: set[str] = set()
        self._stage: Optional[pathlib.Path] = None
        self._cleanup: Optional[weakref.finalize] = None
        self._deleted: set[str] = set()
        self._dirty = False
        if self.path.is_dir():
            raise InvalidLayoutError(f"{where} is a directory, not a tar")
        if not self.path.exists():
            if self.read_only:
                raise NotFoundError(f"{where}: no such OCI layout tar", status=404)
            return
        self._members, self._directories = _tar_members(self.path)
        self._load(where)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def close(self) -> None:
        """Write the tar (when anything changed) and remove the staging directory."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._dirty:
                self._write_tar()
        finally:
            self._discard_stage()

    def abort(self) -> None:
        """Drop everything written since the store was opened; the tar stays as it was."""
        self._closed = True
        self._discard_stage()

    # -- reading ---------------------------------------------------------------------------------
    def _staged(self, name: str) -> Optional[pathlib.Path]:
        if self._stage is None:
            return None
        path = self._stage / name
        return path if path.is_file() else None

    def _open(self, name: str) -> BinaryIO:
        if name in self._deleted:
            raise FileNotFoundError(name)
        staged = self._staged(name)
        if staged is not None:
            return open(staged, "rb")
        found = self._members.get(name)
        if found is None:
            raise FileNotFoundError(name)
        return io.BufferedReader(_TarMember(self.path, *found))  # type: ignore[return-value]

    def _size(self, name: str) -> Optional[int]:
        if name in self._deleted:
            return None
        staged = self._staged(name)
        if staged is not None:
            return staged.stat().st_size
        found = self._members.get(name)
        return None if found is None else found[1]

    def _blob_names(self) -> set[str]:
        names = {n for n in self._members if _name_digest(n) is not None}
        if self._stage is not None:
            for algorithm in (self._stage / _BLOBS).iterdir():
                for entry in algorithm.iterdir():
                    name = f"{_BLOBS}/{algorithm.name}/{entry.name}"
                    if _name_digest(name) is not None:
                        names.add(name)
        return names - self._deleted

    def _has_blobs_directory(self) -> bool:
        # Tar writers differ on directory entries: a file below `blobs/` implies the directory.
        return (
            _BLOBS in self._directories
            or self._stage is not None
            or any(n.startswith(f"{_BLOBS}/") for n in self._members)
        )

    # -- writing ---------------------------------------------------------------------------------
    def _ensure_stage(self) -> pathlib.Path:
        with self._lock:
            if self._stage is None:
                parent = self.path.parent
                parent.mkdir(parents=True, exist_ok=True)
                stage = pathlib.Path(
                    tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{self.path.name}-", dir=parent)
                )
                (stage / _BLOBS).mkdir()
                self._cleanup = weakref.finalize(self, shutil.rmtree, stage, True)
                self._stage = stage
            return self._stage

    def _discard_stage(self) -> None:
        if self._cleanup is not None:
            self._cleanup()  # removes the stage (once)

    def _blob_target(self, name: str) -> pathlib.Path:
        return self._ensure_stage() / name

    def _blob_written(self, name: str) -> None:
        with self._lock:
            self._deleted.discard(name)
            self._dirty = True

    def _remove_blob(self, name: str) -> None:
        staged = self._staged(name)
        if staged is not None:
            staged.unlink()
        self._deleted.add(name)
        self._dirty = True

    def _save_index(self) -> None:
        self._dirty = True  # index.json is written into the tar by close()

    def _write_tar(self) -> None:
        parent = self.path.parent
        parent.mkdir(parents=True, exist_ok=True)
        temp, fd = _temp_file(parent, self.path.name)
        try:
            with os.fdopen(fd, "wb") as out:
                with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
                    tar.copybufsize = COPY_CHUNK
                    layout = json.dumps({"imageLayoutVersion": _LAYOUT_VERSION}).encode()
                    _add_bytes(tar, _LAYOUT_FILE, layout)
                    index = self._index.encode()
                    _add_bytes(tar, _INDEX_FILE, index)
                    names = sorted(self._blob_names())
                    _add_directory(tar, _BLOBS)
                    for algorithm in sorted({n.split("/")[1] for n in names}):
                        _add_directory(tar, f"{_BLOBS}/{algorithm}")
                    for name in names:
                        size = self._size(name)
                        assert size is not None
                        with self._open(name) as stream:
                            tar.addfile(_tar_info(name, size), stream)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        log.debug("wrote OCI layout tar %s", self.path)


def _tar_info(name: str, size: int, directory: bool = False) -> tarfile.TarInfo:
    """A reproducible header: no owner, no time."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if directory:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.mode = 0o644
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    tar.addfile(_tar_info(name, len(data)), io.BytesIO(data))


def _add_directory(tar: tarfile.TarFile, name: str) -> None:
    tar.addfile(_tar_info(name, 0, directory=True))
