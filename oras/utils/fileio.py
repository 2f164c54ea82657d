"""oras-py's file helpers: temporary paths, atomic writes, JSON, hashes, tarballs, path checks."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import shutil
import stat
import sys
import tempfile
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, AnyStr, Iterable, Iterator, Optional, Union

from oras.digest import digest_file
from oras.errors import InvalidDigestError, PathTraversalError
from oras.filenames import check_path

if TYPE_CHECKING:
    import tarfile

    from oras.pack import PathAndOptionalContent as PathAndOptionalContent
    from oras.pack import split_path_and_content as split_path_and_content

PathLike = Union[str, "os.PathLike[str]"]

#: oras-py's names that live with the packing (pushing needs them too): the objects of
#: `oras.pack`, imported on first use (PEP 562), so that importing oras.utils does not import it.
FROM_PACK = frozenset({"PathAndOptionalContent", "split_path_and_content"})


def __getattr__(name: str) -> Any:
    if name in FROM_PACK:
        import oras.pack

        return getattr(oras.pack, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | FROM_PACK)


def reset(tarinfo: tarfile.TarInfo) -> tarfile.TarInfo:
    """Tar filter that zeroes the modification time (owners and names are kept)."""
    tarinfo.mtime = 0
    return tarinfo


def make_targz(source_dir: PathLike, dest_name: Optional[PathLike] = None) -> str:
    """Write a reproducible tar+gzip of a directory (to a new temporary file by default)."""
    dest = os.fspath(dest_name) if dest_name else get_tmpfile(suffix=".tar.gz")
    from oras import archive  # imported on use: tarfile and gzip cost start-up time

    return archive.make_targz(os.fspath(source_dir), dest).path


def extract_targz(targz: PathLike, outdir: PathLike, numeric_owner: bool = False) -> list[str]:
    """Extract a tar+gzip into `outdir`, refusing members that would land outside it.

    `numeric_owner` is accepted for oras-py compatibility; ownership is never restored.
    """
    from oras import archive  # imported on use: tarfile and gzip cost start-up time

    return archive.safe_extract_targz(os.fspath(targz), os.fspath(outdir))


def is_within_directory(directory: PathLike, target: PathLike) -> bool:
    """True when `target` resolves to `directory` or somewhere below it (symlinks followed)."""
    base = os.path.realpath(directory)
    path = os.path.realpath(target)
    try:
        return os.path.commonpath([base, path]) == base
    except ValueError:  # different drives on Windows
        return False


def sanitize_path(expected_dir: PathLike, path: PathLike) -> str:
    """Return `path` resolved, or raise PathTraversalError if it is not inside `expected_dir`."""
    check_path(expected_dir, "directory")
    check_path(path)
    base_dir = pathlib.Path(expected_dir).expanduser().resolve()
    resolved = pathlib.Path(path).expanduser().resolve()
    if resolved != base_dir and base_dir not in resolved.parents:
        raise PathTraversalError(f"Filename {resolved} is not in {base_dir} directory")
    return str(resolved)


@contextmanager
def workdir(dirname: PathLike) -> Iterator[None]:
    """Run the block with `dirname` as the current directory, restoring it afterwards."""
    here = os.getcwd()
    os.chdir(dirname)
    try:
        yield
    finally:
        os.chdir(here)


def readline() -> str:
    """The first line of standard input, stripped."""
    return sys.stdin.readline().strip()


def get_size(path: PathLike) -> int:
    """Size in bytes of the file at `path`."""
    return os.stat(path).st_size


def get_file_hash(path: PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, without the `algorithm:` prefix."""
    try:
        digest, _ = digest_file(os.fspath(path), algorithm)
    except InvalidDigestError:
        # oras-py accepted any hashlib algorithm (md5, sha1, ...); OCI digests only need a few.
        if algorithm not in hashlib.algorithms_available:
            raise
        hasher = hashlib.new(algorithm)
        with open(path, "rb") as handle:
            for chunk in read_in_chunks(handle, 1024 * 1024):
                hasher.update(chunk)
        return hasher.hexdigest()
    return digest.split(":", 1)[-1]


def mkdir_p(path: PathLike) -> None:
    """Create a directory and its parents if missing; ValueError if that is impossible."""
    check_path(path, "directory")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"Error creating path {os.fspath(path)}: {exc}") from exc


