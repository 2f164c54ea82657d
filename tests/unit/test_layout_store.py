"""The OCI image layout store, as a directory and as a tar, on temporary directories."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import threading
from pathlib import Path
from typing import Any, Optional

import pytest

from oras import defaults
from oras.content import Deleter, PredecessorFinder, TagLister, Target
from oras.content.layout import BaseLayoutStore, LayoutStore, open_layout
from oras.content.layout_tar import LayoutTarStore
from oras.content.memory import MemoryStore
from oras.content.reader import VerifyingReader, read_all
from oras.copy import CopyGraphOptions, CopyOptions, copy, copy_graph
from oras.descriptor import Descriptor
from oras.digest import digest_bytes
from oras.errors import (
    DigestMismatchError,
    InvalidDigestError,
    InvalidLayoutError,
    NotFoundError,
)
from oras.manifest import Platform

MANIFEST = defaults.default_manifest_media_type
INDEX = defaults.default_index_media_type
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"
REF_NAME = defaults.oci_ref_name_annotation


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def make_image(
    store: MemoryStore,
    *layers: bytes,
    config: bytes = b"{}",
    subject: Optional[Descriptor] = None,
    artifact_type: Optional[str] = None,
) -> Descriptor:
    config_desc = store.push_bytes(CONFIG, config)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config_desc.to_dict(),
        "layers": [store.push_bytes(LAYER, data).to_dict() for data in layers],
    }
    if artifact_type:
        manifest["artifactType"] = artifact_type
    if subject is not None:
        manifest["subject"] = {
            "mediaType": subject.media_type,
            "digest": subject.digest,
            "size": subject.size,
        }
    return store.push_bytes(MANIFEST, _json(manifest))


def make_multi_platform(store: MemoryStore) -> tuple[Descriptor, Descriptor, Descriptor]:
    """An index of two images that share a layer: (index, amd64 image, arm64 image)."""
    amd64 = make_image(store, b"shared layer", b"amd64 layer", config=b'{"architecture":"amd64"}')
    arm64 = make_image(store, b"shared layer", b"arm64 layer", config=b'{"architecture":"arm64"}')
    manifests = [
        {**amd64.to_dict(), "platform": {"os": "linux", "architecture": "amd64"}},
        {**arm64.to_dict(), "platform": {"os": "linux", "architecture": "arm64"}},
    ]
    index = store.push_bytes(
        INDEX, _json({"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests})
    )
    return index, amd64, arm64


def all_digests(store: Any, root: Descriptor) -> dict[str, bytes]:
    """digest -> content of everything under `root`, read through the store and verified."""
    found: dict[str, bytes] = {}
    pending = [root]
    while pending:
        node = pending.pop()
        if node.digest in found:
            continue
        data = read_all(store.fetch(node), node, limit=1 << 30)
        found[node.digest] = data
        if node.media_type in (MANIFEST, INDEX):
            document = json.loads(data)
            for key in ("manifests", "layers"):
                pending += [Descriptor.from_dict(d) for d in document.get(key, [])]
            if "config" in document:
                pending.append(Descriptor.from_dict(document["config"]))
    return found


def files_under(path: Path) -> set[str]:
    """Every file below `path`, relative to it (hidden ones included)."""
    return {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()}


@pytest.fixture
def source() -> tuple[MemoryStore, Descriptor]:
    """A memory store with a tagged multi-platform index `v1`."""
    store = MemoryStore()
    index, _, _ = make_multi_platform(store)
    store.tag(index, "v1")
    return store, index


# -- round trips ---------------------------------------------------------------------------


def test_the_store_satisfies_the_contracts(tmp_path: Path) -> None:
    for store in (LayoutStore(tmp_path / "dir"), LayoutTarStore(tmp_path / "x.tar", "w")):
        assert isinstance(store, Target)
        assert isinstance(store, PredecessorFinder)
        assert isinstance(store, Deleter)
        assert isinstance(store, TagLister)


def test_memory_to_directory_to_memory_keeps_every_digest(
    tmp_path: Path, source: tuple[MemoryStore, Descriptor]
) -> None:
    src, index = source
    layout = LayoutStore(tmp_path / "layout")
    assert copy(src, "v1", layout, options=CopyOptions(concurrency=4)).digest == index.digest

    reopened = LayoutStore(tmp_path / "layout")
    back = MemoryStore()
    assert copy(reopened, "v1", back).digest == index.digest
    assert all_digests(back, index) == all_digests(src, index)
    assert len(all_digests(src, index)) == 8  # index, 2 manifests, 2 configs, 3 layers
    # The layout on disk is what the image-spec says, and nothing else.
    assert json.loads((tmp_path / "layout" / "oci-layout").read_bytes()) == {
        "imageLayoutVersion": "1.0.0"
    }
    expected = {"oci-layout", "index.json"} | {
        "blobs/sha256/" + d.split(":")[1] for d in all_digests(src, index)
    }
    assert files_under(tmp_path / "layout") == expected
    entries = json.loads((tmp_path / "layout" / "index.json").read_bytes())["manifests"]
    assert [(e["digest"], e["annotations"][REF_NAME]) for e in entries] == [(index.digest, "v1")]


def test_memory_to_tar_to_memory_keeps_every_digest(
    tmp_path: Path, source: tuple[MemoryStore, Descriptor]
) -> None:
    src, index = source
    target = tmp_path / "backup.tar"
    with open_layout(target, "w") as layout:
        assert isinstance(layout, LayoutTarStore)
        copy(src, "v1", layout, options=CopyOptions(concurrency=4))
        assert not target.exists()  # written on close
    assert sorted(os.listdir(tmp_path)) == ["backup.tar"]  # the staging directory is gone

    with open_layout(target) as layout:
        back = MemoryStore()
        assert copy(layout, "v1", back).digest == index.digest
    assert all_digests(back, index) == all_digests(src, index)
    with tarfile.open(target) as tar:
        names = {m.name for m in tar if m.isfile()}
    assert {"oci-layout", "index.json"} <= names
    assert len(names) == 10


def test_a_platform_copied_into_a_layout_is_tagged_with_its_own_descriptor(
    tmp_path: Path, source: tuple[MemoryStore, Descriptor]
) -> None:
    src, _ = source
    layout = LayoutStore(tmp_path / "layout")
    options = CopyOptions(platform=Platform.parse("linux/arm64"), extra_tags=["arm"])
    root = copy(src, "v1", layout, "v1-arm64", options)
    assert layout.resolve("v1-arm64").digest == root.digest
    assert layout.resolve("arm").digest == root.digest
    assert list(layout.tags()) == ["arm", "v1-arm64"]
    assert json.loads(layout.fetch(root).read())["config"]["size"] == len(
        b'{"architecture":"arm64"}'
    )


def test_tar_written_twice_from_the_same_content_is_byte_identical(
    tmp_path: Path, source: tuple[MemoryStore, Descriptor]
) -> None:
    src, _ = source
    for name in ("a.tar", "b.tar"):
        with LayoutTarStore(tmp_path / name, "w") as layout:
            copy(src, "v1", layout, options=CopyOptions(concurrency=4))
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


# -- references ------------------------------------------------------------------------------


def test_tag_resolve_and_tags(tmp_path: Path) -> None:
    src = MemoryStore()
    one = make_image(src, b"one")
    two = make_image(src, b"two")
    layout = LayoutStore(tmp_path / "layout")
    copy_graph(src, layout, one)
    copy_graph(src, layout, two)
    layout.tag(one, "v1")
    layout.tag(one, "stable")
    layout.tag(two, "v2")
    layout.tag(two, "stable")  # moves the tag
    assert list(layout.tags()) == ["stable", "v1", "v2"]
    assert list(layout.tags(last="stable")) == ["v1", "v2"]

    reopened = LayoutStore(tmp_path / "layout")
    assert reopened.resolve("stable").digest == two.digest
    assert reopened.resolve("v1") == Descriptor(MANIFEST, one.digest, one.size)
    by_digest = reopened.resolve(one.digest)
    assert (by_digest.media_type, by_digest.size) == (MANIFEST, one.size)
    entries = json.loads((tmp_path / "layout" / "index.json").read_bytes())["manifests"]
    assert sorted(e["annotations"][REF_NAME] for e in entries) == ["stable", "v1", "v2"]

    with pytest.raises(NotFoundError, match="no such tag"):
        reopened.resolve("v3")
    with pytest.raises(NotFoundError):
        reopened.resolve(digest_bytes(b"never stored"))


def test_an_untagged_root_is_not_listed_but_resolves_by_digest(tmp_path: Path) -> None:
    src = MemoryStore()
    root = make_image(src, b"layer", artifact_type="application/vnd.example")
    layout = LayoutStore(tmp_path / "layout")
    copy_graph(src, layout, root)
    index = json.loads((tmp_path / "layout" / "index.json").read_bytes())
    assert index["manifests"] == []

    reopened = LayoutStore(tmp_path / "layout")
    found = reopened.resolve(root.digest)
    assert (found.media_type, found.digest, found.size) == (MANIFEST, root.digest, root.size)
    assert found.artifact_type == "application/vnd.example"
    layer = Descriptor.from_dict(json.loads(reopened.fetch(root).read())["layers"][0])
    plain = reopened.resolve(layer.digest)
    assert (plain.media_type, plain.size) == ("application/octet-stream", layer.size)


def test_tagging_keeps_other_entries_and_unknown_fields(tmp_path: Path) -> None:
    src = MemoryStore()
    one = make_image(src, b"one")
    two = make_image(src, b"two")
    layout = LayoutStore(tmp_path / "layout")
    copy_graph(src, layout, one)
    copy_graph(src, layout, two)
    index_path = tmp_path / "layout" / "index.json"
    foreign = {
        **one.to_dict(),
        "annotations": {REF_NAME: "theirs", "org.example.note": "kept"},
        "x-unknown": [1, 2],
    }
    untagged = {**two.to_dict(), "platform": {"os": "linux", "architecture": "amd64"}}
    index_path.write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": INDEX,
                "annotations": {"org.example.index": "yes"},
                "x-extension": {"a": 1},
                "manifests": [foreign, untagged],
            }
        )
    )
    layout = LayoutStore(tmp_path / "layout")
    layout.tag(two, "mine")
    index = json.loads(index_path.read_bytes())
    assert index["annotations"] == {"org.example.index": "yes"}
    assert index["x-extension"] == {"a": 1}
    assert index["manifests"][:2] == [foreign, untagged]
    assert index["manifests"][2]["annotations"] == {REF_NAME: "mine"}
    assert list(layout.tags()) == ["mine", "theirs"]
    # A tag resolves to its entry's descriptor, without the tag annotation.
    theirs = layout.resolve("theirs")
    assert theirs.annotations == {"org.example.note": "kept"}
    assert theirs.extra == {"x-unknown": [1, 2]}
    assert layout.resolve(two.digest) == Descriptor(MANIFEST, two.digest, two.size)


def test_tagging_refuses_missing_content_and_digests(tmp_path: Path) -> None:
    src = MemoryStore()
    one = make_image(src, b"one")
    layout = LayoutStore(tmp_path / "layout")
    with pytest.raises(NotFoundError):
        layout.tag(one, "v1")
    copy_graph(src, layout, one)
    with pytest.raises(ValueError, match="digest"):
        layout.tag(one, digest_bytes(b"other"))
    for bad in ("", " v1", "v1 "):
        with pytest.raises(ValueError):
            layout.tag(one, bad)
    layout.tag(one, one.digest)  # a manifest resolves by its digest already: nothing to add
    assert json.loads((tmp_path / "layout" / "index.json").read_bytes())["manifests"] == []


def test_tags_may_look_like_references(tmp_path: Path) -> None:
    """image-spec's ref.name grammar allows `:`, `/` and `@`: `app:v1` is a tag, not a digest."""
    src = MemoryStore()
    one = make_image(src, b"one")
    layout = LayoutStore(tmp_path / "layout")
    copy_graph(src, layout, one)
    for name in ("app:v1", "example.com/app:v1", "app@beta"):
        layout.tag(one, name)
    reopened = LayoutStore(tmp_path / "layout")
    assert list(reopened.tags()) == ["app:v1", "app@beta", "example.com/app:v1"]
    for name in ("app:v1", "example.com/app:v1", "app@beta"):
        assert reopened.resolve(name).digest == one.digest


