"""Hostile archives and file names from an honest registry: layers marked for unpacking that are
bombs or hold devices, links out, odd and overlong names; layer titles with the same tricks.

Each artifact is published by plain HTTP (`tests.harness.hostile_archives.publish`), then
pulled with the library (`OrasClient.pull`) and the CLI (`oras-py pull`). Every refusal is a
one-line typed error within seconds, and nothing is left: nothing outside the output directory
changes (a fingerprint of tmp_path's parent before and after), and the output directory holds
no partial, spool or staging file. Pure checks: tests/unit/test_archive_limits.py.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

import oras.archive
import oras.client
from oras.errors import (
    ArchiveError,
    InvalidFileNameError,
    OutputConflictError,
    PathTraversalError,
)
from tests.conftest import PROJECT_ROOT, CliRunner
from tests.harness.hostile_archives import (
    directory,
    file,
    fingerprint,
    header_bomb,
    link,
    member_bomb,
    plain_layer,
    publish,
    special,
    targz,
    unpack_layer,
    zero_bomb,
)

#: Generous bounds: every refusal here takes well under a second on an idle machine.
LIBRARY_SECONDS = 15
CLI_SECONDS = 30


@pytest.fixture
def client() -> oras.client.OrasClient:
    return oras.client.OrasClient(insecure=True)


def _publish(registry: Any, repo: str, layers: list[tuple[bytes, dict]]) -> str:
    return publish(registry.url, repo, "hostile", layers)


def _leftovers(out: Path) -> list[str]:
    """Everything under `out` (empty when it does not exist)."""
    if not out.exists():
        return []
    return sorted(str(p.relative_to(out)) for p in out.rglob("*"))


def _changed_outside(before: dict, after: dict, out: Path) -> dict:
    """Paths added, removed or changed between two fingerprints, outside `out` (the session
    registries' logs, which grow with every request, aside)."""
    inside = str(out)
    keys = set(before) | set(after)
    return {
        k: (before.get(k), after.get(k))
        for k in keys
        if before.get(k) != after.get(k)
        and not (k == inside or k.startswith(inside + os.sep))
        and not (k in before and k in after and k.endswith(".log"))
    }


def _pull_refused(
    client: oras.client.OrasClient,
    target: str,
    tmp_path: Path,
    error: type[Exception],
    match: str,
    out_name: str = "out",
) -> Exception:
    """The library's pull of `target` raises `error` (one line, matching `match`), in bounded
    time, leaving the output directory empty and everything else as it was."""
    out = tmp_path / out_name
    before = fingerprint(tmp_path.parent)
    started = time.monotonic()
    with pytest.raises(error, match=match) as info:
        client.pull(target=target, outdir=str(out))
    assert time.monotonic() - started < LIBRARY_SECONDS
    assert "\n" not in str(info.value)
    assert _leftovers(out) == []
    assert _changed_outside(before, fingerprint(tmp_path.parent), out) == {}
    return info.value


def _cli_refused(
    result: subprocess.CompletedProcess[str], tmp_path: Path, match: str, out_name: str = "cli"
) -> str:
    """The CLI's pull exited 1 with one `Error: ...` line (last, after the progress lines)
    matching `match`, no traceback, and left nothing in its output directory."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error: ")]
    assert errors == lines[-1:], result.stderr
    assert "Traceback" not in result.stderr and "\x1b" not in result.stderr
    assert re.search(match, lines[-1]), lines[-1]
    assert _leftovers(tmp_path / out_name) == []
    return lines[-1]


def _cli_pull(
    oras_cli: CliRunner, target: str, tmp_path: Path, out_name: str = "cli"
) -> subprocess.CompletedProcess[str]:
    before = fingerprint(tmp_path.parent)
    started = time.monotonic()
    result = oras_cli("pull", "--no-tty", target, "-o", out_name)
    assert time.monotonic() - started < CLI_SECONDS
    changed = _changed_outside(before, fingerprint(tmp_path.parent), tmp_path / out_name)
    assert changed == {}
    return result


def _cli_with_limit(
    tmp_path: Path, name: str, value: int, *args: str
) -> subprocess.CompletedProcess[str]:
    """`oras-py *args` in a process whose `oras.archive.<name>` is set to `value` first (a
    program embedding the CLI lowering a limit)."""
    code = (
        "import sys, runpy, oras.archive\n"
        f"oras.archive.{name} = {value}\n"
        f"sys.argv = ['oras-py', *{list(args)!r}]\n"
        "runpy.run_module('oras.cli', run_name='__main__')\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- bombs ---------------------------------------------------------------------------------------


def test_a_gigabyte_of_zeros_is_refused_by_library_and_cli(
    registry, client, tmp_path, unique_repo, oras_cli: CliRunner
) -> None:
    bomb = zero_bomb(1024**3)
    target = _publish(registry, unique_repo, [unpack_layer(bomb, "pkg")])
    error = _pull_refused(
        client, target, tmp_path, ArchiveError, r"cannot unpack layer 'pkg' .*over 200 times"
    )
    assert "MAX_EXTRACT_RATIO" in (error.hint or "")
    line = _cli_refused(_cli_pull(oras_cli, target, tmp_path), tmp_path, r"over 200 times")
    assert "raise oras.archive.MAX_EXTRACT_RATIO" in line


def test_a_million_members_stop_at_the_limit(
    registry, client, tmp_path, unique_repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _publish(registry, unique_repo, [unpack_layer(member_bomb(1_000_000), "pkg")])
    monkeypatch.setattr(oras.archive, "MAX_EXTRACT_MEMBERS", 500)
    _pull_refused(client, target, tmp_path, ArchiveError, r"holds more than 500 members")

    started = time.monotonic()
    result = _cli_with_limit(
        tmp_path, "MAX_EXTRACT_MEMBERS", 500, "pull", "--no-tty", target, "-o", "cli"
    )
    assert time.monotonic() - started < CLI_SECONDS
    line = _cli_refused(result, tmp_path, r"holds more than 500 members")
    assert "raise oras.archive.MAX_EXTRACT_MEMBERS" in line


def test_a_huge_extended_header_is_refused_before_it_is_read(
    registry, client, tmp_path, unique_repo, oras_cli: CliRunner
) -> None:
    target = _publish(registry, unique_repo, [unpack_layer(header_bomb(64 * 1024**2), "pkg")])
    _pull_refused(client, target, tmp_path, ArchiveError, r"an extended header of 67108864 bytes")
    line = _cli_refused(_cli_pull(oras_cli, target, tmp_path), tmp_path, r"extended header")
    assert "raise oras.archive.MAX_EXTRACT_HEADER_SIZE" in line


def test_total_size_over_the_limit(
    registry, client, tmp_path, unique_repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = targz([file(f"pkg/part{i}", os.urandom(300_000)) for i in range(4)])
    target = _publish(registry, unique_repo, [unpack_layer(data, "pkg")])
    monkeypatch.setattr(oras.archive, "MAX_EXTRACT_SIZE", 1_000_000)
    _pull_refused(client, target, tmp_path, ArchiveError, r"unpacks to more than 1000000 bytes$")
    monkeypatch.setattr(oras.archive, "MAX_EXTRACT_SIZE", 2_000_000)
    client.pull(target=target, outdir=str(tmp_path / "raised"))
    assert len(os.listdir(tmp_path / "raised" / "pkg")) == 4


# -- members ------------------------------------------------------------------------------------

REFUSED_MEMBERS = {
    "char-device": ([special("pkg/null", tarfile.CHRTYPE)], PathTraversalError, "device files"),
    "block-device": ([special("pkg/sda", tarfile.BLKTYPE)], PathTraversalError, "device files"),
    "fifo": ([special("pkg/pipe", tarfile.FIFOTYPE)], PathTraversalError, "fifos"),
    "hardlink-outside": (
        [file("pkg/a"), link("pkg/h", "../../outside", tarfile.LNKTYPE)],
        PathTraversalError,
        "hard link target",
    ),
    "hardlink-absolute": (
        [link("pkg/passwd", "/etc/passwd", tarfile.LNKTYPE)],
        PathTraversalError,
        "hard link target",
    ),
    "newline": ([file("pkg/a\nSuccessfully pulled x")], ArchiveError, "control characters"),
    "escape": ([file("pkg/\x1b]0;PWNED\x07")], ArchiveError, "control characters"),
    "too-deep": ([file("pkg/" + "d/" * 300 + "f")], ArchiveError, "directories deep"),
    "name-max": ([file("pkg/" + "n" * 256)], ArchiveError, "File name too long"),
    "path-max": ([file("pkg/" + "/".join(["p" * 250] * 17))], ArchiveError, "File name too long"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_MEMBERS))
def test_hostile_members_are_refused_by_the_library(
    registry, client, tmp_path, unique_repo, case: str
) -> None:
    members, error, match = REFUSED_MEMBERS[case]
    data = targz([directory("pkg"), file("pkg/first", b"1"), *members])
    target = _publish(registry, unique_repo, [unpack_layer(data, "pkg")])
    _pull_refused(client, target, tmp_path, error, match)


@pytest.mark.parametrize("case", ["char-device", "hardlink-outside", "newline", "path-max"])
def test_hostile_members_are_one_line_on_the_cli(
    registry, tmp_path, unique_repo, oras_cli: CliRunner, case: str
) -> None:
    members, _, match = REFUSED_MEMBERS[case]
    data = targz([directory("pkg"), file("pkg/first", b"1"), *members])
    target = _publish(registry, unique_repo, [unpack_layer(data, "pkg")])
    _cli_refused(_cli_pull(oras_cli, target, tmp_path), tmp_path, match)


ODD_NAMES = ["CON", "nul", "COM1.txt", "trailing-dot.", "trailing-space ", "a\\..\\..\\b"]


def test_windows_only_names_and_stripped_mode_bits_unpack_on_posix(
    registry, client, tmp_path, unique_repo, oras_cli: CliRunner
) -> None:
    members = [
        directory("pkg", 0o3777),
        *(file(f"pkg/{name}", name.encode()) for name in ODD_NAMES),
        file("pkg/suid", b"#!/bin/sh\n", 0o6755),
    ]
    target = _publish(registry, unique_repo, [unpack_layer(targz(members), "pkg")])
    for out, pull in (
        (tmp_path / "out", lambda: client.pull(target=target, outdir=str(tmp_path / "out"))),
        (tmp_path / "cli", lambda: _cli_pull(oras_cli, target, tmp_path)),
    ):
        before = fingerprint(tmp_path.parent)
        result = pull()
        if isinstance(result, subprocess.CompletedProcess):
            assert result.returncode == 0, result.stderr
        assert sorted(os.listdir(out / "pkg")) == sorted([*ODD_NAMES, "suid"])
        for name in ODD_NAMES:
            assert (out / "pkg" / name).read_bytes() == name.encode()
        assert stat.S_IMODE(os.lstat(out / "pkg" / "suid").st_mode) == 0o755
        assert not os.lstat(out / "pkg").st_mode & (stat.S_ISGID | stat.S_ISVTX)
        assert _changed_outside(before, fingerprint(tmp_path.parent), out) == {}


# -- titles --------------------------------------------------------------------------------------

REFUSED_TITLES = {
    "absolute": ("/tmp/oras-hostile-title", PathTraversalError, "is not in"),
    "name-max": ("n" * 256, InvalidFileNameError, "a name of 256 bytes, more than 255"),
    "path-max": ("/".join(["p" * 250] * 17), InvalidFileNameError, "its path is .* bytes long"),
    "nested-name-max": ("sub/" + "é" * 128, InvalidFileNameError, "a name of 256 bytes"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_TITLES))
def test_hostile_titles_are_refused_before_anything_is_written(
    registry, client, tmp_path, unique_repo, oras_cli: CliRunner, case: str
) -> None:
    title, error, match = REFUSED_TITLES[case]
    layers = [plain_layer(b"fine\n", "fine.txt"), plain_layer(b"evil\n", title)]
    target = _publish(registry, unique_repo, layers)
    shown = _pull_refused(client, target, tmp_path, error, match)
    assert len(str(shown)) < 300  # a long title is shortened in the message
    _cli_refused(_cli_pull(oras_cli, target, tmp_path), tmp_path, match)
    assert not Path("/tmp/oras-hostile-title").exists()


@pytest.mark.parametrize("title", ODD_NAMES)
def test_titles_only_odd_on_windows_are_files_on_posix(
    registry, client, tmp_path, unique_repo, title: str
) -> None:
    target = _publish(registry, unique_repo, [plain_layer(b"odd\n", title)])
    out = tmp_path / "out"
    assert client.pull(target=target, outdir=str(out)) == [str(out / title)]
    assert os.listdir(out) == [title]


def _planted_link_artifact(registry: Any, repo: str) -> str:
    """An artifact whose first layer unpacks `d -> sub` (a link inside the output) and whose
    second layer is titled `d/f`: written through the link it would land in `sub/f`."""
    planter = targz([directory("sub"), link("d", "sub")])
    layers = [unpack_layer(planter, "pkg"), plain_layer(b"through\n", "d/f")]
    return _publish(registry, repo, layers)


def test_a_title_is_not_written_through_a_link_another_layer_planted(
    registry, tmp_path, unique_repo, oras_cli: CliRunner
) -> None:
    target = _planted_link_artifact(registry, unique_repo)
    out = tmp_path / "out"
    # One download at a time: the planting layer is unpacked first, then the titled one.
    client = oras.client.OrasClient(insecure=True)
    with pytest.raises(PathTraversalError, match=r"d became a symbolic link to .*sub during"):
        client.pull(target=target, outdir=str(out), concurrency=1)
    assert not (out / "sub" / "f").exists()
    assert sorted(os.listdir(out)) == ["d", "sub"]  # the first layer, whole; no spool file

    result = oras_cli("pull", "--no-tty", "--concurrency", "1", target, "-o", "cli")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("Error: ")] == lines[-1:], result.stderr
    assert "became a symbolic link" in lines[-1] and "Traceback" not in result.stderr
    assert not (tmp_path / "cli" / "sub" / "f").exists()
    assert sorted(os.listdir(tmp_path / "cli")) == ["d", "sub"]


@pytest.mark.parametrize("concurrency", [1, 2])
def test_the_planted_link_is_refused_in_any_order(
    registry, tmp_path, unique_repo, concurrency: int
) -> None:
    # Whichever layer lands first, the other is refused: the title through the link, or the
    # link over the directory the title made.
    target = _planted_link_artifact(registry, unique_repo)
    out = tmp_path / "out"
    client = oras.client.OrasClient(insecure=True)
    with pytest.raises((PathTraversalError, OutputConflictError)):
        client.pull(target=target, outdir=str(out), concurrency=concurrency)
    assert not (out / "sub" / "f").exists()


def test_a_title_naming_a_planted_link_replaces_the_link(
    registry, client, tmp_path, unique_repo
) -> None:
    planter = targz([file("victim", b"victim\n"), link("t", "victim")])
    target = _publish(
        registry,
        unique_repo,
        [unpack_layer(planter, "pkg"), plain_layer(b"title\n", "t")],
    )
    out = tmp_path / "out"
    client.pull(target=target, outdir=str(out), concurrency=1)
    assert (out / "victim").read_bytes() == b"victim\n"
    assert not (out / "t").is_symlink() and (out / "t").read_bytes() == b"title\n"
