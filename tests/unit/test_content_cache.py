"""ReadThroughCache on memory stores: reads fill the cache, cached reads spare the source,
a corrupt cached blob is evicted, and a cache that cannot be written is bypassed."""

from __future__ import annotations

import io
from typing import BinaryIO

import pytest

from oras.content.cache import ReadThroughCache
from oras.content.memory import MemoryStore
from oras.descriptor import Descriptor
from oras.errors import DigestMismatchError, NotFoundError

LAYER = "application/vnd.oci.image.layer.v1.tar"


class CountingSource(MemoryStore):
    """A memory store that counts fetches per digest."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []

    def fetch(self, desc: Descriptor) -> BinaryIO:
        self.fetched.append(desc.digest)
        return super().fetch(desc)


class FullDisk(MemoryStore):
    def push(self, expected: Descriptor, content: BinaryIO) -> None:
        content.read(1)
        raise OSError(28, "No space left on device")


def test_a_miss_fills_the_cache_and_a_hit_spares_the_source() -> None:
    source, cache = CountingSource(), MemoryStore()
    desc = source.push_bytes(LAYER, b"layer bytes")
    restored: list[str] = []
    store = ReadThroughCache(source, cache, on_restored=lambda d: restored.append(d.digest))

    assert store.fetch(desc).read() == b"layer bytes"
    assert cache.exists(desc)
    assert source.fetched == [desc.digest]
    assert restored == []

    with store.fetch(desc) as stream:
        assert stream.read() == b"layer bytes"
    assert source.fetched == [desc.digest]  # not fetched again
    assert restored == [desc.digest]


def test_references_and_existence_are_the_sources() -> None:
    source, cache = MemoryStore(), MemoryStore()
    desc = source.push_bytes(LAYER, b"x")
    source.tag(desc, "v1")
    only_cached = cache.push_bytes(LAYER, b"only in the cache")
    store = ReadThroughCache(source, cache)
    assert store.resolve("v1") == source.resolve("v1")
    assert store.exists(desc)
    assert not store.exists(only_cached)
    with pytest.raises(NotFoundError):
        store.resolve("missing")


def test_content_that_does_not_match_is_not_cached() -> None:
    source, cache = MemoryStore(), MemoryStore()
    real = source.push_bytes(LAYER, b"real")
    lying = Descriptor(media_type=LAYER, digest=real.digest, size=5)  # wrong size
    with pytest.raises(DigestMismatchError):
        ReadThroughCache(source, cache).fetch(lying)
    assert not cache.exists(real)


def test_a_corrupt_cached_blob_fails_the_read_and_is_evicted() -> None:
    source, cache = CountingSource(), MemoryStore()
    desc = source.push_bytes(LAYER, b"good content")
    cache._content[desc.digest] = b"evil content"  # same size, other bytes
    store = ReadThroughCache(source, cache)
    with pytest.raises(DigestMismatchError) as caught:
        store.fetch(desc).read()
    assert caught.value.hint and "removed from the cache" in caught.value.hint
    assert not cache.exists(desc)
    assert store.fetch(desc).read() == b"good content"  # fetched from the source again
    assert source.fetched == [desc.digest]
    assert cache.fetch(desc).read() == b"good content"


def test_a_cache_that_cannot_be_written_is_bypassed() -> None:
    source = CountingSource()
    desc = source.push_bytes(LAYER, b"content")
    store = ReadThroughCache(source, FullDisk())
    assert store.fetch(desc).read() == b"content"
    assert source.fetched == [desc.digest, desc.digest]


def test_a_failing_source_is_not_taken_for_a_failing_cache() -> None:
    class DroppedStream(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: object) -> int:
            raise ConnectionResetError(104, "Connection reset by peer")

    class Dropped(MemoryStore):
        def fetch(self, desc: Descriptor) -> BinaryIO:
            return DroppedStream()  # type: ignore[return-value]

    source = Dropped()
    desc = MemoryStore().push_bytes(LAYER, b"x")
    with pytest.raises(ConnectionResetError):
        ReadThroughCache(source, MemoryStore()).fetch(desc)


def test_only_cacheable_content_goes_through_the_cache() -> None:
    source, cache = CountingSource(), MemoryStore()
    kept = source.push_bytes(LAYER, b"kept")
    passed = source.push_bytes(LAYER, b"passed")
    store = ReadThroughCache(source, cache, cacheable=lambda d: d.digest == kept.digest)
    for desc in (kept, passed, kept, passed):
        store.fetch(desc).read()
    assert cache.exists(kept) and not cache.exists(passed)
    assert source.fetched == [kept.digest, passed.digest, passed.digest]


def test_a_copy_through_the_cache_reads_each_blob_once_from_the_source() -> None:
    from oras.copy import copy

    source = CountingSource()
    config = source.push_bytes("application/vnd.oci.image.config.v1+json", b"{}")
    layer = source.push_bytes(LAYER, b"layer")
    manifest = source.push_bytes(
        "application/vnd.oci.image.manifest.v1+json",
        (
            '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
            f'"config":{_json(config)},"layers":[{_json(layer)}]}}'
        ).encode(),
    )
    source.tag(manifest, "v1")
    cache = MemoryStore()
    for _ in range(2):
        copy(ReadThroughCache(source, cache), "v1", MemoryStore())
    assert sorted(source.fetched) == sorted([config.digest, layer.digest, manifest.digest])


def _json(desc: Descriptor) -> str:
    import json

    return json.dumps(desc.to_dict())


def test_the_stream_is_readable_in_pieces() -> None:
    source, cache = MemoryStore(), MemoryStore()
    data = bytes(range(256)) * 40
    desc = source.push_bytes(LAYER, data)
    store = ReadThroughCache(source, cache)
    store.fetch(desc).read()
    out = io.BytesIO()
    stream = store.fetch(desc)
    while chunk := stream.read(1000):
        out.write(chunk)
    assert out.getvalue() == data
