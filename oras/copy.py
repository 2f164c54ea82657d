"""The graph-copy engine: copy a rooted graph of content from any store to any other.

Push is a copy from local files to a registry, pull a copy from a registry to files, `cp` a
copy between registries, backup a copy into an OCI layout. The engine owns what they share:
concurrency, de-duplication of nodes in flight, skipping a node and its whole sub-graph when
the destination already holds it, mounting instead of uploading, platform selection, tags,
and hooks that feed progress events. A manifest is pushed only after everything it points
at is in place, so a failure never leaves a manifest whose content is missing.
"""

from __future__ import annotations

import io
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Optional, Sequence

from oras.concurrency import INTERRUPT_GRACE, TransferSlots, check_interrupted, run_stoppable
from oras.content import (
    Fetcher,
    Mounter,
    ReadOnlyTarget,
    ReferencePusher,
    Storage,
    Tagger,
    Target,
)
from oras.content.reader import CountingReader, read_all
from oras.descriptor import Descriptor
from oras.errors import OrasError
from oras.manifest import Platform, is_index, is_manifest, select_platform, successors

__all__ = [
    "CopyCancelled",
    "CopyGraphOptions",
    "CopyOptions",
    "SkipNode",
    "copy",
    "copy_graph",
    "copy_referrers",
    "resolve_root",
]

log = logging.getLogger(__name__)

#: Nodes copied at once where an adaptive copy starts (Go oras' fixed default).
DEFAULT_CONCURRENCY = 3
#: How often the calling thread wakes up while it waits for the workers.
WAKE_UP = 0.25


class SkipNode(Exception):
    """Raised by a `pre_copy` hook: leave this node out of the copy (its parents still go)."""


class CopyCancelled(OrasError):
    """A transfer stopped because another branch of the same copy failed."""


Hook = Callable[[Descriptor], None]


@dataclass
class CopyGraphOptions:
    """How a graph is copied. Hooks run on worker threads; one that raises fails the copy."""

    #: Nodes copied at once; None: from DEFAULT_CONCURRENCY up to MAX_CONCURRENCY while the
    #: throughput measured rewards more (`oras.concurrency.AdaptiveConcurrency`).
    concurrency: Optional[int] = None
    #: Before a node's content is sent (its successors are in place); raise SkipNode to skip.
    pre_copy: Optional[Hook] = None
    #: After a node's content is stored at the destination.
    post_copy: Optional[Hook] = None
    #: A node the destination already holds (its sub-graph is not visited).
    on_copy_skipped: Optional[Hook] = None
    #: A blob mounted from another repository of the destination's registry: (node, source).
    on_mounted: Optional[Callable[[Descriptor, str], None]] = None
    #: Repositories of the destination's registry to try mounting a blob from.
    mount_from: Optional[Callable[[Descriptor], Sequence[str]]] = None
    #: Bytes of a node read from the source so far: (node, newly read byte count).
    on_bytes: Optional[Callable[[Descriptor, int], None]] = None
    #: The successors of a manifest node, given its content (default: `manifest.successors`).
    find_successors: Optional[Callable[[Descriptor, bytes], list[Descriptor]]] = None
    #: Check the destination first and skip what it has (off: send everything again).
    skip_existing: bool = True

    def __post_init__(self) -> None:
        if self.concurrency is not None and (
            not isinstance(self.concurrency, int) or self.concurrency < 1
        ):
            raise ValueError(f"concurrency must be a positive integer, not {self.concurrency!r}")


@dataclass
class CopyOptions(CopyGraphOptions):
    """A copy from a reference: graph options, plus the platform to pick from an index and
    extra tags for the destination."""

    platform: Optional[Platform] = None
    extra_tags: Sequence[str] = field(default_factory=tuple)
    #: The referrers of a node in the source (e.g. `oras.referrers.find_referrers`): when
    #: set, the copy also brings the root's referrers (and an index root's manifests'), their
    #: referrers, and so on, as oras-go's ExtendedCopy does (`cp -r`).
    find_referrers: Optional[Callable[[Descriptor], list[Descriptor]]] = None


def resolve_root(
    src: ReadOnlyTarget, reference: str, platform: Optional[Platform] = None
) -> Descriptor:
    """What `reference` names in `src`; with `platform`, an index resolves to its entry for it."""
    root = src.resolve(reference)
    if platform is not None and is_index(root):
        content = read_all(src.fetch(root), root)
        root = select_platform(root, content, platform)
    return root


