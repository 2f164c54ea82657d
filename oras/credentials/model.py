"""The credential record shared by config files, helpers and auth backends."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Credential:
    """A username/password pair, an identity (refresh) token, or a registry bearer token."""

    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""

    def __repr__(self) -> str:  # never show secrets in logs or tracebacks
        return f"Credential(username={self.username!r}, secret={'***' if self else 'none'})"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool((self.username and self.password) or self.identity_token or self.registry_token)

    @property
    def basic(self) -> Optional[str]:
        """base64 `user:pass`, as sent after `Basic ` and stored as `auth` in docker config."""
        if not (self.username and self.password):
            return None
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()

    @property
    def identity(self) -> str:
        """A key that tells credentials apart without holding a secret (for token caches).

        Two passwords for the same user are two identities, so a token fetched with a wrong
        password is never handed out for the right one, nor an anonymous token for a user.
        """
        if self.identity_token:
            kind, secret = "refresh", self.identity_token
        elif self.username and self.password:
            kind, secret = "basic", f"{self.username}:{self.password}"
        elif self.registry_token:
            kind, secret = "bearer", self.registry_token
        else:
            return "anonymous"
        digest = hashlib.sha256(secret.encode()).hexdigest()[:16]
        return f"{kind}:{self.username}:{digest}"

    @classmethod
    def from_basic(cls, encoded: str) -> Credential:
        try:
            raw = base64.b64decode(encoded).decode("utf-8")
        except Exception:
            return cls()
        user, sep, password = raw.partition(":")
        return cls(username=user, password=password) if sep else cls()
