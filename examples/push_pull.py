#!/usr/bin/env python3
"""The user guide's "Push and Pull" from Python, as a script.

Writes `artifact.txt` ("hello dinosaur") in a temporary directory, pushes it, pulls it back
and checks the pulled bytes::

    python examples/push_pull.py --insecure 127.0.0.1:5000/dinosaur/artifact:v1

`--insecure` means plain HTTP, as in oras-py. Without `-o`, the pull goes to a fresh
`oras-tmp.*` directory under the system temp dir (oras-py's default), which is kept.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import Optional

import oras.client
import oras.utils

ARTIFACT_NAME = "artifact.txt"
ARTIFACT_CONTENT = b"hello dinosaur\n"


def push_and_pull(target: str, insecure: bool, outdir: Optional[str] = None) -> list[str]:
    """Push a fresh `artifact.txt` to `target`, pull it into `outdir`; returns the pulled paths."""
    client = oras.client.OrasClient(insecure=insecure)
    with tempfile.TemporaryDirectory(prefix="oras-example-") as workdir:
        with open(os.path.join(workdir, ARTIFACT_NAME), "wb") as fh:
            fh.write(ARTIFACT_CONTENT)
        # push() only takes files under the current directory, like the user guide's session.
        with oras.utils.workdir(workdir):
            response = client.push(files=[ARTIFACT_NAME], target=target)
    print(f"pushed: {target} {response.headers.get('Docker-Content-Digest', '')}")
    return client.pull(target=target, outdir=outdir)


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point: exit status 0 when the pulled artifact has the pushed content."""
    parser = argparse.ArgumentParser(description="Push artifact.txt, pull it back, compare.")
    parser.add_argument("target", help="<registry>/<repository>:<tag>")
    parser.add_argument(
        "--insecure", action="store_true", help="use plain HTTP (oras-py's meaning of insecure)"
    )
    parser.add_argument("-o", "--outdir", help="pull into this directory")
    args = parser.parse_args(argv)

    paths = push_and_pull(args.target, args.insecure, args.outdir)
    for path in paths:
        print(f"pulled: {path}")
    pulled = [p for p in paths if os.path.basename(p) == ARTIFACT_NAME]
    if len(pulled) != 1:
        print(f"error: expected one {ARTIFACT_NAME} among the pulled files", file=sys.stderr)
        return 1
    with open(pulled[0], "rb") as fh:
        content = fh.read()
    if content != ARTIFACT_CONTENT:
        print(f"error: {pulled[0]} holds {content!r}, not {ARTIFACT_CONTENT!r}", file=sys.stderr)
        return 1
    print("content: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
