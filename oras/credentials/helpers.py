"""Run docker-credential-<suffix> helpers with the real protocol (get, store, erase)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from typing import Optional

from oras.credentials.model import Credential
from oras.errors import CredentialHelperError

log = logging.getLogger(__name__)

#: What helpers print when they hold nothing for a server: "no credential", not an error.
_NOT_FOUND = "credentials not found"
_TIMEOUT = 60


def _run(suffix: str, action: str, payload: str) -> str:
    binary = f"docker-credential-{suffix}"
    path = shutil.which(binary)
    if path is None:
        raise CredentialHelperError(
            f"credential helper {binary} not found in PATH",
            hint=f"install {binary} or remove it from your docker config",
        )
    try:
        proc = subprocess.run(
            [path, action],
            input=payload,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CredentialHelperError(f"credential helper {binary} failed to run: {e}") from None
    if proc.returncode != 0:
        message = (proc.stdout or proc.stderr or "").strip()
        if _NOT_FOUND in message.lower():
            raise LookupError(message)
        raise CredentialHelperError(
            f"credential helper {binary} {action} failed: {message or f'exit {proc.returncode}'}"
        )
    return proc.stdout


def helper_get(suffix: str, server: str) -> Optional[Credential]:
    """The helper's credential for `server`, or None when it holds none."""
    try:
        out = _run(suffix, "get", server)
    except LookupError:
        return None
    try:
        data = json.loads(out)
    except ValueError:
        raise CredentialHelperError(
            f"credential helper docker-credential-{suffix} returned invalid JSON"
        ) from None
    user, secret = data.get("Username") or "", data.get("Secret") or ""
    if not secret:
        return None
    if user == "<token>":
        return Credential(identity_token=secret)
    return Credential(username=user, password=secret)


def helper_store(suffix: str, server: str, cred: Credential) -> None:
    if cred.identity_token:
        user, secret = "<token>", cred.identity_token
    else:
        user, secret = cred.username, cred.password
    payload = json.dumps({"ServerURL": server, "Username": user, "Secret": secret})
    _run(suffix, "store", payload)


def helper_erase(suffix: str, server: str) -> bool:
    """Erase the helper's credential; False when it had none."""
    try:
        _run(suffix, "erase", server)
    except LookupError:
        return False
    return True
