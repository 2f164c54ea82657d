"""A Docker token server (GET and OAuth2 POST flows) that signs RS256 JWTs Distribution accepts."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.harness.service import LoopbackService

DEFAULT_USERS: Mapping[str, str] = {"myuser": "mypass"}
DEFAULT_SERVICE = "test-registry"
DEFAULT_ISSUER = "test-issuer"
TOKEN_PATH = "/token"

# Distribution accepts a token until `exp` + 60 s (clock-skew leeway in registry/auth/token).
# Subtracting the same amount from `exp` makes the registry reject the token exactly when the
# advertised `expires_in` runs out, which is what short-lifetime tests need.
DISTRIBUTION_EXP_LEEWAY = 60

REPOSITORY_ACTIONS = frozenset({"pull", "push", "delete", "*"})
ANONYMOUS_PREFIX = "public/"

# Upper bound on a POST body: a token request is a handful of form fields.
_MAX_FORM_BYTES = 64 * 1024


@dataclass(frozen=True)
class Scope:
    """One requested or granted resource scope, e.g. `repository:test/x:pull,push`."""

    type: str
    name: str
    actions: tuple[str, ...]
    resource_class: Optional[str] = None

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Parse `<type>[(<class>)]:<name>:<actions>`; the name itself may contain colons."""
        resource, sep, rest = text.partition(":")
        name, sep2, actions = rest.rpartition(":")
        if not sep or not sep2 or not resource or not name:
            raise ValueError(f"malformed scope: {text!r}")
        resource_class = None
        if resource.endswith(")") and "(" in resource:
            resource, _, resource_class = resource[:-1].partition("(")
        return cls(resource, name, tuple(a for a in actions.split(",") if a), resource_class)

    def __str__(self) -> str:
        resource = f"{self.type}({self.resource_class})" if self.resource_class else self.type
        return f"{resource}:{self.name}:{','.join(self.actions)}"

    def access_entry(self) -> dict[str, Any]:
        """The JWT `access` claim entry for this scope."""
        entry: dict[str, Any] = {
            "type": self.type,
            "name": self.name,
            "actions": list(self.actions),
        }
        if self.resource_class:
            entry["class"] = self.resource_class
        return entry


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Parse scope parameters (each may hold several space-separated scopes), merging actions."""
    merged: dict[tuple[str, str, Optional[str]], list[str]] = {}
    for value in values:
        for text in value.split():
            scope = Scope.parse(text)
            actions = merged.setdefault((scope.type, scope.name, scope.resource_class), [])
            actions.extend(a for a in scope.actions if a not in actions)
    return [Scope(t, n, tuple(a), c) for (t, n, c), a in merged.items()]


# A policy maps (authenticated user or None for anonymous, requested scope) to granted actions.
Policy = Callable[[Optional[str], Scope], Sequence[str]]


def default_policy(username: Optional[str], scope: Scope) -> list[str]:
    """Anonymous: pull on `public/*` only. Authenticated: everything on repositories, catalog."""
    if scope.type == "repository":
        if username is None:
            allowed = {"pull"} if scope.name.startswith(ANONYMOUS_PREFIX) else set()
        else:
            allowed = set(REPOSITORY_ACTIONS)
        return [a for a in scope.actions if a in allowed]
    if scope.type == "registry" and scope.name == "catalog" and username is not None:
        return [a for a in scope.actions if a == "*"]
    return []


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def libtrust_key_id(public_key: rsa.RSAPublicKey) -> str:
    """The libtrust fingerprint Distribution matches against a JWT `kid` header."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """Return a JWT's claims without verifying it (for assertions in tests)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _rfc3339(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class TokenRequest:
    """One request the token server received, as recorded for test assertions."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    basic_auth: bool
    username: Optional[str]
    grant_type: Optional[str]
    service: Optional[str]
    scopes: tuple[str, ...]
    status: int
    refresh_token_issued: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class _TokenError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: TokenServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that exits with its keep-alive connection open (the CLI after a refusal)
        # resets it: not an error of the server. Anything else is printed as before.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; requests are recorded in `TokenServer.requests`."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        owner = self.server.owner
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        form: dict[str, list[str]] = {}
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_FORM_BYTES:
                self._reply(413, {"error": "invalid_request"}, close=True)
                return
            form = parse_qs(self.rfile.read(length).decode("utf-8"), keep_blank_values=True)
        record: dict[str, Any] = {
            "method": method,
            "path": url.path,
            "query": query,
            "form": form,
            "basic_auth": (self.headers.get("Authorization") or "").lower().startswith("basic "),
            "username": None,
            "grant_type": _first(form, "grant_type"),
            "service": _first(form if method == "POST" else query, "service"),
            "scopes": (),
            "headers": dict(self.headers.items()),
        }
        try:
            if url.path != owner.path:
                raise _TokenError(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
            if method == "GET":
                body = owner._handle_get(query, self.headers.get("Authorization"), record)
            else:
                body = owner._handle_post(form, record)
            status = 200
        except _TokenError as err:
            status, body = err.status, err.body
        record["status"] = status
        record["refresh_token_issued"] = "refresh_token" in body
        owner._record(TokenRequest(**record))
        self._reply(status, body)

    def _reply(self, status: int, body: dict[str, Any], close: bool = False) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)


def _first(values: Mapping[str, list[str]], key: str) -> Optional[str]:
    found = values.get(key)
    return found[0] if found else None


class TokenServer(LoopbackService):
    """Threaded token server on 127.0.0.1; `realm` is the URL to put in the registry config.

    Attributes tests may change at runtime: `token_lifetime` (seconds), `users`, `policy`,
    `exp_leeway` (seconds subtracted from the JWT `exp`, see DISTRIBUTION_EXP_LEEWAY).
    """

    def __init__(
        self,
        signing_key_path: Union[str, Path],
        *,
        users: Optional[Mapping[str, str]] = None,
        service: str = DEFAULT_SERVICE,
        issuer: str = DEFAULT_ISSUER,
        token_lifetime: int = 300,
        exp_leeway: int = DISTRIBUTION_EXP_LEEWAY,
        policy: Policy = default_policy,
    ) -> None:
        key = serialization.load_pem_private_key(Path(signing_key_path).read_bytes(), None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("the token signing key must be an RSA key (RS256)")
        self._key = key
        self.key_id = libtrust_key_id(key.public_key())
        self.users: dict[str, str] = dict(DEFAULT_USERS if users is None else users)
        self.service = service
        self.issuer = issuer
        self.token_lifetime = token_lifetime
        self.exp_leeway = exp_leeway
        self.policy = policy
        self.path = TOKEN_PATH
        # refresh token -> username; refresh tokens never expire here.
        self.refresh_tokens: dict[str, str] = {}
        self._log: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self.port = 0

    @property
    def realm(self) -> str:
        return f"{self.url}{self.path}"

    def start(self) -> TokenServer:
        """Bind a free port and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        # A short poll interval keeps stop() fast; the default 0.5 s adds up over a session.
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"token-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    @property
    def requests(self) -> list[TokenRequest]:
        """A snapshot of every request received since the last `clear_log()`."""
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def _record(self, entry: TokenRequest) -> None:
        with self._lock:
            self._log.append(entry)

    def refresh_token_for(self, username: str = "myuser", password: str = "mypass") -> str:
        """A refresh (identity) token, asked for over HTTP as a client would (password grant)."""
        import requests

        response = requests.post(
            self.realm,
            data={
                "grant_type": "password",
                "username": username,
                "password": password,
                "service": self.service,
                "client_id": "test",
                "access_type": "offline",
            },
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["refresh_token"])

    def issue_token(
        self,
        username: Optional[str],
        scopes: Iterable[Scope],
        service: Optional[str] = None,
        lifetime: Optional[int] = None,
        now: Optional[float] = None,
    ) -> str:
        """Sign a JWT granting exactly `scopes` (no policy applied); usable directly in tests."""
        issued = int(time.time() if now is None else now)
        lifetime = self.token_lifetime if lifetime is None else lifetime
        header = {"typ": "JWT", "alg": "RS256", "kid": self.key_id}
        claims = {
            "iss": self.issuer,
            "sub": username or "",
            "aud": service or self.service,
            "exp": issued + lifetime - self.exp_leeway,
            "nbf": issued,
            "iat": issued,
            "jti": secrets.token_hex(16),
            "access": [scope.access_entry() for scope in scopes],
        }
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode("utf-8"))
            for part in (header, claims)
        )
        signature = self._key.sign(
            signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{_b64url(signature)}"

    def _grant(self, username: Optional[str], requested: list[Scope]) -> list[Scope]:
        # Scopes the policy refuses stay in the token with no actions, as Docker Hub does.
        return [
            Scope(s.type, s.name, tuple(self.policy(username, s)), s.resource_class)
            for s in requested
        ]

    def _check_password(self, username: Optional[str], password: Optional[str]) -> str:
        if username is None or self.users.get(username) != password:
            raise _TokenError(
                401,
                {"errors": [{"code": "UNAUTHORIZED", "message": "invalid username or password"}]},
            )
        return username

    def _scopes(self, values: list[str], record: dict[str, Any]) -> list[Scope]:
        try:
            scopes = parse_scopes(values)
        except ValueError as err:
            raise _TokenError(400, {"errors": [{"code": "INVALID_SCOPE", "message": str(err)}]})
        record["scopes"] = tuple(str(s) for s in scopes)
        return scopes

    def _handle_get(
        self, query: dict[str, list[str]], authorization: Optional[str], record: dict[str, Any]
    ) -> dict[str, Any]:
        scopes = self._scopes(query.get("scope", []), record)
        username: Optional[str] = None
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "basic":
                raise _TokenError(
                    401, {"errors": [{"code": "UNAUTHORIZED", "message": "unsupported scheme"}]}
                )
            try:
                user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            except ValueError:
                user, password = "", ""
            username = self._check_password(user, password)
        record["username"] = username
        service = _first(query, "service") or self.service
        now = time.time()
        token = self.issue_token(username, self._grant(username, scopes), service, now=now)
        body: dict[str, Any] = {
            "token": token,
            "access_token": token,
            "expires_in": self.token_lifetime,
            "issued_at": _rfc3339(now),
        }
        if username is not None and _first(query, "offline_token") == "true":
            body["refresh_token"] = self._new_refresh_token(username)
        return body

    def _handle_post(self, form: dict[str, list[str]], record: dict[str, Any]) -> dict[str, Any]:
        grant_type = _first(form, "grant_type")
        if not _first(form, "client_id"):
            raise _TokenError(
                400, {"error": "invalid_request", "error_description": "client_id is required"}
            )
        if grant_type == "password":
            username = self._check_password(_first(form, "username"), _first(form, "password"))
        elif grant_type == "refresh_token":
            with self._lock:
                found = self.refresh_tokens.get(_first(form, "refresh_token") or "")
            if found is None:
                raise _TokenError(
                    401, {"error": "invalid_grant", "error_description": "unknown refresh token"}
                )
            username = found
        else:
            raise _TokenError(
                400, {"error": "unsupported_grant_type", "error_description": str(grant_type)}
            )
        record["username"] = username
        scopes = self._scopes(form.get("scope", []), record)
        granted = self._grant(username, scopes)
        now = time.time()
        body: dict[str, Any] = {
            "access_token": self.issue_token(username, granted, _first(form, "service"), now=now),
            "scope": " ".join(str(s) for s in granted if s.actions),
            "expires_in": self.token_lifetime,
            "issued_at": _rfc3339(now),
        }
        if _first(form, "access_type") == "offline":
            body["refresh_token"] = self._new_refresh_token(username)
        return body

    def _new_refresh_token(self, username: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self.refresh_tokens[token] = username
        return token
