"""MemoryStore: content, tags and predecessors held in memory (tests, small artifacts, the base
of the test registry)."""

from __future__ import annotations

import io
import threading
from typing import BinaryIO, Iterator, Optional

from oras.content.reader import read_all
from oras.descriptor import Descriptor
from oras.digest import validate_digest
from oras.errors import NotFoundError
from oras.manifest import is_manifest, successors

#: Largest single piece of content a MemoryStore takes.
MAX_MEMORY_BLOB = 256 * 1024 * 1024


class MemoryStore:
    """A Target, PredecessorFinder, Deleter and TagLister in memory; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._content: dict[str, bytes] = {}
        self._descriptors: dict[str, Descriptor] = {}
        self._tags: dict[str, Descriptor] = {}
        self._predecessors: dict[str, dict[str, Descriptor]] = {}

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._content)} blobs, {len(self._tags)} tags)"

    # -- Storage -------------------------------------------------------------------------------
    def fetch(self, desc: Descriptor) -> BinaryIO:
        with self._lock:
            data = self._content.get(desc.digest)
        if data is None:
            raise NotFoundError(f"{desc.digest}: not found in memory", status=404)
        return io.BytesIO(data)

    def push(self, expected: Descriptor, content: BinaryIO) -> None:
        validate_digest(expected.digest)
        data = read_all(content, expected, limit=MAX_MEMORY_BLOB)
        with self._lock:
            self._content[expected.digest] = data
            self._descriptors.setdefault(expected.digest, expected.identity())
        if is_manifest(expected):
            self._index_predecessors(expected, data)

    def push_bytes(self, media_type: str, data: bytes) -> Descriptor:
        """Store `data` under its own digest; returns its descriptor."""
        from oras.digest import digest_bytes

        desc = Descriptor(media_type=media_type, digest=digest_bytes(data), size=len(data))
        self.push(desc, io.BytesIO(data))
        return desc

    def exists(self, desc: Descriptor) -> bool:
        with self._lock:
            return desc.digest in self._content

    # -- references ----------------------------------------------------------------------------
    def resolve(self, reference: str) -> Descriptor:
        with self._lock:
            found = self._tags.get(reference) or self._descriptors.get(reference)
        if found is None:
            raise NotFoundError(f"{reference}: not found in memory", status=404)
        return found

    def tag(self, desc: Descriptor, reference: str) -> None:
        with self._lock:
            if desc.digest not in self._content:
                raise NotFoundError(f"cannot tag {desc.digest}: not in memory", status=404)
            self._tags[reference] = desc.identity()

    def tags(self, last: Optional[str] = None) -> Iterator[str]:
        with self._lock:
            names = sorted(self._tags)
        return iter([n for n in names if last is None or n > last])

    # -- predecessors and deletion ---------------------------------------------------------------
    def predecessors(self, desc: Descriptor) -> list[Descriptor]:
        with self._lock:
            return list(self._predecessors.get(desc.digest, {}).values())

    def delete(self, desc: Descriptor) -> None:
        with self._lock:
            if self._content.pop(desc.digest, None) is None:
                raise NotFoundError(f"{desc.digest}: not found in memory", status=404)
            self._descriptors.pop(desc.digest, None)
            for name in [n for n, d in self._tags.items() if d.digest == desc.digest]:
                del self._tags[name]
            for found in self._predecessors.values():
                found.pop(desc.digest, None)

    def _index_predecessors(self, desc: Descriptor, data: bytes) -> None:
        node = desc.identity()
        for child in successors(desc, data):
            with self._lock:
                self._predecessors.setdefault(child.digest, {})[desc.digest] = node
