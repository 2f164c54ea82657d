"""oras.archive against hostile archives: bombs, deep and long names, control characters, mode
bits, and names that are only odd on other systems. (Escapes, links and devices: test_archive.py
and properties/test_props_archive.py.)"""

from __future__ import annotations

import os
import stat
import tarfile
import time
from pathlib import Path

import pytest

import oras.archive
from oras.archive import safe_extract_targz
from oras.errors import ArchiveError
from tests.harness.hostile_archives import (
    Member,
    directory,
    file,
    fingerprint,
    gzip_member,
    header_bomb,
    link,
    member_bomb,
    targz,
    zero_bomb,
)

MiB = 1024 * 1024


def _write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "layer.tar.gz"
    path.write_bytes(data)
    return str(path)


def _refused(tmp_path: Path, data: bytes, match: str) -> ArchiveError:
    """Extracting `data` raises a one-line ArchiveError matching `match` and leaves nothing:
    no output directory, nothing else changed under tmp_path."""
    archive = _write(tmp_path, data)
    before = fingerprint(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(ArchiveError, match=match) as info:
        safe_extract_targz(archive, str(out))
    assert "\n" not in str(info.value)
    assert fingerprint(tmp_path) == before
    return info.value


# -- bombs ---------------------------------------------------------------------------------------


def test_a_gigabyte_of_zeros_is_refused_by_ratio_before_it_is_written(tmp_path: Path) -> None:
    bomb = zero_bomb(1024**3)
    assert len(bomb) < 2 * MiB
    started = time.monotonic()
    error = _refused(tmp_path, bomb, r"over 200 times its compressed size")
    assert time.monotonic() - started < 5
    assert "MAX_EXTRACT_RATIO" in (error.hint or "")


def test_the_ratio_applies_beyond_an_allowance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 8 MiB of zeros in ~9 KiB: within the 64 MiB allowance, so it unpacks.
    out = tmp_path / "out"
    safe_extract_targz(_write(tmp_path, zero_bomb(8 * MiB)), str(out))
    assert (out / "zeros").stat().st_size == 8 * MiB
    # Read at call time: a smaller allowance refuses the same archive.
    monkeypatch.setattr(oras.archive, "EXTRACT_RATIO_ALLOWANCE", MiB)
    (tmp_path / "second").mkdir()
    _refused(tmp_path / "second", zero_bomb(8 * MiB), "times its compressed size")


def test_a_trusted_bomb_unpacks_when_the_ratio_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oras.archive, "EXTRACT_RATIO_ALLOWANCE", MiB)
    monkeypatch.setattr(oras.archive, "MAX_EXTRACT_RATIO", 10_000)
    out = tmp_path / "out"
    safe_extract_targz(_write(tmp_path, zero_bomb(8 * MiB)), str(out))
    assert (out / "zeros").stat().st_size == 8 * MiB


