"""Hostile credential helpers: `docker-credential-<name>` programs that hang, crash or babble.

`script_helper(directory, name, code)` writes an executable `directory/bin/docker-credential-<name>`
running the Python `code` with `action` (argv[1]) and `payload` (stdin, read only if the code
reads it: `payload()`) in scope; put `directory/bin` on PATH. `HELPERS` holds the misbehaviours
the tests use, by name.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["HELPERS", "script_helper"]

_PRELUDE = """#!{python}
import json, sys, time
action = sys.argv[1] if len(sys.argv) > 1 else ""
def payload():
    return sys.stdin.read()
"""

#: name -> Python code of a misbehaving helper (`{secret}` is filled in by `script_helper`).
HELPERS = {
    # never answers
    "hang": "time.sleep(3600)",
    # crashes, saying the secret it holds in free text
    "crash-free-text": (
        "sys.stderr.write('panic: cannot decrypt entry {secret}: bad padding\\n'); sys.exit(3)"
    ),
    # fails, printing the credential it holds as JSON on stdout
    "crash-json": (
        "sys.stdout.write(json.dumps({{'Username': 'u', 'Secret': '{secret}'}})); sys.exit(1)"
    ),
    # a store that fails echoing what it was given (the secret among it)
    "store-echo": (
        "data = payload()\n"
        "if action == 'get':\n"
        "    sys.stdout.write('credentials not found in native keychain'); sys.exit(1)\n"
        "sys.stdout.write('keyring refused ' + json.loads(data)['Secret']); sys.exit(1)"
    ),
    "not-json": "sys.stdout.write('hello, I am a keychain')",
    "json-list": "sys.stdout.write('[1, 2, 3]')",
    "not-utf8": "sys.stdout.buffer.write(b'\\xff\\xfe\\x00garbage')",
    "secret-not-string": "sys.stdout.write(json.dumps({{'Username': 'u', 'Secret': 42}}))",
    "missing-fields": "sys.stdout.write(json.dumps({{'ServerURL': 'x'}}))",
    # exits, leaving a process behind that holds its stdout open
    "leaves-a-child": (
        "import subprocess\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(8)'])\n"
        "sys.stdout.write('not json'); sys.stdout.flush()"
    ),
    # endless output
    "babble": "while True: sys.stdout.write('x' * 65536)",
    "babble-stderr": "while True: sys.stderr.write('y' * 65536)",
}


def script_helper(directory: Path, name: str, code: str, secret: str = "") -> Path:
    """Write `docker-credential-<name>` running `code` into `directory/bin`; returns the bin
    folder (for PATH)."""
    bindir = directory / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    path = bindir / f"docker-credential-{name}"
    body = code.format(secret=secret) if "{" in code else code
    path.write_text(_PRELUDE.format(python=sys.executable) + body + "\n")
    path.chmod(0o755)
    return bindir
