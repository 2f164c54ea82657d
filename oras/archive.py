"""Directory archives: reproducible streamed tar+gzip packing, and extraction that stays inside."""

from __future__ import annotations

import errno
import gzip
import logging
import os
import shutil
import stat
import tarfile
import tempfile
import unicodedata
import zlib
from dataclasses import dataclass
from typing import IO, Any, Optional

from oras import scratch
from oras.concurrency import check_interrupted
from oras.content.reader import copy_stream
from oras.digest import Hasher
from oras.errors import (
    ArchiveError,
    DigestMismatchError,
    OutputConflictError,
    PathTraversalError,
)

logger = logging.getLogger(__name__)

# zlib's default level, as Go's gzip writer uses: much faster than 9 for a few percent of size.
GZIP_LEVEL = 6
_COPY_SIZE = 256 * 1024
_EXTRACT_PREFIX = ".oras-extract-"

# Limits on what one archive may unpack to. Read when an extraction starts: a program that
# needs more sets them (`oras.archive.MAX_EXTRACT_RATIO = 2000`). Exceeding one stops the
# extraction with ArchiveError before the member over it is written, and nothing is left.

#: Most bytes one archive may unpack to: the sum of its regular files' sizes (1 TiB: above
#: the largest layers registries accept, model weights and datasets included).
MAX_EXTRACT_SIZE = 1024**4
#: Most members (files, directories, links) one archive may hold.
MAX_EXTRACT_MEMBERS = 1_000_000
#: Most bytes unpacked per byte of the compressed archive, beyond the first
#: EXTRACT_RATIO_ALLOWANCE bytes: gzip reaches about 1000 on zeros, real data rarely 50.
MAX_EXTRACT_RATIO = 200
#: Bytes an archive may unpack to whatever its compression ratio (64 MiB).
EXTRACT_RATIO_ALLOWANCE = 64 * 1024 * 1024
#: Most path components in a member's name: deeper trees are refused (Python's own tree
#: functions, removal and creation of directories, recurse once per level).
MAX_EXTRACT_DEPTH = 256
#: Largest extended header (PAX records, a GNU long name or link name) a member may carry
#: (1 MiB): tarfile reads each one whole into memory.
MAX_EXTRACT_HEADER_SIZE = 1024 * 1024


class _RefusedHeader(Exception):
    """A member header refused before tarfile reads what it announces."""

    def __init__(self, reason: str, hint: Optional[str] = None) -> None:
        super().__init__(reason)
        self.hint = hint


_EXTENDED_HEADERS = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


class _BoundedTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses, before reading it, an extended header larger than
    MAX_EXTRACT_HEADER_SIZE, and sparse members, whose maps tarfile also reads whole (oras
    never writes them; Go oras skips the GNU ones)."""

    def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _EXTENDED_HEADERS and self.size > MAX_EXTRACT_HEADER_SIZE:
            raise _RefusedHeader(
                f"an extended header of {self.size} bytes, more than {MAX_EXTRACT_HEADER_SIZE}",
                hint="if the artifact is trusted, raise oras.archive.MAX_EXTRACT_HEADER_SIZE",
            )
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise _RefusedHeader("a sparse member, which is not supported")
        return super()._proc_member(tar)  # type: ignore[misc]

    def _proc_gnusparse_10(self, next: Any, pax_headers: Any, tar: tarfile.TarFile) -> None:
        raise _RefusedHeader("a sparse member, which is not supported")


@dataclass(frozen=True)
class TarballInfo:
    """A packed directory: .tar.gz path, its digest and size, and the uncompressed tar's digest."""

    path: str
    digest: str
    size: int
    tar_digest: str


class _HashingWriter:
    """Passes writes through to `target` while hashing them."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self.hasher = Hasher()

    def write(self, data: Any) -> int:
        check_interrupted()  # packing a large directory stops with the push
        self.hasher.update(data)
        self._target.write(data)
        return memoryview(data).nbytes

    def flush(self) -> None:
        self._target.flush()


class _HashingReader:
    """Passes reads through from `source` while hashing them."""

    def __init__(self, source: IO[bytes], hasher: Hasher) -> None:
        self._source = source
        self.hasher = hasher

    def read(self, size: int = -1) -> bytes:
        check_interrupted()
        data = self._source.read(size)
        self.hasher.update(data)
        return data

    def drain(self) -> None:
        while self.read(_COPY_SIZE):
            pass


def _is_within(root: str, path: str) -> bool:
    """Whether the resolved `path` is `root` or below it (both already resolved)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _is_absolute(name: str) -> bool:
    return name.startswith(("/", "\\")) or os.path.isabs(name) or (len(name) > 1 and name[1] == ":")