def get_tmpdir(tmpdir: Optional[PathLike] = None, prefix: str = "", create: bool = True) -> str:
    """A fresh `<tmpdir>/<prefix or oras-tmp>.<random>` directory (only named if not `create`)."""
    parent = os.fspath(tmpdir) if tmpdir else tempfile.gettempdir()
    prefix = f"{os.path.basename(prefix) or 'oras-tmp'}."
    if create:
        return tempfile.mkdtemp(prefix=prefix, dir=parent)
    return os.path.join(parent, prefix + os.urandom(4).hex())


def get_tmpfile(tmpdir: Optional[PathLike] = None, prefix: str = "", suffix: str = "") -> str:
    """Create an empty temporary file (in `tmpdir` or the system temp dir) and return its path."""
    parent = os.fspath(tmpdir) if tmpdir else tempfile.gettempdir()
    fd, path = tempfile.mkstemp(
        prefix=os.path.basename(prefix) or "oras-tmp.", suffix=suffix, dir=parent
    )
    os.close(fd)
    return path


def recursive_find(base: PathLike, pattern: Optional[str] = None) -> Iterator[str]:
    """Yield the absolute path of every file under `base` whose path matches regex `pattern`."""
    for root, dirs, files in os.walk(base):
        dirs.sort()
        for name in sorted(files):
            fullpath = os.path.abspath(os.path.join(root, name))
            if pattern and not re.search(pattern, fullpath):
                continue
            yield fullpath


def copyfile(source: PathLike, destination: PathLike, force: bool = True) -> str:
    """Copy a file's bytes; with `force`, an existing destination is removed first."""
    if force and os.path.lexists(destination) and not os.path.isdir(destination):
        os.remove(destination)
    shutil.copyfile(source, destination)
    return os.fspath(destination)


def write_file(
    filename: PathLike,
    content: Union[str, bytes, Iterable[str], Iterable[bytes]],
    mode: str = "w",
    make_exec: bool = False,
) -> str:
    """Write `content` (a string or lines) to `filename` atomically; returns the filename.

    The data goes to a temporary file beside the target, which then replaces it, so readers
    never see half a file. An existing file keeps its permissions. Append modes write in place.
    """
    name = os.fspath(filename)
    if "x" in mode and os.path.lexists(name):
        raise FileExistsError(f"{name} already exists.")
    if "a" in mode:
        with open(name, mode, **_text_kwargs(mode)) as handle:
            _write_content(handle, content)
    else:
        _atomic_write(name, content, mode)
    if make_exec:
        st = os.stat(name)
        os.chmod(name, st.st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return name


def _text_kwargs(mode: str) -> dict[str, Any]:
    return {} if "b" in mode else {"encoding": "utf-8"}


def _write_content(handle: IO[Any], content: Any) -> None:
    if isinstance(content, (str, bytes, bytearray, memoryview)):
        handle.write(content)
    else:  # lines, as oras-py's writelines accepted
        handle.writelines(content)


def _atomic_write(name: str, content: Any, mode: str) -> None:
    target = os.path.realpath(name)  # write through a symlink, do not replace it
    directory = os.path.dirname(target) or "."
    temp = os.path.join(directory, f".{os.path.basename(target)}.{os.urandom(6).hex()}.tmp")
    # 0o666 lets the umask decide a new file's mode, as open() would have.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, mode.replace("x", "w"), **_text_kwargs(mode)) as handle:
            _write_content(handle, content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.chmod(temp, stat.S_IMODE(os.stat(target).st_mode))
        except FileNotFoundError:
            pass
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def read_in_chunks(image: IO[AnyStr], chunk_size: int = 1024) -> Iterator[AnyStr]:
    """Yield successive reads of `chunk_size` from an open file until it is exhausted."""
    while True:
        data = image.read(chunk_size)
        if not data:
            return
        yield data


def print_json(json_obj: Any) -> str:
    """JSON text indented by 4 (oras-py's format); returned, never printed."""
    return json.dumps(json_obj, indent=4, separators=(",", ": "))


def write_json(json_obj: Any, filename: PathLike, mode: str = "w") -> str:
    """Write `json_obj` as indented JSON to `filename` atomically; returns the filename."""
    return write_file(filename, print_json(json_obj), mode=mode)


def read_file(filename: PathLike, mode: str = "r") -> Any:
    """The whole content of a file (text as UTF-8, or bytes with a binary mode)."""
    with open(filename, mode, **_text_kwargs(mode)) as handle:
        return handle.read()


def read_json(filename: PathLike, mode: str = "r") -> Any:
    """Parse a JSON file."""
    return json.loads(read_file(filename, mode))
