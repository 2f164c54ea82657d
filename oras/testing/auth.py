"""Who may do what on the test registry: htpasswd basic auth, or bearer tokens from its own realm.

`BasicAuth` checks `Authorization: Basic` against a users table on every request. `TokenAuth`
answers a `Bearer realm=...,service=...,scope=...` challenge, issues opaque tokens at the
registry's `/token` endpoint (Docker's GET flow and the OAuth2 POST flow) for the scopes a
user's permissions allow, and checks each request's repository and actions against them; tokens
expire after `lifetime` seconds.

Passwords come from a `{user: password}` mapping or an htpasswd file. htpasswd entries may be
`{SHA}` (base64 SHA-1), bcrypt (`$2y$`/`$2b$`/`$2a$`, what `htpasswd -B` writes) or plain text.
bcrypt needs either the `bcrypt` package or the system's libcrypt (glibc systems have it); when
neither is there, loading a bcrypt entry raises ValueError saying so.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import ctypes.util
import fnmatch
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional, Union

#: Seconds a token lives unless told otherwise (Docker's token servers use 60 to 300).
DEFAULT_TOKEN_LIFETIME = 300
ALL_ACTIONS = ("pull", "push", "delete")

PasswordCheck = Callable[[str], bool]


@dataclass(frozen=True)
class Scope:
    """One `<type>:<name>:<actions>` item: what a request needs or a token grants."""

    type: str
    name: str
    actions: frozenset[str]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(sorted(self.actions))}"

    @classmethod
    def parse(cls, text: str) -> Optional[Scope]:
        kind, sep, rest = text.partition(":")
        name, sep2, actions = rest.rpartition(":")
        if not sep or not sep2 or not name:
            return None
        return cls(kind.split("(")[0], name, frozenset(a for a in actions.split(",") if a))


@dataclass
class Denial:
    """Why a request is refused: the status, OCI error code and the `WWW-Authenticate` value."""

    status: int
    code: str
    message: str
    challenge: Optional[str] = None


# -- passwords --------------------------------------------------------------------------------

_crypt_lock = threading.Lock()


def _libcrypt_check(hashed: str) -> Optional[PasswordCheck]:
    name = ctypes.util.find_library("crypt")
    if not name:
        return None
    try:
        crypt = ctypes.CDLL(name).crypt
    except (OSError, AttributeError):
        return None
    crypt.restype = ctypes.c_char_p
    crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]

    def check(password: str) -> bool:
        # crypt() returns a static buffer: one caller at a time.
        with _crypt_lock:
            result = crypt(password.encode(), hashed.encode())
        return result is not None and hmac.compare_digest(result, hashed.encode())

    # libxcrypt answers "*0"-style failure tokens when it lacks the algorithm.
    probe = crypt(b"", hashed.encode())
    return check if probe is not None and probe.startswith(hashed[:4].encode()) else None


def _bcrypt_check(hashed: str) -> PasswordCheck:
    try:
        import bcrypt  # type: ignore[import-not-found]
    except ImportError:
        check = _libcrypt_check(hashed)
        if check is None:
            raise ValueError(
                "bcrypt htpasswd entries need the 'bcrypt' package or the system libcrypt; "
                "use {SHA} or plain entries, or pass users={name: password}"
            ) from None
        return check
    return lambda password: bool(bcrypt.checkpw(password.encode(), hashed.encode()))


def password_check(entry: str) -> PasswordCheck:
    """A function that tells whether a password matches an htpasswd hash field."""
    if entry.startswith("{SHA}"):
        expected = entry[len("{SHA}") :]
        return lambda password: hmac.compare_digest(
            base64.b64encode(hashlib.sha1(password.encode()).digest()).decode(), expected
        )
    if entry.startswith(("$2y$", "$2b$", "$2a$")):
        return _bcrypt_check(entry)
    return lambda password: hmac.compare_digest(password.encode(), entry.encode())


def read_htpasswd(path: Union[str, Path]) -> dict[str, PasswordCheck]:
    """`{user: check}` from an htpasswd file (blank lines and `#` comments skipped)."""
    users: dict[str, PasswordCheck] = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep:
            raise ValueError(f"{path}: a line without 'user:hash'")
        users[user] = password_check(hashed)
    return users


def plain_users(users: Mapping[str, str]) -> dict[str, PasswordCheck]:
    return {user: password_check_plain(password) for user, password in users.items()}


def password_check_plain(password: str) -> PasswordCheck:
    return lambda given: hmac.compare_digest(given.encode(), password.encode())


def basic_credentials(header: str) -> Optional[tuple[str, str]]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class Authenticator:
    """Decides whether a request may do what it needs; `None` from `check` means yes."""

    def check(self, authorization: str, needed: list[Scope]) -> Optional[Denial]:
        raise NotImplementedError


class BasicAuth(Authenticator):
    """htpasswd-style: every request carries `Authorization: Basic` for a known user."""

    def __init__(self, users: Mapping[str, PasswordCheck], realm: str = "oras-testing") -> None:
        self.users = dict(users)
        self.realm = realm

    def verify(self, user: str, password: str) -> bool:
        check = self.users.get(user)
        return check is not None and check(password)

    def check(self, authorization: str, needed: list[Scope]) -> Optional[Denial]:
        credentials = basic_credentials(authorization)
        if credentials is not None and self.verify(*credentials):
            return None
        return Denial(401, "UNAUTHORIZED", "authentication required", f'Basic realm="{self.realm}"')


@dataclass
class _Token:
    user: Optional[str]
    granted: dict[tuple[str, str], frozenset[str]]
    expires: float


@dataclass
class TokenAuth(Authenticator):
    """Bearer tokens issued by the registry's own `/token` endpoint.

    `permissions` maps a user (or `"*"` for any authenticated user, `""` for anonymous) to
    `{repository glob: actions}`; without it every authenticated user gets every repository
    action and anonymous callers get nothing. `registry:catalog:*` goes to whoever may pull `*`.
    """

    users: Mapping[str, PasswordCheck]
    realm: str = ""
    service: str = "oras-testing"
    lifetime: float = DEFAULT_TOKEN_LIFETIME
    permissions: Optional[Mapping[str, Mapping[str, str]]] = None
    clock: Callable[[], float] = time.time
    _tokens: dict[str, _Token] = field(default_factory=dict)
    _refresh: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, user: str, password: str) -> bool:
        check = self.users.get(user)
        return check is not None and check(password)

    def allowed(self, user: Optional[str], scope: Scope) -> frozenset[str]:
        if scope.type == "registry" and scope.name == "catalog":
            wanted = Scope("repository", "*", frozenset({"pull"}))
            return scope.actions if self.allowed(user, wanted) else frozenset()
        if scope.type != "repository":
            return frozenset()
        if self.permissions is None:
            return scope.actions & frozenset(ALL_ACTIONS + ("*",)) if user else frozenset()
        rules: dict[str, str] = {}
        for key in (("*",) if user else ()) + (user or "",):
            rules.update(self.permissions.get(key, {}))
        granted: set[str] = set()
        for pattern, actions in rules.items():
            if fnmatch.fnmatchcase(scope.name, pattern):
                granted.update(a.strip() for a in actions.split(","))
        if "*" in granted:
            granted.update(ALL_ACTIONS)
        return scope.actions & frozenset(granted | ({"*"} if "*" in granted else set()))

    def issue(self, user: Optional[str], scopes: list[Scope], offline: bool = False) -> dict:
        """Grant what `user` may of `scopes`: the token response body."""
        granted: dict[tuple[str, str], frozenset[str]] = {}
        for scope in scopes:
            actions = self.allowed(user, scope)
            if actions:
                key = (scope.type, scope.name)
                granted[key] = granted.get(key, frozenset()) | actions
        token = secrets.token_urlsafe(24)
        now = self.clock()
        with self._lock:
            self._tokens = {k: t for k, t in self._tokens.items() if t.expires > now}
            self._tokens[token] = _Token(user, granted, now + self.lifetime)
        body = {
            "token": token,
            "access_token": token,
            "expires_in": int(self.lifetime),
            "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "scope": " ".join(f"{t}:{n}:{','.join(sorted(a))}" for (t, n), a in granted.items()),
        }
        if offline and user:
            refresh = secrets.token_urlsafe(24)
            with self._lock:
                self._refresh[refresh] = user
            body["refresh_token"] = refresh
        return body

    def refresh_user(self, refresh_token: str) -> Optional[str]:
        with self._lock:
            return self._refresh.get(refresh_token)

    def _challenge(self, needed: list[Scope], error: Optional[str] = None) -> str:
        value = f'Bearer realm="{self.realm}",service="{self.service}"'
        if needed:
            value += ',scope="' + " ".join(str(s) for s in needed) + '"'
        if error:
            value += f',error="{error}"'
        return value

    def check(self, authorization: str, needed: list[Scope]) -> Optional[Denial]:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return Denial(401, "UNAUTHORIZED", "authentication required", self._challenge(needed))
        with self._lock:
            token = self._tokens.get(value.strip())
        if token is None or token.expires <= self.clock():
            return Denial(
                401,
                "UNAUTHORIZED",
                "invalid or expired token",
                self._challenge(needed, "invalid_token"),
            )
        for scope in needed:
            have = token.granted.get((scope.type, scope.name), frozenset())
            if not (scope.actions <= have or "*" in have):
                return Denial(
                    401,
                    "UNAUTHORIZED",
                    f"access to {scope} not granted",
                    self._challenge(needed, "insufficient_scope"),
                )
        return None
