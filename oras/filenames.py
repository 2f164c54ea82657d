"""File names: a path argument that can name a file; layer titles as file names on pull (which
titles may name a file, one file per title, and what a pulled file may replace: a file, never a
directory, and the reverse)."""

from __future__ import annotations

import os
import stat
import unicodedata
from typing import Any, Union

from oras.errors import (
    DuplicateTitleError,
    InvalidFileNameError,
    InvalidPathError,
    OutputConflictError,
)

PathLike = Union[str, "os.PathLike[str]"]

#: Longest file name (one component of a title) a pulled file may have, in bytes of the file
#: system encoding: NAME_MAX of the common file systems (255). Longer titles are refused
#: before anything is written instead of failing half-way.
MAX_FILE_NAME_BYTES = 255
#: Longest path a pulled file may have, output directory included, in bytes: Linux's PATH_MAX
#: (4096) less the terminating NUL.
MAX_PATH_BYTES = 4095
#: Characters of a long title shown in a message.
_SHOWN = 80


def check_path(path: PathLike, what: str = "path") -> str:
    """`path` as a string; InvalidPathError naming it (`what` says which) when it holds a NUL
    byte, which no file name can."""
    text = os.fspath(path)
    if "\x00" in text:
        raise InvalidPathError(f"{what} {text!r} contains a NUL byte, which no file name can hold")
    return text


def check_file_name(name: Any) -> str:
    """`name` (a layer's title) if it can name a file under the output directory.

    Refused with InvalidFileNameError: a name that is not a string, is empty, is `.` or `..`
    (or normalises to them, like `a/..`), holds a control character (NUL, a newline, an
    escape sequence: they would forge lines or rewrite the terminal wherever the name is
    shown), or has a component longer than MAX_FILE_NAME_BYTES. Names that leave the output
    directory are refused later, by the path check (and paths too long by
    `check_path_length`). On POSIX a backslash is a character of the name, and names Windows
    reserves (CON, NUL, COM1, a trailing dot or space) are ordinary names.
    """
    if not isinstance(name, str):
        raise InvalidFileNameError(f"layer title {name!r} is not a string")
    if not name:
        raise InvalidFileNameError("a layer has an empty title, which cannot name a file")
    if any(unicodedata.category(c) == "Cc" for c in name):
        what = "a NUL byte" if "\x00" in name else "control characters"
        raise InvalidFileNameError(f"layer title {name!r} holds {what} and cannot name a file")
    if os.path.normpath(name) in (os.curdir, os.pardir):
        raise InvalidFileNameError(
            f"layer title {name!r} names a directory itself, not a file inside it"
        )
    longest = max(len(os.fsencode(part)) for part in name.split("/"))
    if longest > MAX_FILE_NAME_BYTES:
        raise InvalidFileNameError(
            f"layer title {_shown(name)} cannot name a file: it has a name of {longest} bytes, "
            f"more than {MAX_FILE_NAME_BYTES}"
        )
    return name


def check_path_length(outfile: str, title: str) -> str:
    """`outfile` (where the layer titled `title` goes) if it is not too long a path for the
    file system (InvalidFileNameError)."""
    size = len(os.fsencode(outfile))
    if size > MAX_PATH_BYTES:
        raise InvalidFileNameError(
            f"layer title {_shown(title)} cannot name a file: its path is {size} bytes long, "
            f"more than {MAX_PATH_BYTES}"
        )
    return outfile


def _shown(name: str) -> str:
    if len(name) <= _SHOWN:
        return repr(name)
    return f"{name[:_SHOWN]!r}... ({len(name)} characters)"


def drop_duplicate_outputs(plan: list[tuple[dict, str]]) -> list[tuple[dict, str]]:
    """`plan` (layer, output path) with repeats of an identical layer removed.

    Two different layers for one output path raise DuplicateTitleError: whichever was written
    last would silently win.
    """
    first: dict[str, dict] = {}
    kept: list[tuple[dict, str]] = []
    for layer, outfile in plan:
        earlier = first.get(outfile)
        if earlier is None:
            first[outfile] = layer
            kept.append((layer, outfile))
        elif earlier != layer:
            raise DuplicateTitleError(
                f"layers {earlier.get('digest')} and {layer.get('digest')} would both be "
                f"written to {outfile}: two layers of the artifact have one title"
            )
    return kept


_HINT = "move it away, or pull into another directory"


def check_output_dir(outdir: str) -> None:
    """Refuse an output directory that is a file, or lies below one (OutputConflictError)."""
    path = os.path.abspath(outdir)
    while not os.path.lexists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    if os.path.lexists(path) and not os.path.isdir(path):
        where = "is" if path == os.path.abspath(outdir) else f"is below {path}, which is"
        raise OutputConflictError(
            f"cannot pull into {outdir}: it {where} a file, not a directory", hint=_HINT
        )


def check_replaceable(outdir: str, outfile: str, directory: bool = False) -> None:
    """Refuse (OutputConflictError) to write `outfile` under `outdir` when that would replace a
    directory by a file or a file by a directory: an existing non-directory on the way to it,
    or, when `directory` is false, a directory at `outfile` itself. Writing over an existing
    file is fine (that is what a pull without keep-old-files does)."""
    root = os.path.realpath(outdir)
    relative = os.path.relpath(outfile, root)
    parts = relative.split(os.sep)
    path = root
    for part in parts[:-1]:
        path = os.path.join(path, part)
        if os.path.lexists(path) and not os.path.isdir(path):
            raise OutputConflictError(
                f"refusing to replace the file {path} by a directory (to hold {relative})",
                hint=_HINT,
            )
    if directory:
        return
    try:
        mode = os.lstat(outfile).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        raise OutputConflictError(
            f"refusing to replace the directory {outfile} by a file", hint=_HINT
        )