def copy(
    src: ReadOnlyTarget,
    src_ref: str,
    dst: Target,
    dst_ref: str = "",
    options: Optional[CopyOptions] = None,
) -> Descriptor:
    """Copy what `src_ref` names from `src` to `dst`, tagged `dst_ref` (default: `src_ref`)
    and each of `options.extra_tags`; returns the root's descriptor."""
    options = options or CopyOptions()
    root = resolve_root(src, src_ref, options.platform)
    dst_ref = dst_ref or src_ref
    tags = [t for t in [dst_ref, *options.extra_tags] if t and t != root.digest]
    copy_graph(src, dst, root, options, root_reference=tags[0] if tags else None)
    for name in tags[1:]:
        dst.tag(root, name)
    if options.find_referrers is not None:
        copy_referrers(src, dst, root, options)
    return root


def copy_referrers(src: Fetcher, dst: Storage, root: Descriptor, options: CopyOptions) -> None:
    """Copy the referrers of `root` (already at the destination), and of an index root's
    manifests, with their own referrers at any depth; each is pushed after its subject and
    untagged (a registry without the referrers API gets its tag-schema index updated)."""
    import dataclasses

    assert options.find_referrers is not None
    subjects = [root]
    if is_index(root):
        content = read_all(src.fetch(root), root)
        subjects += [d for d in successors(root, content) if is_manifest(d)]
    seen = {d.digest for d in subjects}
    find = options.find_successors or successors
    graph_options = dataclasses.replace(
        options,
        # The subject is in place: a referrer's graph is its config, layers and itself.
        find_successors=lambda d, c: [s for s in find(d, c) if s.digest not in seen],
    )
    while subjects:
        subject = subjects.pop(0)
        for referrer in options.find_referrers(subject):
            if referrer.digest in seen:
                continue
            seen.add(referrer.digest)
            copy_graph(src, dst, referrer, graph_options)
            subjects.append(referrer)


def copy_graph(
    src: Fetcher,
    dst: Storage,
    root: Descriptor,
    options: Optional[CopyGraphOptions] = None,
    root_reference: Optional[str] = None,
) -> None:
    """Copy `root` and everything it points at from `src` to `dst`. With `root_reference`
    the root is also tagged so in `dst` (in the same request where the store can)."""
    _GraphCopy(src, dst, options or CopyGraphOptions()).run(root, root_reference)


class _Node:
    __slots__ = ("desc", "parents", "pending", "done", "content")

    def __init__(self, desc: Descriptor) -> None:
        self.desc = desc
        self.parents: list[_Node] = []
        self.pending = 0
        self.done = False
        self.content: Optional[bytes] = None


class _CancellableReader(CountingReader):
    """Counts bytes for progress and stops the transfer once the copy has failed."""

    def __init__(self, stream: BinaryIO, copier: _GraphCopy, desc: Descriptor) -> None:
        on_bytes = copier.options.on_bytes
        super().__init__(stream, (lambda n: on_bytes(desc, n)) if on_bytes else (lambda n: None))
        self._copier = copier

    def _check(self) -> None:
        if self._copier.error is not None:
            raise CopyCancelled("copy cancelled: another transfer failed")
        check_interrupted()

    def count(self, n: int) -> None:
        self._check()
        super().count(n)

    def readinto(self, buffer: Any) -> int:
        self._check()
        return super().readinto(buffer)


