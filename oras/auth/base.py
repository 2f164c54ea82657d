"""The auth backend contract: credentials per registry host and the answer to a 401.

A backend works for a set of registry origins: the hosts passed to `load_configs` (every
client operation calls it), `want_scope` and `add_registry_host`. Credentials given
explicitly (`set_basic_auth`, `set_token_auth`, `set_identity_token`) are presented only to
those origins; a foreign host (an upload `Location` or a redirect elsewhere) gets nothing
but what is stored for that very host.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Optional, Protocol
from urllib.parse import urlsplit

import requests

from oras.auth.utils import load_configs as _load_config_files
from oras.credentials import Credential, CredentialStore
from oras.credentials.store import normalize_server
from oras.errors import AuthenticationException, CredentialHelperError, OrasError
from oras.log import logger as logger  # oras-py's module-level name
from oras.reference import iter_localhosts, parse_reference, registry_api_host

log = logging.getLogger(__name__)


class NamesRegistry(Protocol):
    """A parsed reference as the backend reads it: oras-py's `Container` or a `Reference`."""

    @property
    def registry(self) -> str: ...


def _origin_key(host: str) -> str:
    return host.strip().lower()


class AuthBackend:
    """Holds credentials per registry host; subclasses answer challenges.

    Credentials come from, in order: `set_basic_auth`/`set_identity_token`/`set_token_auth`
    (explicit, registry origins only), then the credential store (docker config helpers,
    `auths`, podman files) for the request's host and repository.
    """

    def __init__(
        self,
        session: Optional[requests.Session] = None,
        insecure: bool = False,
        tls_verify: Any = True,
        config_paths: Optional[list[str]] = None,
        **kwargs: Any,
    ):
        self.session = session if session is not None else requests.Session()
        self.prefix = "http" if insecure else "https"
        self._tls_verify = tls_verify
        self._auth_config: dict[str, Any] = {"auths": {}, "credsStore": None, "credHelpers": {}}
        self._lock = threading.RLock()
        self._explicit: Optional[Credential] = None
        # (host, repository or "") -> the stored credential, or the error looking it up gave.
        self._credentials: dict[tuple[str, str], Any] = {}
        self._store = CredentialStore(config_paths)
        self._configs_loaded = False
        self._origins: set[str] = set()

    # -- oras-py surface -------------------------------------------------------------------
    def get_auth_header(self) -> dict[str, str]:
        raise NotImplementedError

    def get_container(self, name: Any) -> NamesRegistry:
        """`name` parsed: what already names a registry (oras-py's `Container`, a `Reference`)
        is returned as it is, a string is parsed into a `Reference`."""
        if hasattr(name, "registry"):
            return name
        return parse_reference(name)

    def set_basic_auth(self, username: str, password: str) -> None:
        """Use these credentials from now on (for every registry this backend works for)."""
        self._explicit = Credential(username=username, password=password)

    def set_token_auth(self, token: str) -> None:
        raise NotImplementedError

    def reset_basic_auth(self) -> None:
        self._explicit = None

    def set_identity_token(self, token: str, username: str = "") -> None:
        """Use an identity (refresh) token from now on, exchanged for access tokens."""
        self._explicit = Credential(username=username, identity_token=token)

    def use_config_files(self, paths: list[str]) -> None:
        """Read (and write) credentials in these files instead of the default docker config."""
        with self._lock:
            self._store = CredentialStore(paths)
            self._credentials.clear()

    @property
    def credential_store(self) -> CredentialStore:
        """Where this backend reads credentials (and `login` writes them)."""
        return self._store

    @property
    def _basic_auth(self) -> Optional[str]:
        return self._explicit.basic if self._explicit else None

    @_basic_auth.setter
    def _basic_auth(self, value: Optional[str]) -> None:
        self._explicit = Credential.from_basic(value) if value else None

    def load_configs(self, container: Any, configs: Optional[list[str]] = None) -> None:
        """Work for the container's registry and resolve its stored credentials.

        A credential helper that is missing or fails does not fail here: the error is kept
        and raised when the registry actually asks for credentials.
        """
        container = self.get_container(container)
        with self._lock:
            self.add_registry_host(container.registry)
            if configs:
                self._store = CredentialStore([*configs, str(self._store.primary)])
                self._credentials.clear()
            if not self._configs_loaded or configs:
                try:
                    self._auth_config = _load_config_files(list(configs or []))
                except OrasError as e:  # a broken file must not break anonymous access
                    log.warning("%s", e)
                self._configs_loaded = True
            for host in iter_localhosts(container.registry):
                self._load_auth(host)

    def _load_auth(self, hostname: str, repository: Optional[str] = None) -> bool:
        """Look `hostname` up in the credential store; True when a credential was found."""
        key = (normalize_server(hostname), repository or "")
        with self._lock:
            if key not in self._credentials:
                try:
                    found: Any = self._store.get(hostname, repository)
                except (CredentialHelperError, OrasError) as e:
                    found = e
                self._credentials[key] = found
                if isinstance(found, Credential) and found.basic and not repository:
                    self._auth_config["auths"].setdefault(hostname, {"auth": found.basic})
            found = self._credentials[key]
        return isinstance(found, Credential) and bool(found)

    def _get_auth_from_creds_store(self, suffix: str, hostname: str) -> Optional[str]:
        from oras.credentials import helpers as cred_helpers  # only a credential helper needs it

        try:
            cred = cred_helpers.helper_get(suffix, hostname)
        except CredentialHelperError as e:
            log.warning("%s", e)
            return None
        return cred.basic if cred else None

    def add_registry_host(self, host: str) -> None:
        """Present explicit credentials to `host` (and its localhost/127.0.0.1 twin, and the
        API host of Docker Hub)."""
        with self._lock:
            for name in iter_localhosts(host):
                self._origins.add(_origin_key(name))
                self._origins.add(_origin_key(registry_api_host(name)))

    def is_registry_host(self, host: str) -> bool:
        """True when `host` is one of the registries this backend works for."""
        return _origin_key(host) in self._origins

    def credential_for(self, host: str, repository: Optional[str] = None) -> Credential:
        """The credential to present to `host`: explicit first (registry origins only), then
        the stored one. Raises the credential helper's error if looking it up failed."""
        if self._explicit and self.is_registry_host(host):
            return self._explicit
        with self._lock:
            self._load_auth(host, repository)
            found = self._credentials[(normalize_server(host), repository or "")]
            if repository and not (isinstance(found, Credential) and found):
                self._load_auth(host)
                found = self._credentials[(normalize_server(host), "")]
        if isinstance(found, Exception):
            raise found
        return found or Credential()

    def logout(self, hostname: str) -> None:
        """Forget the host's credentials and tokens in memory (the CLI also erases them on disk)."""
        with self._lock:
            self._logout()
            known = False
            wanted = {normalize_server(h) for h in iter_localhosts(hostname)}
            for key in [k for k in self._credentials if k[0] in wanted]:
                known = isinstance(self._credentials.pop(key), Credential) or known
            for host in iter_localhosts(hostname):
                known = self._auth_config["auths"].pop(host, None) is not None or known
            known = known or self._explicit is not None
            self._explicit = None
        if known:
            log.info("You have successfully logged out of %s", hostname)
        else:
            log.info("You are not logged in to %s", hostname)

    def _logout(self) -> None:
        pass

    def request_anonymous_token(self, h: Any, *args: Any, **kwargs: Any) -> Optional[str]:
        return None

    # -- core hooks used by the registry client ---------------------------------------------
    def want_scope(self, host: str, repository: str, actions: list[str]) -> None:
        """Ask for these actions up front on later requests to the repository (e.g. pull,push)."""
        self.add_registry_host(host)

    def want_mount(self, host: str, repository: str, source: str) -> None:
        """A cross-repository mount into `repository` from `source` is coming: ask for
        `pull,push` on the target and `pull` on the source in one token."""
        self.add_registry_host(host)

    def auth_headers(self, method: str, url: str) -> dict[str, str]:
        """Headers to attach to a request before it is sent (none by default)."""
        return {}

    def authenticate_request(
        self, original: requests.Response, headers: Optional[dict] = None, refresh: bool = False
    ) -> tuple[dict, bool]:
        raise NotImplementedError

    @staticmethod
    def host_of(url: str) -> str:
        return urlsplit(url).netloc


__all__ = ["AuthBackend", "AuthenticationException"]
