"""Properties of tar+gzip extraction (oras.archive.safe_extract_targz): for any list of members
(names with `..`, absolute names, symbolic and hard links, devices, fifos, NUL, very long names),
nothing is written outside the output directory, and a refused archive leaves nothing behind."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from oras.archive import safe_extract_targz
from oras.errors import OrasError
from tests.unit.properties.invariants import Refused, parse_or_refuse, time_bound

#: Stands for the absolute path of the sandbox's `outside/` directory in generated names, so
#: that an absolute name that got through would land where the test looks.
OUTSIDE = "@OUTSIDE@"

_parts = st.sampled_from(
    ["a", "b", "sub", "..", ".", "", "x" * 255, "x" * 300, "a\x00b", "é", "a\\b", "CON", " ", "\n"]
)
names = st.one_of(
    st.lists(_parts, min_size=1, max_size=5).map("/".join),
    st.lists(_parts, min_size=1, max_size=3).map(lambda p: OUTSIDE + "/" + "/".join(p)),
    st.sampled_from(["/", "//", "/etc/x", "C:\\x", "a/" * 1100 + "f"]),
    st.text(max_size=20),
)
kinds = st.sampled_from(["file", "dir", "symlink", "hardlink", "chr", "blk", "fifo", "other"])


@dataclass
class Member:
    kind: str
    name: str
    link: str = ""
    mode: int = 0o644


members = st.builds(
    Member,
    kinds,
    names,
    names,
    st.sampled_from([0o644, 0o755, 0o4755, 0o777, 0o000, 0o2700]),
)

_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "chr": tarfile.CHRTYPE,
    "blk": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
    "other": b"Z",
}


def _build(members: list[Member], outside: str, path: Path) -> bool:
    """Write `members` as a tar+gzip at `path`; False when tarfile cannot write such a tar."""
    buffer = io.BytesIO()
    try:
        with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            for m in members:
                info = tarfile.TarInfo(m.name.replace(OUTSIDE, outside))
                info.type = _TYPES[m.kind]
                info.mode = m.mode
                info.linkname = m.link.replace(OUTSIDE, outside)
                data = b"payload of " + info.name.encode("utf-8", "surrogateescape")
                if m.kind == "file":
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                else:
                    tar.addfile(info)
    except (ValueError, UnicodeError, tarfile.TarError):
        return False
    path.write_bytes(buffer.getvalue())
    return True


def _snapshot(root: Path) -> dict[str, tuple[str, bytes]]:
    """Every path under `root` (links not followed) with its kind and content."""
    seen: dict[str, tuple[str, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                seen[p] = ("link", os.readlink(p).encode("utf-8", "surrogateescape"))
            elif os.path.isdir(p):
                seen[p] = ("dir", b"")
            else:
                with open(p, "rb") as fh:
                    seen[p] = ("file", fh.read())
    return seen


@given(st.lists(members, min_size=1, max_size=6), st.booleans())
@example([Member("file", "../escape")], False)
@example([Member("file", OUTSIDE + "/abs")], False)
@example([Member("symlink", "l", OUTSIDE), Member("file", "l/through")], False)
@example([Member("symlink", "l", ".."), Member("file", "l/x")], False)
@example(
    [Member("symlink", "a", "b/.."), Member("symlink", "b", "."), Member("file", "a/x")], False
)
@example([Member("hardlink", "h", OUTSIDE + "/sentinel")], False)
@example([Member("hardlink", "h", "../outside/sentinel")], False)
@example([Member("hardlink", "h", "missing")], False)
@example([Member("hardlink", "h", "d"), Member("dir", "d")], False)
@example([Member("file", "a"), Member("file", "a/b")], False)
@example([Member("symlink", "a", "a"), Member("file", "a/b")], False)
@example([Member("file", "x" * 300)], False)
@example([Member("file", "a/" * 1100 + "f")], False)
@example([Member("file", "é\x00b")], False)  # a PAX name may hold NUL
@example([Member("symlink", "l", "é\x00/../../x")], False)
@example([Member("chr", "dev")], False)
@example([Member("fifo", "fifo")], False)
@example([Member("file", "setuid", mode=0o4755)], False)
@example([Member("file", "keep")], True)
def test_extraction_stays_inside_the_output_directory(
    members: list[Member], existing_output: bool
) -> None:
    sandbox = Path(tempfile.mkdtemp(prefix="oras-props-tar-"))
    try:
        outside = sandbox / "outside"
        outside.mkdir()
        (outside / "sentinel").write_bytes(b"untouched")
        out = sandbox / "out"
        if existing_output:
            out.mkdir()
            (out / "existing").write_bytes(b"was here")
        archive = sandbox / "layer.tar.gz"
        if not _build(members, str(outside), archive):
            return
        before = _snapshot(sandbox)
        try:
            with time_bound(10.0):
                paths = parse_or_refuse(safe_extract_targz, str(archive), str(out))
        except Refused as refused:
            assert isinstance(refused.error, OrasError)
            # Nothing behind: the sandbox is exactly as it was (staging removed too).
            assert _snapshot(sandbox) == before
            return
        after = _snapshot(sandbox)
        real_out = os.path.realpath(out)
        for p, (kind, _) in after.items():
            if p in before:
                if not p.startswith(str(out) + os.sep):
                    assert after[p] == before[p], f"{p} changed"
                continue
            assert p == str(out) or p.startswith(str(out) + os.sep), f"{p} written outside"
            if kind == "link":
                target = os.path.realpath(p)
                assert target == real_out or target.startswith(real_out + os.sep), p
            if kind == "file":
                mode = os.lstat(p).st_mode
                assert not mode & 0o7000, f"{p} kept setuid/setgid/sticky bits"
        for p in paths:
            assert p.startswith(real_out + os.sep) or p == real_out
        assert not [n for n in os.listdir(out) if n.startswith(".oras-extract-")]
    finally:
        for dirpath, dirnames, _ in os.walk(sandbox):
            for d in dirnames:
                p = os.path.join(dirpath, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o700)
        shutil.rmtree(sandbox)
