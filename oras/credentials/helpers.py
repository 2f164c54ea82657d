"""Run docker-credential-<suffix> helpers with the real protocol (get, store, erase, list)."""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
from typing import Any, Optional

from oras.credentials.model import Credential
from oras.errors import CredentialHelperError

log = logging.getLogger(__name__)

#: What helpers print when they hold nothing for a server: "no credential", not an error.
_NOT_FOUND = "credentials not found"
#: Seconds a helper may take (a keychain prompt included) before it is stopped and refused.
HELPER_TIMEOUT = 60
#: Most bytes read from a helper's stdout, and from its stderr: a credential is a few KiB; a
#: helper that writes more is stopped and refused.
MAX_HELPER_OUTPUT = 1024 * 1024
#: Username a helper returns when `Secret` is an identity token, not a password.
TOKEN_USERNAME = "<token>"
#: Helper output that may carry a credential: a JSON object, a `"Secret":` field.
_CREDENTIAL_LIKE = re.compile(r'[{}]|"?secret"?\s*[:=]', re.IGNORECASE)
#: A word of helper output that may be a password or token when it mixes letters and digits.
_SECRET_LIKE = re.compile(r"[A-Za-z0-9+/=_.~-]{12,}")


class HelperNotFound(LookupError):
    """The helper holds no credential for the server (its "credentials not found" answer)."""


def helper_binary(suffix: str) -> str:
    return f"docker-credential-{suffix}"


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _safe_message(text: str, secrets: tuple[str, ...]) -> str:
    """What a failing helper said, fit for an error message (it is how users learn that a
    keychain is locked), with what might be a secret taken out: the secrets we handed it and
    long words mixing letters and digits (what generated passwords and tokens look like) become
    `***`, and output shaped like a credential (JSON, a `Secret` field) is withheld."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    if _CREDENTIAL_LIKE.search(text):
        return "(its output is not shown: it may hold a credential)"
    text = _SECRET_LIKE.sub(_mask_secret_like, text)
    return _one_line("".join(c if c.isprintable() else " " for c in text))


def _mask_secret_like(match: re.Match[str]) -> str:
    word = match.group(0)
    mixed = any(c.isdigit() for c in word) and any(c.isalpha() for c in word)
    return "***" if mixed else word


def _communicate(command: list[str], payload: str, what: str) -> tuple[int, str, str]:
    """Run `command` with `payload` on stdin: (exit status, stdout, stderr), read at most
    `MAX_HELPER_OUTPUT` bytes each, within `HELPER_TIMEOUT` seconds (CredentialHelperError)."""
    import subprocess  # imported on use: only a credential helper needs it

    limit, timeout = MAX_HELPER_OUTPUT, HELPER_TIMEOUT
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    outputs = (bytearray(), bytearray())
    too_much = threading.Event()

    def feed() -> None:
        try:
            assert proc.stdin is not None
            proc.stdin.write(payload.encode("utf-8"))
            proc.stdin.close()
        except (OSError, ValueError):
            pass  # the helper exited without reading: its status says what happened

    def pump(pipe: Any, sink: bytearray) -> None:
        try:
            while True:
                chunk = pipe.read1(64 * 1024)
                if not chunk:
                    return
                sink.extend(chunk[: limit + 1 - len(sink)])
                if len(sink) > limit:
                    too_much.set()
                    proc.kill()
                    return
        except (OSError, ValueError):
            return

    threads = [
        threading.Thread(target=feed, daemon=True),
        threading.Thread(target=pump, args=(proc.stdout, outputs[0]), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, outputs[1]), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise CredentialHelperError(
            f"credential helper {what} did not answer within {timeout:g} s",
            hint="check the helper, or raise oras.credentials.helpers.HELPER_TIMEOUT",
        ) from None
    finally:
        for thread, pipe in zip(threads, (proc.stdin, proc.stdout, proc.stderr)):
            thread.join(timeout=1.0)
            # A process the helper left behind may still hold a pipe: its reader thread (a
            # daemon) is left to end with it, since closing a pipe waits for its reader.
            if pipe is not None and not thread.is_alive():
                try:
                    pipe.close()
                except OSError:
                    pass
    if too_much.is_set():
        raise CredentialHelperError(
            f"credential helper {what} wrote more than {limit} bytes; it was stopped",
            hint="check the helper, or raise oras.credentials.helpers.MAX_HELPER_OUTPUT",
        )
    return status, *(o.decode("utf-8", "replace") for o in outputs)  # type: ignore[return-value]


def _run(suffix: str, action: str, payload: str, secrets: tuple[str, ...] = ()) -> str:
    """The helper's stdout for `action`; `secrets` (what `payload` hands it) never show in an
    error."""
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
        status, stdout, stderr = _communicate([path, action], payload, f"{binary} {action}")
    except OSError as e:
        raise CredentialHelperError(
            f"credential helper {binary} failed to run: {e.strerror or e}"
        ) from None
    if status != 0:
        said = stdout if stdout.strip() else stderr
        if _NOT_FOUND in said.lower():
            raise HelperNotFound(_one_line(said))
        message = _safe_message(said, secrets) if said.strip() else ""
        raise CredentialHelperError(
            f"credential helper {binary} {action} failed: {message or f'exit {status}'}"
        )
    return stdout


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
    user, secret = data.get("Username") or "", data.get("Secret") or ""
    if not isinstance(user, str) or not isinstance(secret, str):
        raise CredentialHelperError(
            f"credential helper {helper_binary(suffix)} get returned a Username or Secret "
            "that is not a string"
        )
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
    _run(suffix, "store", payload, secrets=(secret,))


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
