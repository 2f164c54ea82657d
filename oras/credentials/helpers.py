"""Run docker-credential-<suffix> helpers with the real protocol (get, store, erase, list)."""

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
#: Longest a helper may take (a keychain prompt included) before we give up on it.
HELPER_TIMEOUT = 60
#: Username a helper returns when `Secret` is an identity token, not a password.
TOKEN_USERNAME = "<token>"


class HelperNotFound(LookupError):
    """The helper holds no credential for the server (its "credentials not found" answer)."""


def helper_binary(suffix: str) -> str:
    return f"docker-credential-{suffix}"


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _run(suffix: str, action: str, payload: str) -> str:
    binary = helper_binary(suffix)
    if not suffix or any(c in suffix for c in "/\\\x00") or not suffix.isprintable():
        # A config file's helper is a name looked up in PATH, never a path to run.
        raise CredentialHelperError(
            f"credential helper {binary!r} is not a helper name",
            hint="fix credsStore or credHelpers in your docker config",
        )
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
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CredentialHelperError(
            f"credential helper {binary} {action} did not answer within {HELPER_TIMEOUT} s"
        ) from None
    except OSError as e:
        raise CredentialHelperError(
            f"credential helper {binary} failed to run: {e.strerror or e}"
        ) from None
    if proc.returncode != 0:
        message = _one_line(proc.stdout or proc.stderr or "")
        if _NOT_FOUND in message.lower():
            raise HelperNotFound(message)
        raise CredentialHelperError(
            f"credential helper {binary} {action} failed: {message or f'exit {proc.returncode}'}"
        )
    return proc.stdout


def helper_get(suffix: str, server: str) -> Optional[Credential]:
    """The helper's credential for `server`, or None when it holds none."""
    try:
        out = _run(suffix, "get", server)
    except HelperNotFound:
        return None
    try:
        data = json.loads(out)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise CredentialHelperError(
            f"credential helper {helper_binary(suffix)} get returned invalid JSON"
        )
    user, secret = str(data.get("Username") or ""), str(data.get("Secret") or "")
    if not secret:
        return None
    if user == TOKEN_USERNAME:
        return Credential(identity_token=secret)
    return Credential(username=user, password=secret)


def helper_store(suffix: str, server: str, cred: Credential) -> None:
    """Hand `cred` to the helper (an identity token goes under the username `<token>`)."""
    if cred.identity_token:
        user, secret = TOKEN_USERNAME, cred.identity_token
    else:
        user, secret = cred.username, cred.password
    payload = json.dumps({"ServerURL": server, "Username": user, "Secret": secret})
    _run(suffix, "store", payload)


def helper_erase(suffix: str, server: str) -> bool:
    """Erase the helper's credential; False when it had none."""
    try:
        _run(suffix, "erase", server)
    except HelperNotFound:
        return False
    return True


def helper_list(suffix: str) -> dict[str, str]:
    """Server URL -> username for every credential the helper holds."""
    out = _run(suffix, "list", "")
    try:
        data = json.loads(out or "{}")
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise CredentialHelperError(
            f"credential helper {helper_binary(suffix)} list returned invalid JSON"
        )
    return {str(k): str(v) for k, v in data.items()}