def _escapes(normalised: str) -> bool:
    return normalised == os.pardir or normalised.startswith(os.pardir + os.sep)


def safe_join(base: str, name: str) -> str:
    """The resolved absolute path of `name` under `base`; PathTraversalError if it leaves `base`."""
    if not name or _is_absolute(name):
        raise PathTraversalError(f"refusing path {name!r}: not a relative name inside {base}")
    root = os.path.realpath(base)
    target = os.path.realpath(os.path.join(root, name))
    if target == root or not _is_within(root, target):
        raise PathTraversalError(f"refusing path {name!r}: it resolves outside {base}")
    return target


def check_links_inside(directory: str) -> None:
    """Refuse a directory holding a symbolic link that `pull` would refuse to recreate: one
    whose target is absolute or resolves outside the directory (PathTraversalError).

    Such links are not followed (the target's content may be anything on this machine) nor
    stored as they are (the artifact could not be pulled); the push stops before it starts.
    """
    root = os.path.realpath(directory)
    pending = [root]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_symlink():
                    _check_link(root, entry.path, directory)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)


def _check_link(root: str, path: str, directory: str) -> None:
    target = os.readlink(path)
    if _is_absolute(target):
        reason = "its target is an absolute path"
    elif not _is_within(root, os.path.realpath(path)):
        reason = f"it leads outside {directory}"
    else:
        return
    shown = os.path.join(directory, os.path.relpath(path, root))
    raise PathTraversalError(
        f"refusing to push symbolic link {shown} -> {target}: {reason}",
        hint="a link in a pushed directory must be relative and stay inside it; "
        "replace it with a copy of its target, or push the target as well",
    )


def make_targz(source_dir: str, dest_path: str) -> TarballInfo:
    """Pack `source_dir` into a reproducible tar+gzip at `dest_path`, streaming both digests.

    The archive has one root entry named after the directory; entries are sorted, every
    mtime is 0, ownership is kept as on disk, and the gzip header has no name or time.
    Symbolic links are stored as links. A regular file is packed the same way, as the
    archive's only entry (oras-py's `make_targz` takes either).
    """
    source = os.path.normpath(os.path.abspath(source_dir))
    root_name = os.path.basename(source)
    if not os.path.exists(source):
        raise FileNotFoundError(f"{source_dir} does not exist.")
    if not (os.path.isdir(source) or os.path.isfile(source)) or not root_name:
        raise ValueError(
            f"{source_dir} is neither a directory nor a regular file: it cannot be archived."
        )

    # A symlink given as the source is packed as what it points to.
    walk_root = os.path.realpath(source)
    dest = os.path.abspath(dest_path)
    if os.path.exists(dest) and os.path.samefile(walk_root, dest):
        raise ValueError(f"refusing to write the archive of {source_dir} over itself")
    # The archive must not swallow itself when it is written inside the directory it packs.
    excluded: Optional[str] = None
    dest_resolved = os.path.join(os.path.realpath(os.path.dirname(dest)), os.path.basename(dest))
    if _is_within(walk_root, dest_resolved):
        relative = os.path.relpath(dest_resolved, walk_root)
        excluded = "/".join([root_name, *relative.split(os.sep)])

    def normalise(member: tarfile.TarInfo) -> Optional[tarfile.TarInfo]:
        if member.name == excluded:
            return None
        member.mtime = 0
        return member

    parent = os.path.dirname(dest)
    if parent:
        os.makedirs(parent, exist_ok=True)
    raw = open(dest, "wb")
    try:
        with raw:
            compressed = _HashingWriter(raw)
            with gzip.GzipFile(
                filename="", mode="wb", fileobj=compressed, compresslevel=GZIP_LEVEL, mtime=0
            ) as gz:
                uncompressed = _HashingWriter(gz)
                with tarfile.open(
                    fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT
                ) as tar:
                    tar.add(walk_root, arcname=root_name, recursive=True, filter=normalise)
    except BaseException:
        os.unlink(dest)  # a partial archive is worse than none
        scratch.untrack(dest)
        raise
    return TarballInfo(
        path=dest,
        digest=compressed.hasher.digest(),
        size=compressed.hasher.size,
        tar_digest=uncompressed.hasher.digest(),
    )


