"""Layer titles as file names on pull: which titles may name a file, and one file per title."""

from __future__ import annotations

import os
import unicodedata
from typing import Any

from oras.errors import DuplicateTitleError, InvalidFileNameError


def check_file_name(name: Any) -> str:
    """`name` (a layer's title) if it can name a file under the output directory.

    Refused with InvalidFileNameError: a name that is not a string, is empty, is `.` or `..`
    (or normalises to them, like `a/..`), or holds a control character (NUL, a newline, an
    escape sequence: they would forge lines or rewrite the terminal wherever the name is
    shown). Names that leave the output directory are refused later, by the path check.
    """
    if not isinstance(name, str):
        raise InvalidFileNameError(f"layer title {name!r} is not a string")
    if not name:
        raise InvalidFileNameError("a layer has an empty title, which cannot name a file")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidFileNameError(
            f"layer title {name!r} holds control characters and cannot name a file"
        )
    if os.path.normpath(name) in (os.curdir, os.pardir):
        raise InvalidFileNameError(
            f"layer title {name!r} names a directory itself, not a file inside it"
        )
    return name


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
