"""The graph-copy engine on memory stores: order, de-duplication, skipping, failure, tags."""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any, BinaryIO, Optional

import pytest

from oras import defaults
from oras.content.memory import MemoryStore
from oras.copy import CopyGraphOptions, CopyOptions, SkipNode, copy, copy_graph
from oras.descriptor import Descriptor
from oras.errors import DigestMismatchError, NotFoundError
from oras.manifest import Platform

MANIFEST = defaults.default_manifest_media_type
INDEX = defaults.default_index_media_type
LAYER = "application/vnd.oci.image.layer.v1.tar"


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def make_image(store: MemoryStore, *layers: bytes, config: bytes = b"{}") -> Descriptor:
    config_desc = store.push_bytes("application/vnd.oci.image.config.v1+json", config)
    layer_descs = [store.push_bytes(LAYER, data) for data in layers]
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config_desc.to_dict(),
        "layers": [d.to_dict() for d in layer_descs],
    }
    return store.push_bytes(MANIFEST, _json(manifest))


def make_index(store: MemoryStore, entries: list[tuple[Descriptor, dict[str, str]]]) -> Descriptor:
    manifests = [{**d.to_dict(), "platform": p} for d, p in entries]
    return store.push_bytes(
        INDEX, _json({"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests})
    )


class Recording(MemoryStore):
    """A memory store that records what was pushed and checked, and can fail on one digest."""

    def __init__(self, fail_on: Optional[str] = None, delay: float = 0.0) -> None:
        super().__init__()
        self.pushed: list[str] = []
        self.checked: list[str] = []
        self.fail_on = fail_on
        self.delay = delay
        self._record = threading.Lock()

    def exists(self, desc: Descriptor) -> bool:
        with self._record:
            self.checked.append(desc.digest)
        return super().exists(desc)

    def push(self, expected: Descriptor, content: BinaryIO) -> None:
        if self.delay:
            time.sleep(self.delay)
        if expected.digest == self.fail_on:
            raise OSError(f"refusing {expected.digest}")
        super().push(expected, content)
        with self._record:
            self.pushed.append(expected.digest)


def test_copy_sends_children_before_the_manifest_and_tags_it() -> None:
    src = MemoryStore()
    root = make_image(src, b"one", b"two")
    src.tag(root, "v1")
    dst = Recording()
    got = copy(src, "v1", dst)
    assert got.digest == root.digest
    assert dst.pushed[-1] == root.digest
    assert len(dst.pushed) == 4  # config, two layers, manifest
    assert dst.resolve("v1").digest == root.digest


def test_shared_content_is_copied_once() -> None:
    src = MemoryStore()
    a = make_image(src, b"shared", b"a-only", config=b'{"a":1}')
    b = make_image(src, b"shared", b"b-only", config=b'{"b":1}')
    index = make_index(
        src,
        [
            (a, {"os": "linux", "architecture": "amd64"}),
            (b, {"os": "linux", "architecture": "arm64"}),
        ],
    )
    dst = Recording()
    copy_graph(src, dst, index, CopyGraphOptions(concurrency=4))
    assert len(dst.pushed) == len(set(dst.pushed)) == 8
    assert dst.pushed[-1] == index.digest


def test_a_layer_listed_twice_in_one_manifest_is_copied_once() -> None:
    src = MemoryStore()
    root = make_image(src, b"same", b"same")
    dst = Recording()
    copy_graph(src, dst, root)
    assert len(dst.pushed) == 3


def test_existing_subgraph_is_skipped_without_visiting_its_blobs() -> None:
    src = MemoryStore()
    a = make_image(src, b"layer-a", config=b'{"a":1}')
    b = make_image(src, b"layer-b", config=b'{"b":1}')
    index = make_index(
        src,
        [
            (a, {"os": "linux", "architecture": "amd64"}),
            (b, {"os": "linux", "architecture": "arm64"}),
        ],
    )
    dst = Recording()
    copy_graph(src, dst, a)
    dst.pushed.clear()
    dst.checked.clear()
    skipped: list[str] = []
    copy_graph(
        src, dst, index, CopyGraphOptions(on_copy_skipped=lambda d: skipped.append(d.digest))
    )
    assert skipped == [a.digest]
    layer_a = json.loads(src.fetch(a).read())["layers"][0]["digest"]
    assert layer_a not in dst.checked
    assert a.digest not in dst.pushed and index.digest in dst.pushed


def test_failure_in_one_branch_leaves_no_manifest_behind() -> None:
    src = MemoryStore()
    layers = [f"layer-{i}".encode() for i in range(8)]
    root = make_image(src, *layers)
    bad = json.loads(src.fetch(root).read())["layers"][3]["digest"]
    dst = Recording(fail_on=bad, delay=0.01)
    with pytest.raises(OSError, match="refusing"):
        copy_graph(src, dst, root, CopyGraphOptions(concurrency=2))
    assert not dst.exists(root)
    assert root.digest not in dst.pushed


def test_corrupt_source_content_is_refused() -> None:
    src = MemoryStore()
    root = make_image(src, b"good")
    layer = Descriptor.from_dict(json.loads(src.fetch(root).read())["layers"][0])
    src._content[layer.digest] = b"evil"  # the source lies about its content
    dst = MemoryStore()
    with pytest.raises(DigestMismatchError):
        copy_graph(src, dst, root)
    assert not dst.exists(layer) and not dst.exists(root)


def test_platform_selects_one_entry_of_an_index() -> None:
    src = MemoryStore()
    amd = make_image(src, b"amd64 bits")
    arm = make_image(src, b"arm64 bits")
    index = make_index(
        src,
        [
            (amd, {"os": "linux", "architecture": "amd64"}),
            (arm, {"os": "linux", "architecture": "arm64"}),
        ],
    )
    src.tag(index, "multi")
    dst = Recording()
    got = copy(src, "multi", dst, "arm", CopyOptions(platform=Platform.parse("linux/arm64")))
    assert got.digest == arm.digest
    assert dst.resolve("arm").digest == arm.digest
    assert not dst.exists(index) and not dst.exists(amd)


def test_missing_platform_names_what_the_index_has() -> None:
    src = MemoryStore()
    amd = make_image(src, b"amd64 bits")
    index = make_index(src, [(amd, {"os": "linux", "architecture": "amd64"})])
    src.tag(index, "multi")
    with pytest.raises(NotFoundError, match="linux/amd64"):
        copy(
            src, "multi", MemoryStore(), options=CopyOptions(platform=Platform.parse("linux/s390x"))
        )


def test_extra_tags_point_at_the_root() -> None:
    src = MemoryStore()
    root = make_image(src, b"x")
    src.tag(root, "v1")
    dst = MemoryStore()
    copy(src, "v1", dst, "v2", CopyOptions(extra_tags=["latest", "stable"]))
    assert {t: dst.resolve(t).digest for t in dst.tags()} == {
        "v2": root.digest,
        "latest": root.digest,
        "stable": root.digest,
    }


def test_existing_root_is_still_tagged() -> None:
    src = MemoryStore()
    root = make_image(src, b"x")
    src.tag(root, "v1")
    dst = Recording()
    copy(src, "v1", dst)
    dst.pushed.clear()
    copy(src, "v1", dst, "again")
    assert dst.pushed == []
    assert dst.resolve("again").digest == root.digest


def test_pre_copy_can_skip_a_node() -> None:
    src = MemoryStore()
    root = make_image(src, b"keep", b"drop")
    drop = json.loads(src.fetch(root).read())["layers"][1]["digest"]

    def pre_copy(desc: Descriptor) -> None:
        if desc.digest == drop:
            raise SkipNode

    dst = Recording()
    copy_graph(src, dst, root, CopyGraphOptions(pre_copy=pre_copy))
    assert drop not in dst.pushed and root.digest in dst.pushed


def test_progress_hooks_see_every_node() -> None:
    src = MemoryStore()
    root = make_image(src, b"a" * 5000, b"b" * 3000)
    seen: dict[str, int] = {}
    done: list[str] = []
    lock = threading.Lock()

    def on_bytes(desc: Descriptor, n: int) -> None:
        with lock:
            seen[desc.digest] = seen.get(desc.digest, 0) + n

    copy_graph(
        src,
        MemoryStore(),
        root,
        CopyGraphOptions(on_bytes=on_bytes, post_copy=lambda d: done.append(d.digest)),
    )
    assert sorted(seen.values()) == [2, 3000, 5000]
    assert done[-1] == root.digest and len(done) == 4


class Mounting(Recording):
    """A store that can mount blobs it was told another repository holds."""

    def __init__(self, holds: dict[str, MemoryStore]) -> None:
        super().__init__()
        self.holds = holds
        self.mounted: list[tuple[str, str]] = []

    def mount(self, desc: Descriptor, from_repository: str, get_content: Any = None) -> None:
        other = self.holds.get(from_repository)
        if other is None or not other.exists(desc):
            raise NotFoundError(f"{desc.digest} is not in {from_repository}", status=404)
        MemoryStore.push(self, desc, other.fetch(desc))
        self.mounted.append((desc.digest, from_repository))


def test_blobs_are_mounted_when_another_repository_has_them() -> None:
    src = MemoryStore()
    root = make_image(src, b"big layer")
    dst = Mounting({"other/repo": src})
    mounted: list[str] = []
    options = CopyGraphOptions(
        mount_from=lambda d: ["missing/repo", "other/repo"],
        on_mounted=lambda d, r: mounted.append(r),
    )
    copy_graph(src, dst, root, options)
    assert mounted == ["other/repo", "other/repo"]  # config and layer
    assert dst.pushed == [root.digest]


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        CopyGraphOptions(concurrency=0)


def test_memory_store_refuses_content_that_does_not_match() -> None:
    store = MemoryStore()
    desc = Descriptor(media_type=LAYER, digest=store.push_bytes(LAYER, b"abc").digest, size=3)
    fresh = MemoryStore()
    with pytest.raises(DigestMismatchError):
        fresh.push(desc, io.BytesIO(b"abd"))
    assert not fresh.exists(desc)
