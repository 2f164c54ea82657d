"""Temporary files the library is writing (partial downloads, packed directories), so that an
interrupted program can remove them before it exits.

The library removes each of them itself on every path it controls; this list is for the one it
does not: a program that must exit while a worker thread is still blocked on the network.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading

from oras.errors import TransferInterrupted

_lock = threading.Lock()
_paths: set[str] = set()
_leaving = False


def track(path: str) -> str:
    """Remember `path` (a file or a directory) as temporary until `untrack`; returns it.
    Once `remove_all` ran, the path is removed at once and TransferInterrupted raised."""
    with _lock:
        if not _leaving:
            _paths.add(os.path.abspath(path))
            return path
    _remove(path)
    raise TransferInterrupted("interrupted")


def untrack(path: str) -> None:
    """`path` was removed, or renamed into place: it is no longer temporary."""
    with _lock:
        _paths.discard(os.path.abspath(path))


def remove_all() -> list[str]:
    """Remove every temporary path still tracked, and any tracked later: for a program that is
    about to exit. Returns the paths removed."""
    global _leaving
    with _lock:
        _leaving = True
        paths = sorted(_paths)
        _paths.clear()
    return [path for path in paths if _remove(path)]


def _remove(path: str) -> bool:
    with contextlib.suppress(OSError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
        return True
    return False
