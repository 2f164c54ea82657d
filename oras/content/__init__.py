"""Content contracts: the small, one-verb interfaces every store (registry, layout, files,
memory) satisfies, so one copy engine can move a graph between any two of them.

A store is any object with the methods below; `isinstance(store, Mounter)` and friends
detect the optional abilities at run time (the protocols are runtime-checkable).
"""

from __future__ import annotations

from typing import BinaryIO, Callable, Iterator, Optional, Protocol, runtime_checkable

from oras.descriptor import Descriptor

__all__ = [
    "Deleter",
    "Fetcher",
    "Mounter",
    "PredecessorFinder",
    "Pusher",
    "ReferencePusher",
    "ReadOnlyStorage",
    "ReadOnlyTarget",
    "Resolver",
    "Storage",
    "TagLister",
    "Tagger",
    "Target",
]


@runtime_checkable
class Fetcher(Protocol):
    """Reads content by descriptor."""

    def fetch(self, desc: Descriptor) -> BinaryIO:
        """A readable stream of the content (the caller closes it). The bytes are not checked
        here: every Pusher verifies what it takes, and a reader that consumes content itself
        wraps the stream in `oras.content.reader.VerifyingReader` (or uses `read_all`)."""
        ...


@runtime_checkable
class Pusher(Protocol):
    """Writes content for an expected descriptor."""

    def push(self, expected: Descriptor, content: BinaryIO) -> None:
        """Store `content`, which must match `expected` (size and digest): content that does
        not is refused with DigestMismatchError and nothing of it is kept."""
        ...


@runtime_checkable
class ReadOnlyStorage(Fetcher, Protocol):
    def exists(self, desc: Descriptor) -> bool:
        """Whether the store holds the content of `desc`."""
        ...


@runtime_checkable
class Storage(ReadOnlyStorage, Pusher, Protocol):
    """Reads, writes and checks content: what a copy needs of a destination."""


@runtime_checkable
class Resolver(Protocol):
    def resolve(self, reference: str) -> Descriptor:
        """The descriptor a tag or digest names in this store; NotFoundError when none."""
        ...


@runtime_checkable
class Tagger(Protocol):
    def tag(self, desc: Descriptor, reference: str) -> None:
        """Point the tag `reference` at the (already stored) `desc`."""
        ...


@runtime_checkable
class ReadOnlyTarget(ReadOnlyStorage, Resolver, Protocol):
    """A copy's source: content plus references."""


@runtime_checkable
class Target(Storage, Resolver, Tagger, Protocol):
    """A copy's destination: content, references and tags."""


@runtime_checkable
class ReferencePusher(Protocol):
    def push_reference(self, expected: Descriptor, content: BinaryIO, reference: str) -> None:
        """Push a manifest and tag it `reference` in one step (a registry's PUT by tag)."""
        ...


@runtime_checkable
class PredecessorFinder(Protocol):
    def predecessors(self, desc: Descriptor) -> list[Descriptor]:
        """The manifests that point at `desc` (through `subject`, layers, config or an index
        entry) that this store knows of."""
        ...


@runtime_checkable
class Mounter(Protocol):
    def mount(
        self,
        desc: Descriptor,
        from_repository: str,
        get_content: Optional[Callable[[], BinaryIO]] = None,
    ) -> None:
        """Make `desc` (a blob of `from_repository` on the same registry) available here
        without sending its bytes; when the registry refuses, upload from `get_content()`
        instead (or raise when that is None)."""
        ...


@runtime_checkable
class Deleter(Protocol):
    def delete(self, desc: Descriptor) -> None:
        """Remove the content of `desc` (and, for a manifest, the tags on it)."""
        ...


@runtime_checkable
class TagLister(Protocol):
    def tags(self, last: Optional[str] = None) -> Iterator[str]:
        """Every tag, in the store's (lexical) order, starting after `last`."""
        ...