class _Budget:
    """What an archive may still unpack to (the limits above, read when it starts)."""

    def __init__(self, archive: str, compressed_size: int) -> None:
        self.archive = archive
        self.members = 0
        self.size = 0
        self.max_members = MAX_EXTRACT_MEMBERS
        self.max_depth = MAX_EXTRACT_DEPTH
        ratio_bound = max(MAX_EXTRACT_RATIO * compressed_size, EXTRACT_RATIO_ALLOWANCE)
        self.max_size = min(MAX_EXTRACT_SIZE, ratio_bound)
        self.ratio_bound = ratio_bound < MAX_EXTRACT_SIZE

    def take_member(self, member: tarfile.TarInfo, shown: str) -> None:
        """Count `member` (and the bytes its header declares) against the limits."""
        self.members += 1
        if self.members > self.max_members:
            raise ArchiveError(
                f"cannot unpack {self.archive}: it holds more than {self.max_members} members",
                hint="if the artifact is trusted, raise oras.archive.MAX_EXTRACT_MEMBERS",
            )
        depth = len(os.path.normpath(member.name).split(os.sep))
        if depth > self.max_depth:
            raise ArchiveError(
                f"cannot unpack {self.archive}: member {shown!r} is {depth} directories deep, "
                f"more than {self.max_depth}",
                hint="if the artifact is trusted, raise oras.archive.MAX_EXTRACT_DEPTH",
            )
        if member.isreg():
            self.size += member.size
            if self.size > self.max_size:
                raise self._too_large()

    def _too_large(self) -> ArchiveError:
        if self.ratio_bound:
            return ArchiveError(
                f"cannot unpack {self.archive}: it unpacks to more than {self.max_size} bytes, "
                f"over {MAX_EXTRACT_RATIO} times its compressed size (a decompression bomb?)",
                hint="if the artifact is trusted, raise oras.archive.MAX_EXTRACT_RATIO",
            )
        return ArchiveError(
            f"cannot unpack {self.archive}: it unpacks to more than {self.max_size} bytes",
            hint="if the artifact is trusted, raise oras.archive.MAX_EXTRACT_SIZE",
        )


def _refuse(archive: str, name: str, reason: str) -> PathTraversalError:
    return PathTraversalError(f"refusing to extract {name!r} from {archive}: {reason}")