class _GraphCopy:
    def __init__(self, src: Fetcher, dst: Storage, options: CopyGraphOptions) -> None:
        self.src = src
        self.dst = dst
        self.options = options
        self.lock = threading.Lock()
        self.nodes: dict[str, _Node] = {}
        self.error: Optional[BaseException] = None
        self.finished = threading.Event()
        self.root: Optional[_Node] = None
        self.root_reference: Optional[str] = None
        self.slots = TransferSlots(options.concurrency, DEFAULT_CONCURRENCY)
        self.pool = ThreadPoolExecutor(
            max_workers=self.slots.workers, thread_name_prefix="oras-copy"
        )
        self.stop = threading.Event()
        self.futures: set[Future[None]] = set()

    def run(self, root: Descriptor, root_reference: Optional[str]) -> None:
        self.root_reference = root_reference
        interrupted = False
        try:
            self._visit(root, None)
            # Waking up now and then lets a signal handler run in this thread, and a copy run
            # by a worker of another transfer (push copies each blob so) stop with it.
            while not self.finished.wait(WAKE_UP):
                check_interrupted()
        except BaseException as e:  # KeyboardInterrupt in the caller's thread: stop the rest
            interrupted = not isinstance(e, Exception)
            self._fail(e)
            if interrupted:
                # Workers stop at their next chunk and remove their partial files; one
                # blocked on a silent connection is left behind after INTERRUPT_GRACE.
                wait(list(self.futures), timeout=INTERRUPT_GRACE)
            raise
        finally:
            self.pool.shutdown(wait=not interrupted, cancel_futures=True)
        if self.error is not None:
            raise self.error

    # -- scheduling ----------------------------------------------------------------------------
    def _submit(self, fn: Callable[[_Node], None], node: _Node) -> None:
        if self.error is not None:
            return
        try:
            future = self.pool.submit(run_stoppable, self.stop, self._guarded, fn, node)
        except RuntimeError:  # the pool is shutting down after a failure
            return
        with self.lock:
            self.futures.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self.lock:
            self.futures.discard(future)

    def _guarded(self, fn: Callable[[_Node], None], node: _Node) -> None:
        if self.error is not None:
            return
        try:
            with self.slots.slot():
                if self.error is None:
                    fn(node)
        except BaseException as e:
            self._fail(e)

    def _fail(self, error: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = error
        self.stop.set()  # transfers in flight stop at their next chunk
        self.finished.set()

    def _visit(self, desc: Descriptor, parent: Optional[_Node]) -> None:
        with self.lock:
            node = self.nodes.get(desc.digest)
            new = node is None
            if node is None:
                node = self.nodes[desc.digest] = _Node(desc)
                if parent is None:
                    self.root = node
            if parent is not None and not node.done:
                node.parents.append(parent)
                parent.pending += 1
        if new:
            self._submit(self._start, node)

    def _complete(self, node: _Node) -> None:
        node.content = None
        with self.lock:
            node.done = True
            parents, node.parents = node.parents, []
        for parent in parents:
            self._child_done(parent)
        if node is self.root:
            self.finished.set()

    def _child_done(self, parent: _Node) -> None:
        with self.lock:
            parent.pending -= 1
            ready = parent.pending == 0
        if ready:
            self._submit(self._send_manifest, parent)

    # -- the work of one node --------------------------------------------------------------------
    def _start(self, node: _Node) -> None:
        desc = node.desc
        if self.options.skip_existing and self.dst.exists(desc):
            log.debug("%s exists at the destination: skipping its sub-graph", desc.digest)
            if node is self.root and self.root_reference:
                self._tag_root(node)
            if self.options.on_copy_skipped:
                self.options.on_copy_skipped(desc)
            self._complete(node)
            return
        if not is_manifest(desc):
            self._send_blob(node)
            return
        node.content = read_all(self.src.fetch(desc), desc)
        find = self.options.find_successors or successors
        children = find(desc, node.content)
        with self.lock:
            node.pending += 1  # held until every child is registered
        for child in children:
            self._visit(child, node)
        self._child_done(node)

    def _pre_copy(self, desc: Descriptor) -> bool:
        if self.options.pre_copy is None:
            return True
        try:
            self.options.pre_copy(desc)
        except SkipNode:
            return False
        return True

    def _send_manifest(self, node: _Node) -> None:
        desc = node.desc
        if self._pre_copy(desc):
            content = node.content
            assert content is not None  # read by _start, dropped only by _complete
            if node is self.root and self.root_reference and isinstance(self.dst, ReferencePusher):
                self.dst.push_reference(desc, io.BytesIO(content), self.root_reference)
            else:
                self.dst.push(desc, io.BytesIO(content))
                if node is self.root and self.root_reference:
                    self._tag_root(node)
            if self.options.post_copy:
                self.options.post_copy(desc)
        self._complete(node)

    def _send_blob(self, node: _Node) -> None:
        desc = node.desc
        if self._mount(desc):  # a mounted blob is reported by on_mounted alone
            self._complete(node)
            return
        if not self._pre_copy(desc):
            self._complete(node)
            return
        stream = _CancellableReader(self.src.fetch(desc), self, desc)
        with stream:
            self.dst.push(desc, stream)  # type: ignore[arg-type]
        self.slots.moved(desc.size)
        if self.options.post_copy:
            self.options.post_copy(desc)
        self._complete(node)

    def _mount(self, desc: Descriptor) -> bool:
        if self.options.mount_from is None or not isinstance(self.dst, Mounter):
            return False
        for repository in self.options.mount_from(desc):
            try:
                self.dst.mount(desc, repository)
            except OrasError as e:
                log.debug("mounting %s from %s failed: %s", desc.digest, repository, e)
                continue
            if self.options.on_mounted:
                self.options.on_mounted(desc, repository)
            return True
        return False

    def _tag_root(self, node: _Node) -> None:
        if not isinstance(self.dst, Tagger):
            raise TypeError(f"{type(self.dst).__name__} cannot tag {self.root_reference}")
        self.dst.tag(node.desc, self.root_reference or "")
