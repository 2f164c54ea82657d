"""A fake `docker-credential-<name>` helper speaking the real protocol, for tests.

`FakeHelper(directory, name="test")` writes an executable `docker-credential-test` into
`directory/bin` (put it on PATH) that keeps its credentials in a JSON file and logs every call.
`get` of an unknown server answers "credentials not found in native keychain" (exit 1), as
the real helpers do; `fail(message)` makes every later call fail with that message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

_SCRIPT = r"""#!{python}
import json, os, sys
STORE = {store!r}
LOG = {log!r}
FAIL = {fail!r}
action = sys.argv[1] if len(sys.argv) > 1 else ""
payload = sys.stdin.read()
with open(LOG, "a") as fh:
    fh.write(json.dumps({{"action": action, "input": payload}}) + "\n")
if os.path.exists(FAIL):
    sys.stdout.write(open(FAIL).read())
    sys.exit(1)
data = json.load(open(STORE)) if os.path.exists(STORE) else {{}}
def save():
    with open(STORE, "w") as fh:
        json.dump(data, fh)
if action == "get":
    server = payload.strip()
    if server not in data:
        sys.stdout.write("credentials not found in native keychain")
        sys.exit(1)
    entry = data[server]
    sys.stdout.write(json.dumps({{"ServerURL": server, "Username": entry["Username"],
                                  "Secret": entry["Secret"]}}))
elif action == "store":
    entry = json.loads(payload)
    data[entry["ServerURL"]] = {{"Username": entry["Username"], "Secret": entry["Secret"]}}
    save()
elif action == "erase":
    server = payload.strip()
    if server not in data:
        sys.stdout.write("credentials not found in native keychain")
        sys.exit(1)
    del data[server]
    save()
elif action == "list":
    sys.stdout.write(json.dumps({{k: v["Username"] for k, v in data.items()}}))
else:
    sys.stdout.write("unknown action " + action)
    sys.exit(1)
"""


class FakeHelper:
    """An on-disk fake credential helper; `bindir` goes on PATH."""

    def __init__(self, directory: Path, name: str = "test") -> None:
        self.name = name
        self.bindir = directory / "bin"
        self.bindir.mkdir(parents=True, exist_ok=True)
        self.store_path = directory / f"{name}-store.json"
        self.log_path = directory / f"{name}-calls.jsonl"
        self.fail_path = directory / f"{name}-fail"
        self.path = self.bindir / f"docker-credential-{name}"
        self.path.write_text(
            _SCRIPT.format(
                python=sys.executable,
                store=str(self.store_path),
                log=str(self.log_path),
                fail=str(self.fail_path),
            )
        )
        self.path.chmod(0o755)

    def put(self, server: str, username: str, secret: str) -> None:
        """Hold a credential for `server`, as if `store` had been called."""
        data = self.entries()
        data[server] = {"Username": username, "Secret": secret}
        self.store_path.write_text(json.dumps(data))

    def entries(self) -> dict[str, dict[str, str]]:
        """Server URL -> {"Username", "Secret"} for every held credential."""
        return json.loads(self.store_path.read_text()) if self.store_path.exists() else {}

    def calls(self, action: Optional[str] = None) -> list[dict[str, str]]:
        """Every call so far ({"action", "input"}), or those of one action."""
        if not self.log_path.exists():
            return []
        calls = [json.loads(line) for line in self.log_path.read_text().splitlines() if line]
        return [c for c in calls if action is None or c["action"] == action]

    def fail(self, message: str) -> None:
        """Make every later call exit 1 with `message` on stdout."""
        self.fail_path.write_text(message)