def test_tags_from_many_threads_all_land_in_index_json(tmp_path: Path) -> None:
    src = MemoryStore()
    root = make_image(src, b"one")
    layout = LayoutStore(tmp_path / "layout")
    copy_graph(src, layout, root)
    start = threading.Barrier(16)

    def tag_some(worker: int) -> None:
        start.wait()
        for i in range(10):
            layout.tag(root, f"t{worker:02d}-{i}")

    threads = [threading.Thread(target=tag_some, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(list(LayoutStore(tmp_path / "layout").tags())) == 160
    assert files_under(tmp_path / "layout") == {
        "oci-layout",
        "index.json",
        *("blobs/sha256/" + d.split(":")[1] for d in all_digests(src, root)),
    }


# -- pushes that must not land ---------------------------------------------------------------


@pytest.mark.parametrize("content", [b"wrong bytes!", b"short", b"far too long for its descriptor"])
def test_a_push_with_wrong_content_leaves_nothing(tmp_path: Path, content: bytes) -> None:
    layout = LayoutStore(tmp_path / "layout")
    expected = Descriptor(LAYER, digest_bytes(b"right bytes!"), len(b"right bytes!"))
    with pytest.raises(DigestMismatchError):
        layout.push(expected, io.BytesIO(content))
    assert not layout.exists(expected)
    assert not any(name.startswith("blobs/") for name in files_under(tmp_path / "layout")), (
        "no blob and no temporary file"
    )
    with pytest.raises(DigestMismatchError):  # through a verifying reader as well
        layout.push(expected, VerifyingReader(io.BytesIO(content), expected))  # type: ignore[arg-type]
    assert not any(name.startswith("blobs/") for name in files_under(tmp_path / "layout"))


def test_a_verifying_reader_is_trusted_instead_of_hashing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import oras.content.reader

    data = b"verified on the way in"
    expected = Descriptor(LAYER, digest_bytes(data), len(data))
    reader = VerifyingReader(io.BytesIO(data), expected)

    def no_second_hash(digest: str) -> Any:
        raise AssertionError("hashed a second time")

    monkeypatch.setattr(oras.content.reader.Hasher, "for_digest", no_second_hash)
    layout = LayoutStore(tmp_path / "layout")
    layout.push(expected, reader)  # type: ignore[arg-type]
    assert layout.fetch(expected).read() == data
    assert not layout.exists(Descriptor(LAYER, expected.digest, expected.size + 1))


def test_a_push_into_a_tar_with_wrong_content_leaves_nothing(tmp_path: Path) -> None:
    expected = Descriptor(LAYER, digest_bytes(b"right"), 5)
    with LayoutTarStore(tmp_path / "x.tar", "w") as layout:
        with pytest.raises(DigestMismatchError):
            layout.push(expected, io.BytesIO(b"wrong"))
        assert not layout.exists(expected)
    assert os.listdir(tmp_path) == []


def test_a_push_that_fails_midway_leaves_no_temporary_file(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            self.calls += 1
            if self.calls > 2:
                raise ConnectionError("the source went away")
            buffer[:4] = b"data"
            return 4

    layout = LayoutStore(tmp_path / "layout")
    expected = Descriptor(LAYER, digest_bytes(b"x" * 100), 100)
    with pytest.raises(ConnectionError):
        layout.push(expected, Broken())  # type: ignore[arg-type]
    assert not any(name.startswith("blobs/") for name in files_under(tmp_path / "layout"))


def test_digests_cannot_name_paths_outside_the_blobs(tmp_path: Path) -> None:
    layout = LayoutStore(tmp_path / "layout")
    for digest in ("sha256:../../../etc/passwd", "../index.json", "sha256:/etc/passwd"):
        desc = Descriptor(LAYER, digest, 3)
        with pytest.raises(InvalidDigestError):
            layout.fetch(desc)
        with pytest.raises(InvalidDigestError):
            layout.exists(desc)
        with pytest.raises(InvalidDigestError):
            layout.push(desc, io.BytesIO(b"abc"))
    with pytest.raises(NotFoundError):
        layout.resolve("../../etc/passwd")
    assert not (tmp_path / "layout").exists()


# -- tars --------------------------------------------------------------------------------------


def test_an_interrupted_tar_write_leaves_nothing(
    tmp_path: Path, source: tuple[MemoryStore, Descriptor]
) -> None:
    src, _ = source
    with pytest.raises(KeyboardInterrupt):
        with LayoutTarStore(tmp_path / "x.tar", "w") as layout:
            copy(src, "v1", layout)
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_a_failure_while_the_tar_is_written_leaves_the_old_tar(
    tmp_path: Path, source: tuple[MemoryStore, Descriptor], monkeypatch: pytest.MonkeyPatch
) -> None:
    src, index = source
    target = tmp_path / "x.tar"
    with LayoutTarStore(target, "w") as layout:
        copy(src, "v1", layout)
    before = target.read_bytes()

    calls = 0
    real_addfile = tarfile.TarFile.addfile

    def addfile(self: tarfile.TarFile, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 6:
            raise KeyboardInterrupt
        real_addfile(self, *args, **kwargs)

    layout = LayoutTarStore(target, "w")
    layout.tag(index, "v2")
    monkeypatch.setattr(tarfile.TarFile, "addfile", addfile)
    with pytest.raises(KeyboardInterrupt):
        layout.close()
    assert calls == 6
    assert os.listdir(tmp_path) == ["x.tar"]
    assert target.read_bytes() == before
    monkeypatch.undo()

    # A fresh tar that fails while it is written leaves no file at all.
    calls = 0
    monkeypatch.setattr(tarfile.TarFile, "addfile", addfile)
    fresh = LayoutTarStore(tmp_path / "new.tar", "w")
    copy(src, "v1", fresh)
    with pytest.raises(KeyboardInterrupt):
        fresh.close()
    assert os.listdir(tmp_path) == ["x.tar"]


def test_writing_to_an_existing_tar_keeps_its_content(
    tmp_path: Path, source: tuple[MemoryStore, Descriptor]
) -> None:
    src, index = source
    target = tmp_path / "x.tar"
    with open_layout(target, "w") as layout:
        copy(src, "v1", layout)
    other = MemoryStore()
    extra = make_image(other, b"extra layer")
    other.tag(extra, "extra")
    with open_layout(target, "w") as layout:
        assert list(layout.tags()) == ["v1"]
        copy(other, "extra", layout)
        layout.delete(layout.resolve(index.digest))
    with open_layout(target) as layout:
        assert list(layout.tags()) == ["extra"]
        assert not layout.exists(index)
        back = MemoryStore()
        copy(layout, "extra", back)
        assert all_digests(back, extra) == all_digests(other, extra)


def test_a_tar_is_read_in_place(tmp_path: Path, source: tuple[MemoryStore, Descriptor]) -> None:
    src, index = source
    target = tmp_path / "x.tar"
    with open_layout(target, "w") as layout:
        copy(src, "v1", layout)
    with open_layout(target) as layout:
        layer = Descriptor.from_dict(
            json.loads(
                layout.fetch(
                    Descriptor.from_dict(json.loads(layout.fetch(index).read())["manifests"][0])
                ).read()
            )["layers"][1]
        )
        with layout.fetch(layer) as stream:
            assert stream.read(5) == b"amd64"
            stream.seek(1)
            assert stream.read() == b"md64 layer"
            assert stream.read() == b""
        assert os.listdir(tmp_path) == ["x.tar"]
        with pytest.raises(PermissionError):
            layout.push(layer, io.BytesIO(b"amd64 layer"))


def _write_tar(path: Path, members: list[tuple[tarfile.TarInfo, Optional[bytes]]]) -> None:
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


def test_tars_from_other_writers_are_read(tmp_path: Path) -> None:
    """Member names with `./`, hard links and no directory entries: other tools write these."""
    layer = b"a layer"
    config = b"{}"
    manifest = _json(
        {
            "schemaVersion": 2,
            "config": {"mediaType": CONFIG, "digest": digest_bytes(config), "size": 2},
            "layers": [{"mediaType": LAYER, "digest": digest_bytes(layer), "size": len(layer)}],
        }
    )  # no mediaType of its own: the index entry declares it
    entry = {
        "mediaType": MANIFEST,
        "digest": digest_bytes(manifest),
        "size": len(manifest),
        "annotations": {REF_NAME: "v1"},
    }
    index = _json({"schemaVersion": 2, "manifests": [entry]})

    def blob(data: bytes) -> str:
        return "./blobs/sha256/" + digest_bytes(data).split(":")[1]

    link = tarfile.TarInfo(blob(layer))
    link.type = tarfile.LNKTYPE
    link.linkname = "./elsewhere/layer"
    _write_tar(
        tmp_path / "other.tar",
        [
            (tarfile.TarInfo("./oci-layout"), b'{"imageLayoutVersion":"1.0.0"}'),
            (tarfile.TarInfo("./index.json"), index),
            (tarfile.TarInfo("./elsewhere/layer"), layer),
            (link, None),
            (tarfile.TarInfo(blob(config)), config),
            (tarfile.TarInfo(blob(manifest)), manifest),
        ],
    )
    with open_layout(tmp_path / "other.tar") as layout:
        layout.validate()
        root = layout.resolve("v1")
        assert root.media_type == MANIFEST
        back = MemoryStore()
        copy(layout, "v1", back)
        assert back.fetch(Descriptor(LAYER, digest_bytes(layer), len(layer))).read() == layer
        walked = [d.digest for d in layout.walk(root)]
        assert walked == [digest_bytes(config), digest_bytes(layer), root.digest]
        layer_desc = Descriptor(LAYER, digest_bytes(layer), len(layer))
        assert [p.digest for p in layout.predecessors(layer_desc)] == [root.digest]


def test_a_compressed_or_foreign_tar_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.tar").write_bytes(gzip.compress(b"not a tar at all" * 100))
    with pytest.raises(InvalidLayoutError, match="not an uncompressed tar"):
        open_layout(tmp_path / "x.tar", "w")
    _write_tar(tmp_path / "y.tar", [(tarfile.TarInfo("notes.txt"), b"hello")])
    with pytest.raises(InvalidLayoutError, match="oci-layout"):
        open_layout(tmp_path / "y.tar", "w")
    assert (tmp_path / "y.tar").read_bytes().startswith(b"notes.txt")


# -- directories -------------------------------------------------------------------------------


def test_a_missing_directory_is_created_on_the_first_write(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b"
    layout = LayoutStore(path)
    assert not path.exists()
    assert list(layout.tags()) == []
    with pytest.raises(NotFoundError):
        layout.resolve("v1")
    assert not path.exists()
    layout.push(Descriptor(LAYER, digest_bytes(b"x"), 1), io.BytesIO(b"x"))
    assert files_under(path) == {
        "oci-layout",
        "index.json",
        "blobs/sha256/" + digest_bytes(b"x").split(":")[1],
    }
    assert json.loads((path / "index.json").read_bytes()) == {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [],
    }
    LayoutStore(path, read_only=True).validate()


def test_an_empty_directory_is_used_and_a_foreign_one_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    LayoutStore(tmp_path / "empty").push(Descriptor(LAYER, digest_bytes(b"x"), 1), io.BytesIO(b"x"))
    assert (tmp_path / "empty" / "oci-layout").is_file()

    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("mine")
    with pytest.raises(InvalidLayoutError, match="not an OCI image layout") as caught:
        LayoutStore(tmp_path / "home")
    assert caught.value.hint
    assert os.listdir(tmp_path / "home") == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidLayoutError, match="not a directory"):
        LayoutStore(tmp_path / "file")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("oci-layout", b'{"imageLayoutVersion":"2.0.0"}', "unsupported imageLayoutVersion"),
        ("oci-layout", b"[]", "not a JSON object"),
        ("index.json", b"{not json", "not valid JSON"),
        ("index.json", b'{"manifests":{}}', "not a list"),
        ("index.json", b'{"manifests":[{"digest":"sha256:nope","size":1}]}', "manifests\\[0\\]"),
    ],
)
def test_a_malformed_layout_is_refused(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / "layout"
    LayoutStore(path).push(Descriptor(LAYER, digest_bytes(b"x"), 1), io.BytesIO(b"x"))
    (path / name).write_bytes(content)
    with pytest.raises(InvalidLayoutError, match=message):
        open_layout(path)


def test_validate_checks_what_the_image_spec_requires(tmp_path: Path) -> None:
    path = tmp_path / "layout"
    LayoutStore(path).push(Descriptor(LAYER, digest_bytes(b"x"), 1), io.BytesIO(b"x"))
    (path / "index.json").write_bytes(b'{"schemaVersion":1,"manifests":[]}')
    with pytest.raises(InvalidLayoutError, match="schemaVersion"):
        open_layout(path).validate()
    (path / "index.json").unlink()
    with pytest.raises(InvalidLayoutError, match="no index.json"):
        open_layout(path).validate()


def test_open_layout_picks_directory_or_tar(tmp_path: Path) -> None:
    assert type(open_layout(tmp_path / "new.tar", "w")) is LayoutTarStore
    assert type(open_layout(tmp_path / "new", "w")) is LayoutStore
    (tmp_path / "dir.tar").mkdir()
    assert type(open_layout(tmp_path / "dir.tar", "w")) is LayoutStore
    with LayoutTarStore(tmp_path / "archive", "w") as layout:  # a tar without the suffix
        layout.push(Descriptor(LAYER, digest_bytes(b"x"), 1), io.BytesIO(b"x"))
    assert type(open_layout(tmp_path / "archive")) is LayoutTarStore
    for missing in ("missing", "missing.tar"):
        with pytest.raises(NotFoundError):
            open_layout(tmp_path / missing)
    with pytest.raises(ValueError, match="mode"):
        open_layout(tmp_path / "new", "a")
    store: BaseLayoutStore = open_layout(tmp_path / "new.tar", "w")
    assert store.read_only is False


# -- graph and deletion -----------------------------------------------------------------------


def test_predecessors_are_found_after_reopening(tmp_path: Path) -> None:
    src = MemoryStore()
    index, amd64, arm64 = make_multi_platform(src)
    src.tag(index, "v1")
    referrer = make_image(src, b"signature", subject=amd64, artifact_type="application/x.sig")
    for path in (tmp_path / "layout", tmp_path / "x.tar"):
        with open_layout(path, "w") as layout:
            copy(src, "v1", layout)
            copy_graph(src, layout, referrer)  # untagged, as an attached artifact is
            assert {d.digest for d in layout.predecessors(amd64)} == {index.digest, referrer.digest}
        with open_layout(path) as layout:
            found = {d.digest: d for d in layout.predecessors(amd64)}
            assert set(found) == {index.digest, referrer.digest}
            assert found[referrer.digest].artifact_type == "application/x.sig"
            assert found[index.digest].media_type == INDEX
            assert [d.digest for d in layout.predecessors(arm64)] == [index.digest]
            shared = Descriptor(LAYER, digest_bytes(b"shared layer"), 12)
            assert {d.digest for d in layout.predecessors(shared)} == {amd64.digest, arm64.digest}


def test_predecessors_of_a_manifest_pushed_after_the_first_question(tmp_path: Path) -> None:
    src = MemoryStore()
    root = make_image(src, b"layer")
    layout = LayoutStore(tmp_path / "layout")
    copy_graph(src, layout, root)
    assert layout.predecessors(root) == []
    referrer = make_image(src, b"sbom", subject=root)
    copy_graph(src, layout, referrer)
    assert [d.digest for d in layout.predecessors(root)] == [referrer.digest]


def test_delete_removes_the_blob_and_its_tags(tmp_path: Path) -> None:
    src = MemoryStore()
    root = make_image(src, b"layer")
    referrer = make_image(src, b"sbom", subject=root)
    layout = LayoutStore(tmp_path / "layout")
    copy_graph(src, layout, root)
    copy_graph(src, layout, referrer)
    layout.tag(root, "v1")
    layout.tag(root, "latest")
    layout.tag(referrer, "sbom")
    assert layout.predecessors(root) != []
    layout.delete(referrer)
    assert not layout.exists(referrer)
    assert layout.predecessors(root) == []
    layout.delete(root)
    assert list(layout.tags()) == []
    assert json.loads((tmp_path / "layout" / "index.json").read_bytes())["manifests"] == []
    with pytest.raises(NotFoundError):
        layout.resolve(root.digest)
    with pytest.raises(NotFoundError):
        layout.delete(root)


def test_walk_lists_children_before_parents(tmp_path: Path) -> None:
    src = MemoryStore()
    index, amd64, arm64 = make_multi_platform(src)
    layout = LayoutStore(tmp_path / "layout")
    copy_graph(src, layout, index)
    walked = layout.walk(index)
    digests = [d.digest for d in walked]
    assert len(digests) == len(set(digests)) == 8
    assert digests[-1] == index.digest
    assert digests.index(amd64.digest) < digests.index(index.digest)
    shared = digest_bytes(b"shared layer")
    assert digests.index(shared) < digests.index(amd64.digest) < digests.index(arm64.digest)


def test_a_concurrent_copy_into_a_tar_and_a_directory(
    tmp_path: Path, source: tuple[MemoryStore, Descriptor]
) -> None:
    src, index = source
    for i in range(12):
        src.tag(make_image(src, f"layer {i}".encode(), b"shared"), f"image-{i}")
    for path in (tmp_path / "layout", tmp_path / "x.tar"):
        with open_layout(path, "w") as layout:
            threads = [
                threading.Thread(
                    target=copy,
                    args=(src, f"image-{i}", layout),
                    kwargs={"options": CopyOptions(concurrency=4)},
                )
                for i in range(12)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        with open_layout(path) as layout:
            assert list(layout.tags()) == sorted(f"image-{i}" for i in range(12))
            for i in range(12):
                root = src.resolve(f"image-{i}")
                back = MemoryStore()
                copy_graph(layout, back, root, CopyGraphOptions(concurrency=2))
                assert all_digests(back, root) == all_digests(src, root)