def test_total_size_over_the_limit_is_refused_at_the_member_over_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oras.archive, "MAX_EXTRACT_SIZE", 2 * MiB)
    data = targz([file(f"part{i}", os.urandom(MiB // 2 + 1)) for i in range(4)])
    error = _refused(tmp_path, data, r"unpacks to more than 2097152 bytes$")
    assert "MAX_EXTRACT_SIZE" in (error.hint or "")


def test_a_million_empty_files_stop_at_the_member_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oras.archive, "MAX_EXTRACT_MEMBERS", 300)
    started = time.monotonic()
    error = _refused(tmp_path, member_bomb(1_000_000), r"holds more than 300 members")
    assert time.monotonic() - started < 10  # the other 999,700 headers are never read
    assert "MAX_EXTRACT_MEMBERS" in (error.hint or "")


def test_members_read_are_not_kept_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stream-mode TarFile keeps every member header it read (a million: ~500 MB).
    kept: list[int] = []
    next_member = tarfile.TarFile.next

    def counting_next(self: tarfile.TarFile) -> object:
        kept.append(len(self.members))
        return next_member(self)

    monkeypatch.setattr(tarfile.TarFile, "next", counting_next)
    safe_extract_targz(_write(tmp_path, member_bomb(2000)), str(tmp_path / "out"))
    assert len(kept) > 2000 and max(kept) <= 1
    assert len(os.listdir(tmp_path / "out")) == 1000  # f0..f999, each written twice


def test_an_extended_header_over_the_limit_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    error = _refused(
        tmp_path, header_bomb(256 * MiB), r"an extended header of 268435456 bytes, more than"
    )
    # Read whole, the header alone would take 256 MiB (ru_maxrss is in KiB on Linux).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024
    assert "MAX_EXTRACT_HEADER_SIZE" in (error.hint or "")


def test_long_names_and_pax_records_within_the_limit_unpack(tmp_path: Path) -> None:
    info, data = file("n" * 200 + "/" + "m" * 200, b"long")
    info.pax_headers = {"comment": "c" * 100_000}
    out = tmp_path / "out"
    safe_extract_targz(_write(tmp_path, targz([directory("n" * 200), (info, data)])), str(out))
    assert (out / ("n" * 200) / ("m" * 200)).read_bytes() == b"long"


def _gnu_sparse() -> bytes:
    info = tarfile.TarInfo("sparse")
    info.type = tarfile.GNUTYPE_SPARSE
    return gzip_member(info.tobuf(tarfile.GNU_FORMAT) + bytes(1024))


def _pax_sparse() -> bytes:
    info, data = file("GNUSparseFile.0/sparse", b"1\n0\n1\n".ljust(512, b"\0") + b"x")
    info.pax_headers = {
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": "sparse",
        "GNU.sparse.realsize": str(1024**4),
    }
    return targz([(info, data)])


@pytest.mark.parametrize("archive", [_gnu_sparse, _pax_sparse], ids=["gnu", "pax-1.0"])
def test_sparse_members_are_refused(tmp_path: Path, archive) -> None:
    _refused(tmp_path, archive(), "a sparse member, which is not supported")


# -- names ---------------------------------------------------------------------------------------


def test_too_deep_a_member_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, targz([file("a/" * 300 + "f")]), r"is 301 directories deep, more than 256")


def test_deep_trees_within_the_limit_unpack_and_are_removed_on_refusal(tmp_path: Path) -> None:
    deep = "d/" * 250
    data = targz([file(deep + "f", b"1"), file("../escape")])
    with pytest.raises(oras.errors.PathTraversalError):
        safe_extract_targz(_write(tmp_path, data), str(tmp_path / "out"))
    assert sorted(os.listdir(tmp_path)) == ["layer.tar.gz"]
    safe_extract_targz(_write(tmp_path, targz([file(deep + "f", b"1")])), str(tmp_path / "out"))
    assert (tmp_path / "out" / deep / "f").read_bytes() == b"1"


@pytest.mark.parametrize(
    "members",
    [
        [file("n" * 256)],  # a component over NAME_MAX
        [file("/".join(["p" * 250] * 17))],  # a path over PATH_MAX
        [file("ok", b"1"), directory("d"), file("d/" + "n" * 300)],
    ],
    ids=["name-max", "path-max", "after-others"],
)
def test_names_too_long_for_the_file_system(tmp_path: Path, members: list[Member]) -> None:
    error = _refused(tmp_path, targz(members), r"cannot create member .*File name too long")
    assert len(str(error)) < 400  # the name is shortened in the message


@pytest.mark.parametrize(
    "members",
    [
        [file("line\nbreak")],
        [file("esc\x1b]0;PWNED\x07")],
        [file("tab\there")],
        [file("ok"), link("l", "ok\nSuccessfully pulled")],
    ],
    ids=["newline", "escape", "tab", "link-target"],
)
def test_control_characters_in_names_are_refused(tmp_path: Path, members: list[Member]) -> None:
    error = _refused(tmp_path, targz(members), "holds control characters")
    assert "\x1b" not in str(error)


def test_nul_in_a_name_is_refused(tmp_path: Path) -> None:
    # tarfile cuts a ustar name at NUL, but a PAX path record can carry one.
    info, data = file("placeholder")
    info.pax_headers = {"path": "nul\x00byte"}
    _refused(tmp_path, targz([(info, data)]), "holds a NUL byte")


@pytest.mark.parametrize(
    "name",
    ["CON", "nul", "COM1.txt", "aux", "trailing-dot.", "trailing-space ", "a\\..\\..\\b"],
)
def test_names_reserved_only_on_windows_unpack_on_posix(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    safe_extract_targz(_write(tmp_path, targz([file(name, b"data")])), str(out))
    assert os.listdir(out) == [name]  # a literal name: a backslash is no separator here
    assert (out / name).read_bytes() == b"data"
    assert sorted(os.listdir(tmp_path)) == ["layer.tar.gz", "out"]


@pytest.mark.parametrize(
    "name", ["\\abs", "C:\\Windows\\x", "c:x"], ids=["backslash-root", "drive", "drive-relative"]
)
def test_names_absolute_on_windows_are_refused(tmp_path: Path, name: str) -> None:
    archive = _write(tmp_path, targz([file(name)]))
    with pytest.raises(oras.errors.PathTraversalError, match="absolute path"):
        safe_extract_targz(archive, str(tmp_path / "out"))
    assert sorted(os.listdir(tmp_path)) == ["layer.tar.gz"]


# -- mode bits -----------------------------------------------------------------------------------


def test_setuid_setgid_and_sticky_bits_are_stripped(tmp_path: Path) -> None:
    members = [
        directory("sticky", 0o1777),
        directory("setgid", 0o2775),
        file("setgid/tool", b"#!/bin/sh\n", 0o2755),
        file("suid", b"#!/bin/sh\n", 0o6777),
    ]
    out = tmp_path / "out"
    safe_extract_targz(_write(tmp_path, targz(members)), str(out))
    for name in ("sticky", "setgid", "setgid/tool", "suid"):
        mode = os.lstat(out / name).st_mode
        assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX), name
        assert not mode & (stat.S_IWGRP | stat.S_IWOTH), name
    assert stat.S_IMODE(os.lstat(out / "suid").st_mode) == 0o755


def test_devices_and_fifos_are_refused_whatever_their_numbers(tmp_path: Path) -> None:
    from tests.harness.hostile_archives import special

    for kind in (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE):
        data = targz([file("first", b"1"), special("dev", kind)])
        archive = _write(tmp_path, data)
        with pytest.raises(oras.errors.PathTraversalError, match="device files and fifos"):
            safe_extract_targz(archive, str(tmp_path / "out"))
        assert sorted(os.listdir(tmp_path)) == ["layer.tar.gz"]
