"""The default auth backend: Bearer tokens per (realm, service, scope set), Basic where challenged.

How a request gets its `Authorization` header:

- a host that is not one of the registries the backend works for (a foreign upload `Location`,
  a redirect target) gets nothing, and its challenges are not answered;
- a registry that has not challenged us yet gets nothing but an explicit `set_token_auth`
  token; its 401 tells us the scheme, realm and service;
- `Basic` challenge: the host's credential on every request to it;
- `Bearer` challenge: a token for the request's scopes (plus those asked for up front with
  `want_scope`/`want_mount`), from the cache while fresh, else from the token server before the
  request is sent, so long uploads renew expired tokens per chunk without a 401 round trip;
- a 401 (`invalid_token`, `insufficient_scope`, a new scope) drops the refused token and fetches
  one for the union of the old and the asked-for scopes; the client retries once.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import requests

from oras.auth.base import AuthBackend
from oras.concurrency import KeyedLocks
from oras.credentials import Credential
from oras.descriptor import parse_json_object
from oras.errors import AuthenticationError, ProtocolError, RegistryTimeoutError
from oras.log import logger as logger  # oras-py's module-level name
from oras.recent import RecentDict
from oras.reference import iter_localhosts, registry_api_host
from oras.remote.challenge import (
    Challenge,
    merge_scopes,
    parse_challenges,
    repository_of,
    scope_for_request,
    split_scope,
)
from oras.remote.response import read_limited
from oras.remote.retry import is_timeout
from oras.remote.timeouts import DEFAULT_TIMEOUTS, TIMEOUT_HINT, Timeouts

log = logging.getLogger(__name__)

#: Largest token response we read (oras-go's limit).
MAX_TOKEN_RESPONSE = 128 * 1024
#: Token lifetime when the server does not say (the spec's default).
DEFAULT_EXPIRES_IN = 60
#: Longest token lifetime believed: a token is asked for again after a day at the latest.
MAX_EXPIRES_IN = 24 * 60 * 60
#: Renew this many seconds before a token expires (at most a quarter of its lifetime).
EXPIRY_SKEW = 10
#: (connect, read) timeouts of a token request, in seconds, unless the client sets others
#: (`Registry(timeout=...)` sets the backend's `timeout`).
TOKEN_TIMEOUT = DEFAULT_TIMEOUTS
#: `client_id` of OAuth2 token requests (required by the spec).
CLIENT_ID = "oras-py"
#: Most tokens kept per (realm, service, identity); the oldest go first.
MAX_CACHED_TOKENS = 32

_CacheKey = tuple[str, str, str]  # (realm, service, identity)
#: Seconds a token service's refusal of these exact credentials, or an answer that holds no
#: token, is remembered and shared with every request that needs the same token, instead of
#: each asking again.
REFUSAL_MEMORY = 10.0


@dataclass
class _Token:
    value: str
    expires_at: float
    scopes: tuple[str, ...]

    @property
    def fresh(self) -> bool:
        return time.monotonic() < self.expires_at


def _covers(granted: tuple[str, ...], needed: tuple[str, ...]) -> bool:
    """True when the scopes in `granted` include every action of `needed`."""
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


def _mount_source_scope(method: str, url: str) -> Optional[str]:
    """`repository:<from>:pull` for a cross-repository mount POST (`?mount=<d>&from=<repo>`)."""
    if method.upper() != "POST":
        return None
    query = parse_qs(urlsplit(url).query)
    source = (query.get("from") or [""])[0]
    return f"repository:{source}:pull" if source and query.get("mount") else None


class TokenAuth(AuthBackend):
    """Answers `Bearer` challenges with cached tokens and `Basic` challenges with credentials."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        #: (connect, read) seconds of token requests.
        self.timeout: Timeouts = TOKEN_TIMEOUT
        self.token: Optional[str] = None
        # (realm, service, identity) -> {requested scope set -> token}
        self._token_cache: dict[_CacheKey, dict[tuple[str, ...], _Token]] = {}
        #: One token fetch at a time per (cache key, scopes); a lock lives while it is used.
        self._fetching = KeyedLocks()
        #: Scopes of tokens the registry refused, by token (see `_forget`).
        self._dropped: dict[str, tuple[str, ...]] = {}
        #: When a fetch per key was last refused, and how: shared with the requests waiting.
        self._refused: dict[tuple[_CacheKey, tuple[str, ...]], tuple[float, Exception]] = {}
        self._challenges: dict[str, Challenge] = {}
        # (host, repository) -> scopes to add to every token for requests to that repository
        self._wanted: RecentDict[tuple[str, str], set[str]] = RecentDict()

    # -- oras-py surface -------------------------------------------------------------------
    def set_token_auth(self, token: str) -> None:
        """Send this bearer token from now on (to the registries this backend works for)."""
        self.token = token
        base = self._explicit or Credential()
        self._explicit = Credential(
            username=base.username,
            password=base.password,
            identity_token=base.identity_token,
            registry_token=token or "",
        )

    def get_auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def reset_basic_auth(self) -> None:
        token = self._explicit.registry_token if self._explicit else ""
        super().reset_basic_auth()
        if token:
            self._explicit = Credential(registry_token=token)

    def _logout(self) -> None:
        self.token = None
        with self._lock:
            self._token_cache.clear()
            self._challenges.clear()

    def request_token(self, h: Any, host: Optional[str] = None) -> Optional[str]:
        """A token for the challenge `h` (an authHeader or Challenge), using stored credentials."""
        challenge = h if isinstance(h, Challenge) else Challenge("bearer", dict(vars(h)))
        scopes = merge_scopes(challenge.scopes)
        cred = self.credential_for(host) if host else Credential()
        return self._fetch_token(challenge, scopes, cred, host or "").value

    def request_anonymous_token(self, h: Any, *args: Any, **kwargs: Any) -> Optional[str]:
        challenge = h if isinstance(h, Challenge) else Challenge("bearer", dict(vars(h)))
        try:
            return self._fetch_token(challenge, merge_scopes(challenge.scopes), Credential()).value
        except AuthenticationError:
            return None

    # -- scopes asked for up front ------------------------------------------------------------
    def want_scope(self, host: str, repository: str, actions: list[str]) -> None:
        """Ask for `actions` on `repository` in every token for requests to it (push asks for
        `pull,push` before its first request rather than upgrading a pull token mid-way)."""
        super().want_scope(host, repository, actions)
        self._want(host, repository, [f"repository:{repository}:{','.join(sorted(set(actions)))}"])

    def want_mount(self, host: str, repository: str, source: str) -> None:
        """Ask for `pull,push` on `repository` and `pull` on `source` in one token, as a
        cross-repository mount (`POST .../blobs/uploads/?mount=<digest>&from=<source>`) needs."""
        super().want_mount(host, repository, source)
        scopes = [f"repository:{repository}:pull,push", f"repository:{source}:pull"]
        self._want(host, repository, scopes)

    def _want(self, host: str, repository: str, scopes: list[str]) -> None:
        with self._lock:
            for name in iter_localhosts(host):
                for api_host in {name.lower(), registry_api_host(name).lower()}:
                    self._wanted.setdefault((api_host, repository), set()).update(scopes)

    def _needed_scopes(self, method: str, url: str, extra: list[str]) -> tuple[str, ...]:
        host = urlsplit(url).netloc.lower()
        scopes = list(extra)
        own = scope_for_request(method, url)
        if own:
            scopes.append(own)
        mount = _mount_source_scope(method, url)
        if mount:
            scopes.append(mount)
        repo = repository_of(url)
        if repo is not None:
            with self._lock:
                scopes.extend(self._wanted.get((host, repo), ()))
        return merge_scopes(scopes)

    # -- the token cache ------------------------------------------------------------------------
    @staticmethod
    def _cache_key(challenge: Challenge, cred: Credential) -> _CacheKey:
        return (challenge.realm or "", challenge.service or "", cred.identity)

    def _cached(
        self, challenge: Challenge, scopes: tuple[str, ...], cred: Credential
    ) -> Optional[_Token]:
        with self._lock:
            bucket = self._token_cache.get(self._cache_key(challenge, cred), {})
            exact = bucket.get(scopes)
            if exact is not None and exact.fresh:
                return exact
            for token in bucket.values():
                if token.fresh and _covers(token.scopes, scopes):
                    return token
        return None

    def _remember(self, key: _CacheKey, token: _Token) -> None:
        with self._lock:
            bucket = {s: t for s, t in self._token_cache.get(key, {}).items() if t.fresh}
            bucket[token.scopes] = token
            while len(bucket) > MAX_CACHED_TOKENS:
                bucket.pop(next(iter(bucket)))
            self._token_cache[key] = bucket
            self.token = token.value

    def _forget(self, value: str) -> tuple[str, ...]:
        """Drop a token the registry refused; returns the scopes it was asked for. The answer
        is remembered, so that workers whose requests were refused with the same token after
        the first one dropped it still know what it was asked for (and do not ask again)."""
        scopes: tuple[str, ...] = ()
        with self._lock:
            for bucket in self._token_cache.values():
                for key in [s for s, t in bucket.items() if t.value == value]:
                    scopes = bucket.pop(key).scopes
            if scopes:
                self._dropped[value] = scopes
                while len(self._dropped) > MAX_CACHED_TOKENS:
                    self._dropped.pop(next(iter(self._dropped)))
            else:
                scopes = self._dropped.get(value, ())
        return scopes

    def _token_for(
        self, challenge: Challenge, scopes: tuple[str, ...], cred: Credential, url: str
    ) -> _Token:
        """A fresh cached token covering `scopes`, else a new one: one fetch at a time per key,
        so concurrent requests share its token, or its refusal for `REFUSAL_MEMORY` seconds
        (wrong credentials are sent once, not once per worker). An answer that is no token
        (an HTML page, say) is remembered as long: a token server that gave one is not asked
        again by every worker and every request of the transfer."""
        token = self._cached(challenge, scopes, cred)
        if token is not None:
            return token
        lock_key = (self._cache_key(challenge, cred), scopes)
        with self._fetching.hold(lock_key):
            refused = self._refused.get(lock_key)
            if refused is not None and time.monotonic() - refused[0] < REFUSAL_MEMORY:
                raise copy.copy(refused[1])  # these credentials were just refused
            token = self._cached(challenge, scopes, cred)
            if token is None:
                try:
                    token = self._fetch_token(challenge, scopes, cred, url)
                except (AuthenticationError, ProtocolError) as e:
                    self._remember_refusal(lock_key, e)
                    raise
        return token

    def _remember_refusal(self, key: tuple[_CacheKey, tuple[str, ...]], error: Exception) -> None:
        """Note a refusal for REFUSAL_MEMORY seconds; older ones are forgotten here."""
        now = time.monotonic()
        with self._lock:
            for old in [k for k, (at, _) in self._refused.items() if now - at >= REFUSAL_MEMORY]:
                del self._refused[old]
            self._refused[key] = (now, error)

    # -- core hooks ---------------------------------------------------------------------------
    def auth_headers(self, method: str, url: str) -> dict[str, str]:
        """The `Authorization` header for a request about to be sent, or nothing."""
        host = urlsplit(url).netloc
        if not self.is_registry_host(host):
            return {}
        challenge = self._challenges.get(host)
        if challenge is None:
            explicit = self._explicit
            if explicit and explicit.registry_token:
                return {"Authorization": f"Bearer {explicit.registry_token}"}
            return {}
        cred = self.credential_for(host, repository_of(url))
        if challenge.scheme == "basic":
            return {"Authorization": f"Basic {cred.basic}"} if cred.basic else {}
        if cred.registry_token:
            return {"Authorization": f"Bearer {cred.registry_token}"}
        scopes = self._needed_scopes(method, url, [])
        try:
            token = self._token_for(challenge, scopes, cred, url)
        except AuthenticationError:
            raise  # wrong credentials: fail now, not after a 401 round trip
        except (requests.exceptions.RequestException, ProtocolError) as e:
            # Let the request go out; its 401 decides.
            log.debug("token request before %s %s failed: %s", method, host, e)
            return {}
        return {"Authorization": f"Bearer {token.value}"}

    def authenticate_request(
        self, original: requests.Response, headers: Optional[dict] = None, refresh: bool = False
    ) -> tuple[dict, bool]:
        """Answer a 401: returns (headers for the retry, whether they changed)."""
        headers = dict(headers or {})
        challenges = parse_challenges(original.headers.get("WWW-Authenticate", ""))
        if not challenges:
            return headers, False
        url = original.url or ""
        host = urlsplit(url).netloc
        if not self._origins:
            self.add_registry_host(host)  # a bare client used with do_request alone
        elif not self.is_registry_host(host):
            return headers, False  # a foreign Location or redirect target gets nothing
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.realm), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        cred = self.credential_for(host, repository_of(url))
        previous = headers.get("Authorization") or ""
        if bearer is not None:
            self._challenges[host] = bearer
            new = self._answer_bearer(original, bearer, cred, previous, url, refresh)
            if new is None:
                return headers, False
        elif basic is not None:
            self._challenges[host] = basic
            if not cred.basic:
                return headers, False
            new = f"Basic {cred.basic}"
        else:
            return headers, False
        changed = previous != new
        headers["Authorization"] = new
        return headers, changed

    def _answer_bearer(
        self,
        original: requests.Response,
        challenge: Challenge,
        cred: Credential,
        previous: str,
        url: str,
        refresh: bool,
    ) -> Optional[str]:
        """The `Authorization` value to retry with, or None when retrying cannot help."""
        if cred.registry_token:
            if previous != f"Bearer {cred.registry_token}":
                return f"Bearer {cred.registry_token}"
            # The registry refused the token given to us; a password or identity token may
            # still get a fresh one.
            cred = Credential(cred.username, cred.password, cred.identity_token)
        refused = previous[len("Bearer ") :] if previous.startswith("Bearer ") else ""
        refused_scopes = self._forget(refused) if refused else ()
        method = (original.request.method if original.request is not None else None) or "GET"
        scopes = self._needed_scopes(method, url, [*challenge.scopes, *refused_scopes])
        if (
            refused
            and challenge.error == "insufficient_scope"
            and refused_scopes
            and _covers(refused_scopes, scopes)
        ):
            # We asked for all of this and were given less: another token will not differ.
            return None
        # Workers answering their first 401s at once share one token request.
        token = None if refresh else self._token_for(challenge, scopes, cred, url)
        if token is None or token.value == refused:
            token = self._fetch_token(challenge, scopes, cred, url)
        return f"Bearer {token.value}"

    # -- the token endpoint -------------------------------------------------------------------
    def _realm_url(self, realm: str) -> str:
        if "://" not in realm:
            return f"{self.prefix}://{realm}"
        return realm

    def _check_realm(self, realm: str, registry_url: str) -> None:
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProtocolError(f"token realm {realm!r} is not an http(s) URL")
        if parts.username is not None or parts.password is not None:
            raise ProtocolError("token realm carries credentials in its URL; refusing to use it")
        if parts.scheme == "http" and urlsplit(registry_url).scheme == "https":
            raise ProtocolError(
                f"registry {urlsplit(registry_url).netloc} speaks HTTPS but its token realm "
                f"{parts.netloc} is plain HTTP; refusing to send credentials there"
            )

    def _fetch_token(
        self,
        challenge: Challenge,
        scopes: tuple[str, ...],
        cred: Credential,
        registry_url: str = "",
    ) -> _Token:
        """Ask the realm for a token: OAuth2 POST with an identity token, else GET (with Basic
        when we have a password; POST `grant_type=password` if the realm refuses GET)."""
        realm = self._realm_url(challenge.realm or "")
        self._check_realm(realm, registry_url)
        service = challenge.service or ""
        origin = urlsplit(realm).netloc
        if cred.identity_token:
            response = self._post_token(realm, service, scopes, cred)
            if response.status_code in (404, 405):
                response.close()
                raise AuthenticationError(
                    f"token server {origin} does not accept the OAuth2 POST an identity token "
                    f"needs (HTTP {response.status_code})",
                    status=response.status_code,
                    hint="log in with a username and password instead",
                )
        else:
            response = self._get_token(realm, service, scopes, cred)
            if response.status_code in (404, 405) and cred.basic:
                response.close()
                log.debug("token server %s refused GET; trying the OAuth2 POST", origin)
                response = self._post_token(realm, service, scopes, cred)
        try:
            token = self._parse_token_response(response, origin, scopes, cred)
        finally:
            response.close()
        self._remember(self._cache_key(challenge, cred), token)
        return token

    def _get_token(
        self, realm: str, service: str, scopes: tuple[str, ...], cred: Credential
    ) -> requests.Response:
        params: list[tuple[str, str]] = []
        if service:
            params.append(("service", service))
        params.extend(("scope", s) for s in scopes)
        return self._token_request(
            "GET",
            realm,
            params=params,
            auth=(cred.username, cred.password) if cred.basic else None,
            headers={"Accept": "application/json"},
            verify=self._tls_verify,
            timeout=self.timeout,
            allow_redirects=False,
            stream=True,
        )

    def _post_token(
        self, realm: str, service: str, scopes: tuple[str, ...], cred: Credential
    ) -> requests.Response:
        form: dict[str, str] = {"service": service, "client_id": CLIENT_ID}
        if cred.identity_token:
            form.update(grant_type="refresh_token", refresh_token=cred.identity_token)
        else:
            form.update(grant_type="password", username=cred.username, password=cred.password)
        if scopes:
            form["scope"] = " ".join(scopes)
        return self._token_request(
            "POST",
            realm,
            data=form,
            headers={"Accept": "application/json"},
            verify=self._tls_verify,
            timeout=self.timeout,
            allow_redirects=False,
            stream=True,
        )

    def _token_request(self, method: str, realm: str, **kwargs: Any) -> requests.Response:
        """GET or POST to the realm; a timeout becomes RegistryTimeoutError naming the realm."""
        send = self.session.post if method == "POST" else self.session.get
        try:
            return send(realm, **kwargs)
        except requests.exceptions.RequestException as e:
            if not is_timeout(e):
                raise
            connect, read = self.timeout
            what = (
                f"no connection within {connect:g} s"
                if isinstance(e, requests.exceptions.ConnectTimeout)
                else f"no answer for {read:g} s"
            )
            error = RegistryTimeoutError(
                f"token request to {urlsplit(realm).netloc} timed out: {what}", hint=TIMEOUT_HINT
            )
            error.request = e.request
            raise error from e

    @staticmethod
    def _parse_token_response(
        response: requests.Response, origin: str, scopes: tuple[str, ...], cred: Credential
    ) -> _Token:
        if response.status_code in (400, 401, 403):
            if cred.identity_token:
                who = "the identity token"
                hint = "the identity token is invalid or expired: log in again"
            elif cred.basic:
                who = f"user {cred.username!r}"
                hint = "check the username and password (oras-py login)"
            else:
                who = "anonymous access"
                hint = "log in first: oras-py login <registry>"
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
        what = f"token response from {origin}"
        value, expires_in = parse_token_body(read_limited(response, MAX_TOKEN_RESPONSE, what), what)
        skew = min(EXPIRY_SKEW, expires_in / 4)
        return _Token(value, time.monotonic() + expires_in - skew, scopes)


def parse_token_body(body: bytes, what: str) -> tuple[str, int]:
    """(token, lifetime in seconds) of a token server's JSON answer (`what` names it in errors).

    The token is `access_token` (OAuth2) or `token`; ProtocolError when neither is a string.
    The lifetime is `expires_in` when it is a positive number, else DEFAULT_EXPIRES_IN, and at
    most MAX_EXPIRES_IN (a lifetime of 1e999 or 10**400 seconds has no float)."""
    data = parse_json_object(body, what)
    value = data.get("access_token") or data.get("token")
    if not value or not isinstance(value, str):
        raise ProtocolError(f"{what} holds no token")
    if not all(" " <= c <= "~" for c in value):
        # It goes into an `Authorization` header, which cannot carry line breaks or non-ASCII.
        raise ProtocolError(f"{what} holds a token with characters no HTTP header can carry")
    try:
        expires_in = int(data.get("expires_in") or DEFAULT_EXPIRES_IN)
    except (TypeError, ValueError, OverflowError):
        expires_in = DEFAULT_EXPIRES_IN
    if expires_in <= 0:
        expires_in = DEFAULT_EXPIRES_IN
    return value, min(expires_in, MAX_EXPIRES_IN)
