"""Memory stays flat whatever the blob size: a large blob pushed and pulled in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Optional

SIZE = 512 * 1024 * 1024  # far above any buffer, small enough for CI's disk and time
LIMIT_MIB = 100

PEAK = textwrap.dedent(
    """
    def peak_mib():
        # VmHWM belongs to this process image; ru_maxrss would include the parent's peak
        # from before exec (pytest's, when the suite has grown it).
        with open("/proc/self/status") as fh:
            line = next(l for l in fh if l.startswith("VmHWM:"))
        return int(line.split()[1]) // 1024
    """
)

SCRIPT = textwrap.dedent(
    """
    import os, sys
    import oras.client

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


def _measure(script: str, *args: str, timeout: int = 300, env: Optional[dict] = None) -> list[int]:
    """Run `script` (with `peak_mib()` defined) in a fresh interpreter; the integers on the
    last line it prints (commands it runs print their own lines first)."""
    result = subprocess.run(
        [sys.executable, "-c", PEAK + script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=Path(__file__).resolve().parents[2],
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return [int(word) for word in result.stdout.splitlines()[-1].split()]


def _run(registry, unique_repo: str, tmp_path: Path, mode: str) -> tuple[int, int]:
    base, peak = _measure(
        SCRIPT, str(SIZE), f"{registry.host}/{unique_repo}:{mode}", str(tmp_path), mode
    )
    return base, peak


def test_monolithic_push_and_pull_of_512_mib_keep_memory_flat(registry, unique_repo, tmp_path):
    base, peak = _run(registry, unique_repo, tmp_path, "monolithic")
    assert peak < LIMIT_MIB, f"peak RSS {peak} MiB (baseline {base} MiB)"
    print(f"peak RSS {peak} MiB, baseline {base} MiB")


def test_chunked_push_keeps_memory_flat(registry, unique_repo, tmp_path):
    base, peak = _run(registry, unique_repo, tmp_path, "chunked")
    assert peak < LIMIT_MIB, f"peak RSS {peak} MiB (baseline {base} MiB)"
    print(f"peak RSS {peak} MiB, baseline {base} MiB")


COPY_SIZE = 1024 * 1024 * 1024

COPY_SCRIPT = textwrap.dedent(
    """
    import os, sys, tempfile
    import oras.client
    from oras.cli.main import main

    size, source, destination, workdir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    os.chdir(workdir)
    with open("big.bin", "wb") as fh:
        fh.truncate(size)
    oras.client.OrasClient(insecure=True).push(files=["big.bin"], target=source)
    os.unlink("big.bin")
    base = peak_mib()
    code = main(["cp", "--quiet", source, destination])
    assert code == 0, code
    print(base, peak_mib(), len(os.listdir(tempfile.gettempdir())))
    """
)


def test_registry_to_registry_copy_of_1_gib_keeps_memory_flat_and_no_temp_file(
    registry, second_registry, unique_repo, tmp_path
):
    temp = tmp_path / "tmp"
    temp.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    base, peak, temp_files = _measure(
        COPY_SCRIPT,
        str(COPY_SIZE),
        f"{registry.host}/{unique_repo}:big",
        f"{second_registry.host}/{unique_repo}:big",
        str(work),
        timeout=600,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    assert peak < LIMIT_MIB, f"peak RSS {peak} MiB (baseline {base} MiB)"
    assert temp_files == 0
    print(f"cp 1 GiB: peak RSS {peak} MiB, baseline {base} MiB")


LAYOUT_SCRIPT = textwrap.dedent(
    """
    import os, sys, tempfile
    from oras.cli.main import main

    size, source, destination, workdir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    os.chdir(workdir)
    with open("big.bin", "wb") as fh:
        fh.truncate(size)
    assert main(["push", "--quiet", source, "big.bin"]) == 0
    os.unlink("big.bin")
    assert main(["cp", "--quiet", "--to-oci-layout", source, "layout:big"]) == 0
    base = peak_mib()
    assert main(["cp", "--quiet", "--from-oci-layout", "layout:big", destination]) == 0
    print(base, peak_mib())
    """
)


def test_layout_to_registry_copy_of_1_gib_keeps_memory_flat(
    registry, second_registry, unique_repo, tmp_path
):
    base, peak = _measure(
        LAYOUT_SCRIPT,
        str(COPY_SIZE),
        f"{registry.host}/{unique_repo}:big",
        f"{second_registry.host}/{unique_repo}:from-layout",
        str(tmp_path),
        timeout=600,
    )
    assert peak < LIMIT_MIB, f"peak RSS {peak} MiB (baseline {base} MiB)"
    print(f"layout -> registry 1 GiB: peak RSS {peak} MiB, baseline {base} MiB")
