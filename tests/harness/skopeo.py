"""skopeo (Debian's) as the independent client of the interoperability tests: an accept-anything
policy, no system registries.d, a private TMPDIR. Missing skopeo fails the test (the set-up
script installs it); it never skips."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
TIMEOUT = 60

Skopeo = Callable[..., "subprocess.CompletedProcess[Any]"]


def skopeo_runner(home: Path, text: bool = True, local_only: bool = False) -> Skopeo:
    """`run(*args)`, asserting success. `local_only` refuses network transports in the
    arguments (the layout tests give skopeo only oci:, oci-archive: and dir:)."""
    assert os.path.exists(SKOPEO), "skopeo is not installed: scripts/setup-deps.sh --tests"
    (home / "registries.d").mkdir(parents=True)
    (home / "tmp").mkdir()
    policy = home / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))

    def run(*args: str) -> subprocess.CompletedProcess[Any]:
        if local_only:
            for arg in args:
                assert not arg.startswith(("docker:", "docker-daemon:", "containers-storage:")), arg
        env = os.environ.copy()  # HOME, XDG_* and REGISTRY_AUTH_FILE are the test's temp ones
        env["TMPDIR"] = str(home / "tmp")
        result = subprocess.run(
            [SKOPEO, "--policy", str(policy), "--registries.d", str(home / "registries.d"), *args],
            env=env,
            capture_output=True,
            text=text,
            timeout=TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, f"skopeo {' '.join(args)} failed:\n{result.stderr!r}"
        return result

    return run
