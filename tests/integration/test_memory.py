"""Memory stays flat whatever the blob size: a large blob pushed and pulled in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SIZE = 512 * 1024 * 1024  # far above any buffer, small enough for CI's disk and time
LIMIT_MIB = 100

SCRIPT = textwrap.dedent(
    """
    import os, sys
    import oras.client

    def peak_mib():
        # VmHWM belongs to this process image; ru_maxrss would include the parent's peak
        # from before exec (pytest's, when the suite has grown it).
        with open("/proc/self/status") as fh:
            line = next(l for l in fh if l.startswith("VmHWM:"))
        return int(line.split()[1]) // 1024

    size, target = int(sys.argv[1]), sys.argv[2]
    os.chdir(sys.argv[3])
    with open("big.bin", "wb") as fh:  # sparse: no disk or memory cost to create
        fh.truncate(size)
    base = peak_mib()
    client = oras.client.OrasClient(insecure=True)
    client.push(files=["big.bin"], target=target, do_chunked=sys.argv[4] == "chunked")
    os.unlink("big.bin")
    files = client.pull(target=target, outdir="out")
    assert os.path.getsize(files[0]) == size
    peak = peak_mib()
    print(base, peak)
    """
)


def _run(registry, unique_repo: str, tmp_path: Path, mode: str) -> tuple[int, int]:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(SIZE),
            f"{registry.host}/{unique_repo}:{mode}",
            str(tmp_path),
            mode,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    base, peak = map(int, result.stdout.split())
    return base, peak


def test_monolithic_push_and_pull_of_512_mib_keep_memory_flat(registry, unique_repo, tmp_path):
    base, peak = _run(registry, unique_repo, tmp_path, "monolithic")
    assert peak < LIMIT_MIB, f"peak RSS {peak} MiB (baseline {base} MiB)"
    print(f"peak RSS {peak} MiB, baseline {base} MiB")


def test_chunked_push_keeps_memory_flat(registry, unique_repo, tmp_path):
    base, peak = _run(registry, unique_repo, tmp_path, "chunked")
    assert peak < LIMIT_MIB, f"peak RSS {peak} MiB (baseline {base} MiB)"
    print(f"peak RSS {peak} MiB, baseline {base} MiB")
