"""Event lines of graph copies (`cp`, `backup`, `restore`): `<prompt> <short digest> <name>`,
one per step of each node, printed as the copy engine's hooks fire."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any, TextIO

from oras.cli.target import node_name, short_digest


@dataclass(frozen=True)
class Prompts:
    """The words of one command, padded to one width as Go oras prints them."""

    start: str
    done: str
    exists: str = "Exists"
    skipped: str = "Skipped"
    mounted: str = "Mounted"

    def padded(self) -> Prompts:
        width = max(len(p) for p in (self.start, self.done, self.exists, self.skipped))
        if self.mounted:
            width = max(width, len(self.mounted))
        return Prompts(
            *(
                p.ljust(width)
                for p in (self.start, self.done, self.exists, self.skipped, self.mounted)
            )
        )


COPY = Prompts("Copying", "Copied")
BACKUP = Prompts("Pulling", "Pulled", mounted="")
RESTORE = Prompts("Pushing", "Pushed", mounted="")


class EventPrinter:
    """Hooks for `CopyGraphOptions` that print one line per event (nothing when quiet)."""

    def __init__(self, prompts: Prompts, quiet: bool = False, stream: TextIO = sys.stdout) -> None:
        self.prompts = prompts.padded()
        self.quiet = quiet
        self.stream = stream
        self._lock = threading.Lock()

    def _line(self, prompt: str, desc: Any) -> None:
        if self.quiet:
            return
        line = f"{prompt} {short_digest(desc.digest)} {node_name(desc)}\n"
        with self._lock:
            self.stream.write(line)
            self.stream.flush()

    def hooks(self) -> dict[str, Any]:
        """Keyword arguments for CopyGraphOptions / CopyOptions."""
        return {
            "pre_copy": lambda d: self._line(self.prompts.start, d),
            "post_copy": lambda d: self._line(self.prompts.done, d),
            "on_copy_skipped": lambda d: self._line(self.prompts.exists, d),
            "on_mounted": lambda d, _repo: self._line(self.prompts.mounted, d),
        }