def _clear(path: str, keep_directory: bool) -> None:
    """Remove whatever sits at `path` so a member can be created there without following links."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        if not keep_directory:
            shutil.rmtree(path)
    else:
        os.unlink(path)


def _file_mode(mode: int) -> int:
    # Like tarfile's "data" filter: no setuid/setgid/sticky, no group/other write, owner rw.
    return (mode & 0o755) | 0o600


def _dir_mode(mode: int) -> int:
    return (mode & 0o755) | 0o700


def _extract_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, root: str, archive: str
) -> Optional[str]:
    """Check one member against `root` (resolved) and create it; return its normalised name."""
    name = member.name
    if _is_absolute(name):
        raise _refuse(archive, name, "absolute path")
    normalised = os.path.normpath(name)
    if _escapes(normalised):
        raise _refuse(archive, name, "path escapes the output directory")
    if member.ischr() or member.isblk() or member.isfifo():
        raise _refuse(archive, name, "device files and fifos are not allowed")
    if normalised == os.curdir:
        if member.isdir():
            return None  # the output directory itself: nothing to create
        raise _refuse(archive, name, "only a directory may name the output directory itself")

    target = os.path.join(root, normalised)
    parent = os.path.realpath(os.path.dirname(target))
    if not _is_within(root, parent):
        raise _refuse(archive, name, "path resolves outside the output directory")
    target = os.path.join(parent, os.path.basename(target))
    os.makedirs(parent, exist_ok=True)

    if member.issym():
        link = member.linkname
        if not link or _is_absolute(link):
            raise _refuse(archive, name, f"symbolic link to absolute path {link!r}")
        if not _is_within(root, os.path.realpath(os.path.join(parent, link))):
            raise _refuse(archive, name, f"symbolic link target {link!r} is outside the output")
        _clear(target, keep_directory=False)
        os.symlink(link, target)
    elif member.islnk():
        link = member.linkname
        if not link or _is_absolute(link) or _escapes(os.path.normpath(link)):
            raise _refuse(archive, name, f"hard link target {link!r} is outside the output")
        source = os.path.realpath(os.path.join(root, os.path.normpath(link)))
        if not _is_within(root, source):
            raise _refuse(archive, name, f"hard link target {link!r} is outside the output")
        if not os.path.isfile(source):
            raise ArchiveError(
                f"cannot unpack {archive}: hard link {name!r} to {link!r}, which is not a file "
                "earlier in the archive"
            )
        _clear(target, keep_directory=False)
        os.link(source, target)
    elif member.isdir():
        _clear(target, keep_directory=True)
        os.makedirs(target, mode=0o700, exist_ok=True)
    elif member.isreg():
        _clear(target, keep_directory=False)
        data = tar.extractfile(member)
        assert data is not None  # regular members always have data
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        with os.fdopen(os.open(target, flags, 0o600), "wb") as out:
            copy_stream(data, out, _COPY_SIZE)
        os.chmod(target, _file_mode(member.mode))
        os.utime(target, (member.mtime, member.mtime))
    else:
        logger.warning(
            "Skipping %r in %s: unsupported tar member type %r", name, archive, member.type
        )
        return None
    return normalised


def _has_control(name: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in name)


#: What creating a member raises when the archive itself is at fault (a file where a later
#: member needs a directory, a name too long, a loop of links), not the disk or permissions.
_MEMBER_ERRNOS = frozenset(
    {errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EINVAL}
)


def _extract_member_or_refuse(
    tar: tarfile.TarFile, member: tarfile.TarInfo, root: str, archive: str, budget: _Budget
) -> Optional[str]:
    """`_extract_member`, with the member's own impossibilities (a NUL or another control
    character in its name, a file in the way of a directory, a name too long) and the limits
    it would exceed as ArchiveError naming it."""
    shown = member.name if len(member.name) <= 200 else member.name[:200] + "..."
    if "\x00" in member.name or "\x00" in member.linkname:
        raise ArchiveError(f"cannot unpack {archive}: member {shown!r} holds a NUL byte")
    if _has_control(member.name) or _has_control(member.linkname):
        # As for layer titles: a newline or an escape sequence in a file name forges lines
        # or rewrites the terminal wherever the name is shown later.
        raise ArchiveError(
            f"cannot unpack {archive}: member {shown!r} holds control characters in its "
            "name or link target"
        )
    budget.take_member(member, shown)
    try:
        return _extract_member(tar, member, root, archive)
    except OSError as e:
        if e.errno not in _MEMBER_ERRNOS:
            raise
        raise ArchiveError(
            f"cannot unpack {archive}: cannot create member {shown!r}: {e.strerror}"
        ) from None


def _check_final_links(root: str, archive: str) -> None:
    """Re-check every symlink in the finished tree: later members can change where one leads."""
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in dirnames + filenames:
            path = os.path.join(dirpath, entry)
            if os.path.islink(path) and not _is_within(root, os.path.realpath(path)):
                name = os.path.relpath(path, root)
                raise _refuse(archive, name, "symbolic link resolves outside the output directory")


def _move(source: str, dest: str) -> None:
    try:
        os.replace(source, dest)
    except OSError:
        shutil.move(source, dest)


def _check_merge(source_dir: str, dest_dir: str) -> None:
    """Refuse (OutputConflictError) a merge that would replace an existing directory by a
    file, or an existing file (or symbolic link) by a directory; checked before anything moves."""
    for entry in sorted(os.listdir(source_dir)):
        source = os.path.join(source_dir, entry)
        dest = os.path.join(dest_dir, entry)
        try:
            dest_mode = os.lstat(dest).st_mode
        except FileNotFoundError:
            continue
        source_is_dir = stat.S_ISDIR(os.lstat(source).st_mode)
        dest_is_dir = stat.S_ISDIR(dest_mode)
        if source_is_dir and dest_is_dir:
            _check_merge(source, dest)
        elif source_is_dir or dest_is_dir:
            what = "a directory" if source_is_dir else "a file"
            existing = "directory" if dest_is_dir else "file"
            if stat.S_ISLNK(dest_mode):
                existing = "symbolic link"
            raise OutputConflictError(
                f"refusing to replace the {existing} {dest} by {what} from the archive",
                hint="move it away, or pull into another directory",
            )


def _merge(source_dir: str, dest_dir: str) -> None:
    """Move the extracted tree into place, merging into directories that already exist
    (`_check_merge` has made sure that no file replaces a directory or the reverse)."""
    for entry in sorted(os.listdir(source_dir)):
        source = os.path.join(source_dir, entry)
        dest = os.path.join(dest_dir, entry)
        source_is_dir = stat.S_ISDIR(os.lstat(source).st_mode)
        try:
            dest_mode: Optional[int] = os.lstat(dest).st_mode
        except FileNotFoundError:
            dest_mode = None
        if dest_mode is not None and stat.S_ISDIR(dest_mode) and source_is_dir:
            _merge(source, dest)
            continue
        if dest_mode is not None:
            _clear(dest, keep_directory=False)
        _move(source, dest)


#: What reading a file that is not gzip, or not a tar inside, or cut short, raises.
_UNREADABLE = (
    gzip.BadGzipFile,
    EOFError,
    zlib.error,
    tarfile.ReadError,
    tarfile.CompressionError,
    tarfile.StreamError,
)


def _reason(error: BaseException) -> str:
    if isinstance(error, EOFError):
        return "it ends early"
    return str(error) or type(error).__name__


def safe_extract_targz(
    path: str,
    outdir: str,
    expected_tar_digest: Optional[str] = None,
    label: Optional[str] = None,
) -> list[str]:
    """Extract a tar+gzip into `outdir`, refusing members that would land outside it.

    Absolute names, `..` escapes, links resolving outside `outdir`, devices and fifos raise
    PathTraversalError; a member that would replace an existing directory by a file, or an
    existing file by a directory, raises OutputConflictError; a file that is not gzip, or not
    a tar inside, raises ArchiveError, as does one over the limits above (MAX_EXTRACT_SIZE,
    MAX_EXTRACT_RATIO, MAX_EXTRACT_MEMBERS, MAX_EXTRACT_DEPTH, MAX_EXTRACT_HEADER_SIZE), a
    sparse member, or a member whose name holds a control character or is too long for the
    file system. Setuid, setgid and sticky bits and group and other write permission are
    dropped. With `expected_tar_digest`, the uncompressed tar stream must match or
    DigestMismatchError is raised. Members are extracted into a temporary directory inside
    `outdir` and moved into place only when everything checked out, so a refused archive
    leaves nothing behind. Returns the extracted paths (under the resolved
    `outdir`) in archive order. Messages name the archive `label` (a layer, say) when given,
    else its path.
    """
    name = label or path
    hasher = Hasher.for_digest(expected_tar_digest) if expected_tar_digest else Hasher()
    created_outdir = not os.path.exists(outdir)
    os.makedirs(outdir, exist_ok=True)
    final_root = os.path.realpath(outdir)
    staging = scratch.track(tempfile.mkdtemp(prefix=_EXTRACT_PREFIX, dir=final_root))
    root = os.path.realpath(staging)
    names: dict[str, None] = {}  # ordered and de-duplicated
    directories: list[tarfile.TarInfo] = []
    budget = _Budget(name, os.path.getsize(path))
    try:
        try:
            with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                reader = _HashingReader(gz, hasher)
                with tarfile.open(fileobj=reader, mode="r|", tarinfo=_BoundedTarInfo) as tar:
                    while (member := tar.next()) is not None:
                        # A stream keeps every member read; a million of them is memory.
                        tar.members.clear()
                        if member.sparse is not None:
                            raise _RefusedHeader("a sparse member, which is not supported")
                        normalised = _extract_member_or_refuse(tar, member, root, name, budget)
                        if normalised is None:
                            continue
                        names[normalised] = None
                        if member.isdir():
                            directories.append(member)
                reader.drain()
        except _UNREADABLE as e:
            raise ArchiveError(
                f"cannot unpack {name}: it is not a tar+gzip archive ({_reason(e)})"
            ) from None
        except _RefusedHeader as e:
            raise ArchiveError(f"cannot unpack {name}: it holds {e}", hint=e.hint) from None
        if expected_tar_digest:
            actual = hasher.digest()
            if actual != expected_tar_digest:
                raise DigestMismatchError(
                    f"{name}: uncompressed tar digest {actual} does not match "
                    f"expected {expected_tar_digest}"
                )
        _check_final_links(root, name)
        _check_merge(root, final_root)
        _merge(root, final_root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        scratch.untrack(staging)
        if created_outdir:
            try:
                os.rmdir(final_root)
            except OSError:
                pass
        raise
    shutil.rmtree(staging, ignore_errors=True)
    scratch.untrack(staging)

    # Directory modes and times last, so read-only directories did not block their contents.
    for member in sorted(directories, key=lambda m: m.name, reverse=True):
        dest = os.path.join(final_root, os.path.normpath(member.name))
        if (
            os.path.isdir(dest)
            and not os.path.islink(dest)
            and _is_within(final_root, os.path.realpath(dest))
        ):
            os.chmod(dest, _dir_mode(member.mode))
            os.utime(dest, (member.mtime, member.mtime))
    return [os.path.join(final_root, name) for name in names]
