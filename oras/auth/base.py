"""The auth backend contract: credentials per registry host and the answer to a 401."""

from __future__ import annotations

import logging
import threading
from typing import Any, Optional
from urllib.parse import urlsplit

import requests

from oras.auth.utils import load_configs as _load_config_files
from oras.container import Container
from oras.credentials import Credential, CredentialStore
from oras.credentials import helpers as cred_helpers
from oras.credentials.store import normalize_server
from oras.errors import AuthenticationException, CredentialHelperError
from oras.utils import iter_localhosts

log = logging.getLogger(__name__)


class AuthBackend:
    """Holds credentials per registry host; subclasses answer challenges.

    Credentials come from, in order: `set_basic_auth`/`login` (explicit), then the credential
    store (docker config helpers, `auths`, podman files) for the request's host.
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
        self._credentials: dict[str, Credential] = {}
        self._store = CredentialStore(config_paths)
        self._configs_loaded = False

    # -- oras-py surface -------------------------------------------------------------------
    def get_auth_header(self) -> dict[str, str]:
        raise NotImplementedError

    def get_container(self, name: Any) -> Container:
        if isinstance(name, Container):
            return name
        return Container(name)

    def set_basic_auth(self, username: str, password: str) -> None:
        """Use these credentials from now on (for every registry this backend talks to)."""
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
    def _basic_auth(self) -> Optional[str]:
        return self._explicit.basic if self._explicit else None

    @_basic_auth.setter
    def _basic_auth(self, value: Optional[str]) -> None:
        self._explicit = Credential.from_basic(value) if value else None

    def load_configs(self, container: Any, configs: Optional[list[str]] = None) -> None:
        """Resolve stored credentials for the container's registry (and its localhost twin)."""
        container = self.get_container(container)
        with self._lock:
            if configs:
                self._store = CredentialStore([*configs, str(self._store.primary)])
            if not self._configs_loaded or configs:
                try:
                    self._auth_config = _load_config_files(list(configs or []))
                except Exception as e:  # a broken file must not break anonymous access
                    log.warning("%s", e)
                self._configs_loaded = True
            for host in iter_localhosts(container.registry):
                self._load_auth(host)

    def _load_auth(self, hostname: str) -> bool:
        """Look `hostname` up in the credential store; True when a credential was found."""
        key = normalize_server(hostname)
        if key in self._credentials:
            return bool(self._credentials[key])
        try:
            cred = self._store.get(hostname)
        except CredentialHelperError as e:
            log.warning("%s", e)
            cred = Credential()
        self._credentials[key] = cred
        if cred.basic:
            self._auth_config["auths"].setdefault(hostname, {"auth": cred.basic})
        return bool(cred)

    def _get_auth_from_creds_store(self, suffix: str, hostname: str) -> Optional[str]:
        try:
            cred = cred_helpers.helper_get(suffix, hostname)
        except CredentialHelperError as e:
            log.warning("%s", e)
            return None
        return cred.basic if cred else None

    def credential_for(self, host: str) -> Credential:
        """The credential to present to `host`: explicit first, then the stored one."""
        if self._explicit:
            return self._explicit
        key = normalize_server(host)
        with self._lock:
            if key not in self._credentials:
                self._load_auth(host)
            return self._credentials.get(key) or Credential()

    def logout(self, hostname: str) -> None:
        """Forget the host's credentials and tokens in memory (the CLI also erases them on disk)."""
        with self._lock:
            self._logout()
            known = False
            for host in iter_localhosts(hostname):
                known = bool(self._credentials.pop(normalize_server(host), None)) or known
                known = self._auth_config["auths"].pop(host, None) is not None or known
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
