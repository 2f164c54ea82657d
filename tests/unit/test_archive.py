"""Tests for oras.archive: reproducible packing, streamed digests and safe extraction."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path
from typing import Optional

import pytest

from oras.archive import (
    TarballInfo,
    check_links_inside,
    make_targz,
    safe_extract_targz,
    safe_join,
)
from oras.digest import digest_bytes
from oras.errors import (
    ArchiveError,
    DigestMismatchError,
    InvalidDigestError,
    OutputConflictError,
    PathTraversalError,
)


def _make_tree(base: Path, mtime: Optional[int] = None) -> Path:
    root = base / "data"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "b.txt").write_text("bravo\n")
    (root / "a.txt").write_text("alpha\n")
    (root / "sub" / "c.bin").write_bytes(bytes(range(256)) * 50)
    (root / "sub" / "deeper" / "d.txt").write_text("delta\n")
    (root / "empty").mkdir()
    os.symlink("a.txt", root / "link-to-a")
    if mtime is not None:
        for path in [root, *root.rglob("*")]:
            os.utime(path, (mtime, mtime), follow_symlinks=False)
    return root


def _members(path: str) -> list[tarfile.TarInfo]:
    with tarfile.open(path, "r:gz") as tar:
        return tar.getmembers()


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, Optional[bytes]]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _dir(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


def _special(name: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info, None


def _build(path: Path, members: list[tuple[tarfile.TarInfo, Optional[bytes]]]) -> str:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return str(path)


def _listing(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


# --- make_targz -------------------------------------------------------------------------------


def test_make_targz_layout_and_normalisation(tmp_path: Path) -> None:
    source = _make_tree(tmp_path / "src")
    info = make_targz(str(source), str(tmp_path / "out.tar.gz"))
    assert isinstance(info, TarballInfo)
    assert info.path == str(tmp_path / "out.tar.gz")

    members = _members(info.path)
    names = [m.name for m in members]
    assert names == [
        "data",
        "data/a.txt",
        "data/b.txt",
        "data/empty",
        "data/link-to-a",
        "data/sub",
        "data/sub/c.bin",
        "data/sub/deeper",
        "data/sub/deeper/d.txt",
    ]
    stat = os.stat(source / "a.txt")
    for member in members:
        assert member.mtime == 0
        assert member.uid == stat.st_uid
        assert member.gid == stat.st_gid
    link = members[names.index("data/link-to-a")]
    assert link.issym() and link.linkname == "a.txt"


def test_make_targz_gzip_header(tmp_path: Path) -> None:
    source = _make_tree(tmp_path / "src")
    info = make_targz(str(source), str(tmp_path / "named.tar.gz"))
    header = Path(info.path).read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0  # no FNAME, FEXTRA or FCOMMENT
    assert header[4:8] == b"\x00\x00\x00\x00"  # mtime 0


def test_make_targz_streamed_digests_match_whole_file(tmp_path: Path) -> None:
    source = _make_tree(tmp_path / "src")
    info = make_targz(str(source), str(tmp_path / "out.tar.gz"))
    raw = Path(info.path).read_bytes()
    assert info.size == len(raw)
    assert info.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert info.tar_digest == "sha256:" + hashlib.sha256(gzip.decompress(raw)).hexdigest()


def test_make_targz_is_reproducible(tmp_path: Path) -> None:
    first = _make_tree(tmp_path / "one", mtime=1_000_000)
    second = _make_tree(tmp_path / "two", mtime=1_700_000_000)
    a = make_targz(str(first), str(tmp_path / "a.tar.gz"))
    b = make_targz(str(second), str(tmp_path / "elsewhere" / "b.tar.gz"))
    assert (a.digest, a.size, a.tar_digest) == (b.digest, b.size, b.tar_digest)
    assert Path(a.path).read_bytes() == Path(b.path).read_bytes()


def test_make_targz_trailing_slash(tmp_path: Path) -> None:
    source = _make_tree(tmp_path / "src")
    plain = make_targz(str(source), str(tmp_path / "plain.tar.gz"))
    slashed = make_targz(str(source) + "/", str(tmp_path / "slashed.tar.gz"))
    assert _members(slashed.path)[0].name == "data"
    assert plain.digest == slashed.digest


def test_make_targz_relative_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _make_tree(tmp_path)
    monkeypatch.chdir(tmp_path / "data")
    info = make_targz(".", str(tmp_path / "dot.tar.gz"))
    assert _members(info.path)[0].name == "data"


def test_make_targz_excludes_its_own_output(tmp_path: Path) -> None:
    source = _make_tree(tmp_path / "src")
    info = make_targz(str(source), str(source / "self.tar.gz"))
    assert "data/self.tar.gz" not in [m.name for m in _members(info.path)]


def test_make_targz_keeps_hardlinks(tmp_path: Path) -> None:
    source = _make_tree(tmp_path / "src")
    os.link(source / "a.txt", source / "z-hard.txt")
    info = make_targz(str(source), str(tmp_path / "out.tar.gz"))
    hard = [m for m in _members(info.path) if m.name == "data/z-hard.txt"][0]
    assert hard.islnk() and hard.linkname == "data/a.txt"
    out = tmp_path / "out"
    safe_extract_targz(info.path, str(out), info.tar_digest)
    assert (out / "data" / "z-hard.txt").read_text() == "alpha\n"
    assert os.path.samefile(out / "data" / "z-hard.txt", out / "data" / "a.txt")


def test_make_targz_missing_or_unpackable(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        make_targz(str(tmp_path / "missing"), str(tmp_path / "x.tar.gz"))
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ValueError, match="neither a directory nor a regular file"):
        make_targz(str(tmp_path / "fifo"), str(tmp_path / "x.tar.gz"))
    assert not (tmp_path / "x.tar.gz").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="over itself"):
        make_targz(str(tmp_path / "file"), str(tmp_path / "file"))
    assert (tmp_path / "file").read_text() == "x"


def test_make_targz_of_a_single_file_is_reproducible(tmp_path: Path) -> None:
    """oras-py packs a lone file too: one member named after it, with the directory rules."""
    first, second = tmp_path / "one" / "notes.txt", tmp_path / "two" / "notes.txt"
    for path, mtime in ((first, 1_000_000), (second, 1_700_000_000)):
        path.parent.mkdir()
        path.write_text("hello!")
        os.utime(path, (mtime, mtime))
    a = make_targz(str(first), str(tmp_path / "a.tar.gz"))
    b = make_targz(str(second), str(tmp_path / "b.tar.gz"))
    assert Path(a.path).read_bytes() == Path(b.path).read_bytes()
    (member,) = _members(a.path)
    assert (member.name, member.isfile(), member.size, member.mtime) == ("notes.txt", True, 6, 0)


# --- safe_extract_targz: round trips ----------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    source = _make_tree(tmp_path / "src")
    info = make_targz(str(source), str(tmp_path / "out.tar.gz"))
    out = tmp_path / "out"
    paths = safe_extract_targz(info.path, str(out), expected_tar_digest=info.tar_digest)
    root = os.path.realpath(out)
    assert paths[0] == os.path.join(root, "data")
    assert os.path.join(root, "data", "sub", "deeper", "d.txt") in paths
    assert all(os.path.lexists(p) for p in paths)
    assert _listing(out) == _listing(tmp_path / "src")
    assert (out / "data" / "sub" / "c.bin").read_bytes() == bytes(range(256)) * 50
    assert os.readlink(out / "data" / "link-to-a") == "a.txt"
    assert (out / "data" / "link-to-a").read_text() == "alpha\n"
    assert not [p for p in os.listdir(out) if p.startswith(".oras-extract-")]


def test_extract_merges_into_existing_outdir(tmp_path: Path) -> None:
    source = _make_tree(tmp_path / "src")
    info = make_targz(str(source), str(tmp_path / "out.tar.gz"))
    out = tmp_path / "out"
    (out / "data").mkdir(parents=True)
    (out / "keep.txt").write_text("mine")
    (out / "data" / "a.txt").write_text("old")
    (out / "data" / "extra.txt").write_text("extra")
    safe_extract_targz(info.path, str(out))
    assert (out / "keep.txt").read_text() == "mine"
    assert (out / "data" / "extra.txt").read_text() == "extra"
    assert (out / "data" / "a.txt").read_text() == "alpha\n"


def test_extract_refuses_to_replace_symlink_in_outdir_and_never_follows_it(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(victim, out / "data")
    archive = _build(tmp_path / "t.tar.gz", [_dir("data"), _file("data/f", b"payload")])
    with pytest.raises(OutputConflictError, match="symbolic link"):
        safe_extract_targz(archive, str(out))
    assert (out / "data").is_symlink()
    assert os.listdir(victim) == []
    assert os.listdir(out) == ["data"]


@pytest.mark.parametrize("existing", ["file", "dir"])
def test_extract_never_swaps_a_file_and_a_directory(tmp_path: Path, existing: str) -> None:
    out = tmp_path / "out"
    (out / "pkg").mkdir(parents=True)
    if existing == "file":
        (out / "pkg" / "d").write_text("precious")
        members = [_dir("pkg"), _dir("pkg/d"), _file("pkg/d/f", b"payload"), _file("pkg/new")]
    else:
        (out / "pkg" / "d").mkdir()
        (out / "pkg" / "d" / "mine").write_text("precious")
        members = [_dir("pkg"), _file("pkg/d", b"payload"), _file("pkg/new")]
    archive = _build(tmp_path / "t.tar.gz", members)
    with pytest.raises(
        OutputConflictError,
        match=f"replace the {'file' if existing == 'file' else 'directory'} .*pkg/d",
    ):
        safe_extract_targz(archive, str(out))
    # Nothing of the archive was moved in, and nothing is left behind.
    assert sorted(os.listdir(out / "pkg")) == ["d"]
    assert not [p for p in os.listdir(out) if p.startswith(".oras-extract-")]
    if existing == "file":
        assert (out / "pkg" / "d").read_text() == "precious"
    else:
        assert (out / "pkg" / "d" / "mine").read_text() == "precious"


def test_extract_read_only_directory(tmp_path: Path) -> None:
    info, _ = _dir("ro")
    info.mode = 0o555
    archive = _build(tmp_path / "t.tar.gz", [(info, None), _file("ro/f", b"data")])
    out = tmp_path / "out"
    safe_extract_targz(archive, str(out))
    assert (out / "ro" / "f").read_bytes() == b"data"
    assert (os.stat(out / "ro").st_mode & 0o777) == 0o755 & 0o555 | 0o700
    os.chmod(out / "ro", 0o755)


def test_extract_strips_dangerous_mode_bits(tmp_path: Path) -> None:
    info, data = _file("setuid", b"#!/bin/sh\n")
    info.mode = 0o4777
    archive = _build(tmp_path / "t.tar.gz", [(info, data)])
    out = tmp_path / "out"
    safe_extract_targz(archive, str(out))
    assert (os.stat(out / "setuid").st_mode & 0o7777) == 0o755


def test_extract_dot_entries(tmp_path: Path) -> None:
    archive = _build(tmp_path / "t.tar.gz", [_dir("."), _dir("./d"), _file("./d/f", b"1")])
    out = tmp_path / "out"
    paths = safe_extract_targz(archive, str(out))
    root = os.path.realpath(out)
    assert paths == [os.path.join(root, "d"), os.path.join(root, "d", "f")]


# --- safe_extract_targz: refusals --------------------------------------------------------------


@pytest.mark.parametrize(
    "members,name",
    [
        ([_file("../x")], "../x"),
        ([_file("/abs")], "/abs"),
        ([_file("/etc/passwd")], "/etc/passwd"),
        ([_file("ok"), _file("a/../../x")], "a/../../x"),
        ([_file("../out2/x")], "../out2/x"),
        ([_link("etc", "/etc")], "etc"),
        ([_link("up", "../..")], "up"),
        ([_dir("d"), _link("d/up", "../../out2")], "d/up"),
        ([_file("inside"), _link("hard", "../outside", tarfile.LNKTYPE)], "hard"),
        ([_link("hard", "/etc/passwd", tarfile.LNKTYPE)], "hard"),
        ([_special("dev", tarfile.CHRTYPE)], "dev"),
        ([_special("blk", tarfile.BLKTYPE)], "blk"),
        ([_special("fifo", tarfile.FIFOTYPE)], "fifo"),
    ],
)
def test_refused_members(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, Optional[bytes]]], name: str
) -> None:
    archive = _build(tmp_path / "evil.tar.gz", members)
    out = tmp_path / "out"
    with pytest.raises(PathTraversalError) as info:
        safe_extract_targz(archive, str(out))
    message = str(info.value)
    assert repr(name) in message
    assert "\n" not in message
    # Nothing half-extracted, nothing outside.
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["evil.tar.gz"]


def test_refusal_keeps_existing_outdir_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "existing").write_text("keep")
    archive = _build(tmp_path / "evil.tar.gz", [_file("good", b"1"), _file("../out2/x")])
    with pytest.raises(PathTraversalError):
        safe_extract_targz(archive, str(out))
    assert os.listdir(out) == ["existing"]
    assert not (tmp_path / "out2").exists()


def test_symlink_through_symlink_then_write(tmp_path: Path) -> None:
    # "link" points inside; writing through it is fine, writing through "esc" is not.
    archive = _build(
        tmp_path / "t.tar.gz",
        [_dir("sub"), _link("link", "sub"), _file("link/f", b"ok")],
    )
    out = tmp_path / "out"
    safe_extract_targz(archive, str(out))
    assert (out / "sub" / "f").read_bytes() == b"ok"


def test_symlink_retargeted_by_a_later_member_is_refused(tmp_path: Path) -> None:
    # "a" looks inside when created (c/b does not exist yet); once c/b -> .. exists it leads out.
    archive = _build(
        tmp_path / "evil.tar.gz",
        [_link("a", "c/b/../x"), _dir("c"), _link("c/b", "..")],
    )
    out = tmp_path / "out"
    with pytest.raises(PathTraversalError, match="'a'"):
        safe_extract_targz(archive, str(out))
    assert not out.exists()


def test_write_through_retargeted_symlink_is_refused(tmp_path: Path) -> None:
    archive = _build(
        tmp_path / "evil.tar.gz",
        [_link("a", "c/b/../x"), _dir("c"), _link("c/b", ".."), _file("a/evil", b"!")],
    )
    out = tmp_path / "out"
    with pytest.raises(PathTraversalError, match="a/evil"):
        safe_extract_targz(archive, str(out))
    assert sorted(os.listdir(tmp_path)) == ["evil.tar.gz"]


def test_tar_digest_mismatch(tmp_path: Path) -> None:
    source = _make_tree(tmp_path / "src")
    info = make_targz(str(source), str(tmp_path / "out.tar.gz"))
    out = tmp_path / "out"
    with pytest.raises(DigestMismatchError, match="does not match"):
        safe_extract_targz(info.path, str(out), expected_tar_digest=digest_bytes(b"other"))
    assert not out.exists()


def test_tar_digest_covers_trailing_padding(tmp_path: Path) -> None:
    archive = _build(tmp_path / "t.tar.gz", [_file("f", b"1")])
    expected = "sha256:" + hashlib.sha256(gzip.decompress(Path(archive).read_bytes())).hexdigest()
    safe_extract_targz(archive, str(tmp_path / "out"), expected_tar_digest=expected)
    assert (tmp_path / "out" / "f").read_bytes() == b"1"


# --- safe_join ---------------------------------------------------------------------------------


def test_safe_join_inside(tmp_path: Path) -> None:
    base = os.path.realpath(tmp_path)
    assert safe_join(str(tmp_path), "a.txt") == os.path.join(base, "a.txt")
    assert safe_join(str(tmp_path), "sub/../b") == os.path.join(base, "b")
    assert safe_join(str(tmp_path), "x/y") == os.path.join(base, "x", "y")


@pytest.mark.parametrize("name", ["../x", "/abs", "/etc/passwd", "a/../../x", "", ".", "../out2/x"])
def test_safe_join_refuses(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PathTraversalError):
        safe_join(str(out), name)


def test_safe_join_resolves_symlinks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    os.symlink("/etc", out / "etc")
    with pytest.raises(PathTraversalError):
        safe_join(str(out), "etc/passwd")
    os.symlink(".", out / "self")
    assert safe_join(str(out), "self/f") == os.path.join(os.path.realpath(out), "f")


# --- streaming: memory stays constant -----------------------------------------------------------


def _write_random(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        for _ in range(size // (1024 * 1024)):
            handle.write(os.urandom(1024 * 1024))


def test_pack_and_extract_stream_in_constant_memory(tmp_path: Path) -> None:
    import tracemalloc

    size = 12 * 1024 * 1024
    source = tmp_path / "big"
    source.mkdir()
    _write_random(source / "blob.bin", size)
    tracemalloc.start()
    try:
        info = make_targz(str(source), str(tmp_path / "big.tar.gz"))
        _, pack_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        safe_extract_targz(info.path, str(tmp_path / "out"), info.tar_digest)
        _, extract_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Far below the 12 MiB file, and independent of its size.
    assert pack_peak < 2 * 1024 * 1024
    assert extract_peak < 2 * 1024 * 1024
    assert os.path.getsize(tmp_path / "out" / "big" / "blob.bin") == size


def test_make_targz_destination_is_a_directory(tmp_path: Path) -> None:
    source = _make_tree(tmp_path / "src")
    (tmp_path / "dest").mkdir()
    with pytest.raises(IsADirectoryError):
        make_targz(str(source), str(tmp_path / "dest"))
    assert (tmp_path / "dest").is_dir()


def test_invalid_expected_digest_is_refused_up_front(tmp_path: Path) -> None:
    archive = _build(tmp_path / "t.tar.gz", [_file("f", b"1")])
    with pytest.raises(InvalidDigestError):
        safe_extract_targz(archive, str(tmp_path / "out"), expected_tar_digest="sha256:short")
    assert not (tmp_path / "out").exists()


# -- symbolic links in a directory about to be pushed ---------------------------------------------


def _links_tree(base: Path) -> Path:
    """A directory whose links all stay inside it, including a dangling one."""
    root = base / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    os.symlink("a.txt", root / "to-a")
    os.symlink("sub", root / "to-sub")
    os.symlink("../a.txt", root / "sub" / "up-to-a")
    os.symlink("..", root / "sub" / "up-to-root")
    os.symlink("not-yet", root / "dangling")
    return root


def test_links_inside_the_directory_are_accepted(tmp_path: Path) -> None:
    root = _links_tree(tmp_path)
    check_links_inside(str(root))
    # Packed as links, and extracted back as the same links.
    info = make_targz(str(root), str(tmp_path / "t.tar.gz"))
    safe_extract_targz(info.path, str(tmp_path / "out"), expected_tar_digest=info.tar_digest)
    assert os.readlink(tmp_path / "out" / "data" / "sub" / "up-to-a") == "../a.txt"


@pytest.mark.parametrize(
    "link, target, reason",
    [
        ("out", "/etc/passwd", "its target is an absolute path"),
        ("abs-inside", "{root}/a.txt", "its target is an absolute path"),
        ("parent", "..", "it leads outside"),
        ("sibling", "../other.txt", "it leads outside"),
        ("sub/deep", "../../other.txt", "it leads outside"),
        ("sub/through-link", "../to-sub/../../other.txt", "it leads outside"),
        ("dangling-out", "../missing", "it leads outside"),
    ],
)
def test_links_leaving_the_directory_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, link: str, target: str, reason: str
) -> None:
    root = _links_tree(tmp_path)
    (tmp_path / "other.txt").write_text("outside")
    os.symlink(target.format(root=root), root / link)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PathTraversalError) as caught:
        check_links_inside("data")
    message = str(caught.value)
    assert message.startswith(f"refusing to push symbolic link {os.path.join('data', link)} -> ")
    assert reason in message
    assert caught.value.hint and "stay inside" in caught.value.hint
    with pytest.raises(PathTraversalError):
        check_links_inside(str(root))  # the same through an absolute path


def test_links_check_a_directory_given_as_a_link(tmp_path: Path) -> None:
    root = _links_tree(tmp_path)
    os.symlink(root, tmp_path / "alias")
    check_links_inside(str(tmp_path / "alias"))
    os.symlink("../../elsewhere", root / "sub" / "escape")
    with pytest.raises(PathTraversalError, match="alias/sub/escape"):
        check_links_inside(str(tmp_path / "alias"))


def _truncated_targz(tmp_path: Path) -> bytes:
    whole = Path(_build(tmp_path / "whole.tar.gz", [_file("f", os.urandom(50_000))])).read_bytes()
    return whole[: len(whole) // 2]


@pytest.mark.parametrize(
    "content",
    [
        lambda tmp: b"hello, not gzip\n",
        lambda tmp: gzip.compress(b"gzip, but no tar inside" * 40),
        _truncated_targz,
    ],
    ids=["not-gzip", "not-tar", "truncated"],
)
def test_extract_unreadable_archive_is_a_typed_error(tmp_path: Path, content) -> None:
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(content(tmp_path))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveError, match="cannot unpack layer 'x': it is not a tar\\+gzip"):
        safe_extract_targz(str(archive), str(out), label="layer 'x'")
    assert os.listdir(out) == []
