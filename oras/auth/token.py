"""The default auth backend: Bearer tokens per (realm, service, scopes), Basic where challenged."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlsplit

import requests

from oras.auth.base import AuthBackend
from oras.credentials import Credential
from oras.errors import AuthenticationError, ProtocolError
from oras.remote.challenge import (
    Challenge,
    merge_scopes,
    parse_challenges,
    repository_of,
    scope_for_request,
    split_scope,
)

log = logging.getLogger(__name__)

#: Largest token response we read (oras-go's limit).
MAX_TOKEN_RESPONSE = 128 * 1024
#: Token lifetime when the server does not say (the spec's default).
DEFAULT_EXPIRES_IN = 60
#: Renew this many seconds before a token expires.
EXPIRY_SKEW = 10
TOKEN_TIMEOUT = 60
CLIENT_ID = "oras-py"


@dataclass
class _Token:
    value: str
    expires_at: float
    scopes: tuple[str, ...]

    @property
    def fresh(self) -> bool:
        return time.monotonic() < self.expires_at


def _covers(granted: tuple[str, ...], needed: tuple[str, ...]) -> bool:
    have: dict[tuple[str, str], set[str]] = {}
    for scope in granted:
        kind, name, actions = split_scope(scope)
        have.setdefault((kind, name), set()).update(actions)
    for scope in needed:
        kind, name, actions = split_scope(scope)
        got = have.get((kind, name), set())
        if "*" not in got and not set(actions) <= got:
            return False
    return True


class TokenAuth(AuthBackend):
    """Answers `Bearer` challenges with cached tokens and `Basic` challenges with credentials."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.token: Optional[str] = None
        self._tokens: dict[tuple[str, str, str], list[_Token]] = {}
        self._challenges: dict[str, Challenge] = {}
        self._wanted: dict[tuple[str, str], set[str]] = {}

    # -- oras-py surface -------------------------------------------------------------------
    def set_token_auth(self, token: str) -> None:
        """Send this bearer token from now on."""
        self.token = token

    def get_auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def reset_basic_auth(self) -> None:
        super().reset_basic_auth()

    def _logout(self) -> None:
        self.token = None
        self._tokens.clear()

    def request_token(self, h: Any, host: Optional[str] = None) -> Optional[str]:
        """A token for the challenge `h` (an authHeader or Challenge), using stored credentials."""
        challenge = h if isinstance(h, Challenge) else Challenge("bearer", dict(vars(h)))
        scopes = merge_scopes(challenge.scopes)
        return self._fetch_token(challenge, scopes, self.credential_for(host or "")).value

    def request_anonymous_token(self, h: Any, *args: Any, **kwargs: Any) -> Optional[str]:
        challenge = h if isinstance(h, Challenge) else Challenge("bearer", dict(vars(h)))
        try:
            return self._fetch_token(challenge, merge_scopes(challenge.scopes), Credential()).value
        except AuthenticationError:
            return None

    # -- core hooks ---------------------------------------------------------------------------
    def want_scope(self, host: str, repository: str, actions: list[str]) -> None:
        with self._lock:
            self._wanted.setdefault((host, repository), set()).update(actions)

    def _needed_scopes(self, method: str, url: str, extra: list[str]) -> tuple[str, ...]:
        host = urlsplit(url).netloc
        scopes = list(extra)
        own = scope_for_request(method, url)
        if own:
            scopes.append(own)
        repo = repository_of(url)
        if repo is not None:
            wanted = self._wanted.get((host, repo))
            if wanted:
                scopes.append(f"repository:{repo}:{','.join(sorted(wanted))}")
        return merge_scopes(scopes)

    def _cached(
        self, challenge: Challenge, scopes: tuple[str, ...], identity: str
    ) -> Optional[_Token]:
        key = (challenge.realm or "", challenge.service or "", identity)
        for token in self._tokens.get(key, []):
            if token.fresh and _covers(token.scopes, scopes):
                return token
        return None

    def auth_headers(self, method: str, url: str) -> dict[str, str]:
        host = urlsplit(url).netloc
        challenge = self._challenges.get(host)
        if challenge is None:
            return self.get_auth_header()
        cred = self.credential_for(host)
        if challenge.scheme == "basic":
            return {"Authorization": f"Basic {cred.basic}"} if cred.basic else {}
        if cred.registry_token:
            return {"Authorization": f"Bearer {cred.registry_token}"}
        scopes = self._needed_scopes(method, url, [])
        with self._lock:
            token = self._cached(challenge, scopes, cred.username)
        if token is None:
            # We know this registry's realm: fetch before sending, saving a 401 round trip
            # and renewing expired tokens in the middle of long transfers.
            try:
                token = self._fetch_token(challenge, scopes, cred)
            except AuthenticationError:
                raise
            except Exception as e:  # let the request go out and the 401 path decide
                log.debug("proactive token request failed: %s", e)
                return {}
        return {"Authorization": f"Bearer {token.value}"}

    def authenticate_request(
        self, original: requests.Response, headers: Optional[dict] = None, refresh: bool = False
    ) -> tuple[dict, bool]:
        """Answer a 401: returns (headers for the retry, whether they changed)."""
        headers = dict(headers or {})
        raw = original.headers.get("WWW-Authenticate", "")
        challenges = parse_challenges(raw)
        if not challenges:
            return headers, False
        url = original.url or ""
        host = urlsplit(url).netloc
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.realm), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        cred = self.credential_for(host)
        if bearer is not None:
            self._challenges[host] = bearer
            method = original.request.method if original.request is not None else "GET"
            scopes = self._needed_scopes(method or "GET", url, bearer.scopes)
            if cred.registry_token:
                token_value = cred.registry_token
            else:
                token = None if refresh else self._cached(bearer, scopes, cred.username)
                previous = (headers.get("Authorization") or "").removeprefix("Bearer ")
                if token is not None and token.value == previous:
                    token = None  # the server refused this very token: get a new one
                token = token or self._fetch_token(bearer, scopes, cred)
                token_value = token.value
            new = f"Bearer {token_value}"
        elif basic is not None:
            self._challenges[host] = basic
            if not cred.basic:
                return headers, False
            new = f"Basic {cred.basic}"
        else:
            return headers, False
        changed = headers.get("Authorization") != new
        headers["Authorization"] = new
        return headers, changed

    # -- the token endpoint -------------------------------------------------------------------
    def _realm_url(self, realm: str) -> str:
        if "://" not in realm:
            return f"{self.prefix}://{realm}"
        return realm

    def _fetch_token(
        self, challenge: Challenge, scopes: tuple[str, ...], cred: Credential
    ) -> _Token:
        realm = self._realm_url(challenge.realm or "")
        if urlsplit(realm).scheme not in ("http", "https"):
            raise ProtocolError(f"token realm {realm!r} is not an http(s) URL")
        service = challenge.service or ""
        if cred.identity_token:
            response = self._post_token(realm, service, scopes, cred)
        else:
            params: list[tuple[str, str]] = []
            if service:
                params.append(("service", service))
            params.extend(("scope", s) for s in scopes)
            auth = (cred.username, cred.password) if cred.basic else None
            response = self.session.get(
                realm,
                params=params,
                auth=auth,
                headers={"Accept": "application/json"},
                verify=self._tls_verify,
                timeout=TOKEN_TIMEOUT,
                allow_redirects=False,
            )
        token = self._parse_token_response(response, realm, scopes, cred)
        key = (challenge.realm or "", service, cred.username)
        with self._lock:
            bucket = [t for t in self._tokens.get(key, []) if t.fresh]
            bucket.insert(0, token)
            self._tokens[key] = bucket[:16]
            self.token = token.value
        return token

    def _post_token(
        self, realm: str, service: str, scopes: tuple[str, ...], cred: Credential
    ) -> requests.Response:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": cred.identity_token,
            "service": service,
            "client_id": CLIENT_ID,
            "scope": " ".join(scopes),
        }
        return self.session.post(
            realm,
            data=form,
            headers={"Accept": "application/json"},
            verify=self._tls_verify,
            timeout=TOKEN_TIMEOUT,
            allow_redirects=False,
        )

    @staticmethod
    def _parse_token_response(
        response: requests.Response, realm: str, scopes: tuple[str, ...], cred: Credential
    ) -> _Token:
        origin = urlsplit(realm).netloc
        if response.status_code in (401, 403):
            who = f"user {cred.username!r}" if cred.username else "anonymous access"
            hint = (
                "check the username and password (oras-py login)"
                if cred
                else "log in first: oras-py login <registry>"
            )
            raise AuthenticationError(
                f"token server {origin} refused {who} (HTTP {response.status_code})",
                status=response.status_code,
                hint=hint,
            )
        if response.status_code != 200:
            raise AuthenticationError(
                f"token server {origin} answered HTTP {response.status_code}",
                status=response.status_code,
            )
        body = response.content
        if len(body) > MAX_TOKEN_RESPONSE:
            raise ProtocolError(
                f"token response from {origin} is larger than {MAX_TOKEN_RESPONSE} bytes"
            )
        try:
            data = response.json()
        except ValueError:
            raise ProtocolError(f"token response from {origin} is not JSON") from None
        value = data.get("token") or data.get("access_token")
        if not value or not isinstance(value, str):
            raise ProtocolError(f"token response from {origin} holds no token")
        try:
            expires_in = int(data.get("expires_in") or DEFAULT_EXPIRES_IN)
        except (TypeError, ValueError):
            expires_in = DEFAULT_EXPIRES_IN
        skew = min(EXPIRY_SKEW, expires_in / 4)
        return _Token(value, time.monotonic() + expires_in - skew, scopes)
