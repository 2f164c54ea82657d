"""`Registry`'s login and credential methods: `login` checks credentials against a registry
and saves them (docker config or credential helper), `logout` erases them, and oras-py's
setters and attributes of the auth backend (`set_basic_auth`, `set_token_auth`, `token`,
`load_configs`, ...).

A mixin of `oras.provider.Registry` (so `OrasClient` has them): how a request is
authenticated is the auth backend's job (`oras.auth`, `Registry.auth`), where credentials are
kept the credential store's (`oras.credentials`); these methods wire the client to both."""

from __future__ import annotations

import logging
from typing import Any, Optional, Union

import requests

import oras.utils
from oras.credentials import Credential, CredentialStore
from oras.errors import OrasError, typed_transport_errors
from oras.legacy import refuse_unknown_kwargs
from oras.remote.retry import is_timeout
from oras.remote.timeouts import Timeouts, timeout_error
from oras.types import container_type

# The logger these methods have always logged to, before they left `oras.provider`.
log = logging.getLogger("oras.provider")


class RegistryAuth:
    """Logging in and out, and the auth backend as oras-py exposed it (mixed into `Registry`)."""

    # Provided by Registry.
    auth: Any
    session: Any
    hostname: Optional[str]
    prefix: str
    headers: dict[str, str]
    timeout: Timeouts
    remote: Any
    get_container: Any
    _delegate: Any
    _insecure: bool
    _tls_verify: Union[bool, str]
    _url: Any
    _registry_headers: Any

    def set_basic_auth(self, username: str, password: str) -> None:
        self.remote.auth.set_basic_auth(username, password)

    def set_token_auth(self, token: str) -> None:
        self.remote.auth.set_token_auth(token)

    def reset_basic_auth(self) -> None:
        self.remote.auth.reset_basic_auth()

    def load_configs(self, container: container_type, configs: Optional[list[str]] = None) -> None:
        self.remote.auth.load_configs(self.remote.get_container(container), configs)

    @property
    def token(self) -> Optional[str]:
        return getattr(self.auth, "token", None)

    @token.setter
    def token(self, value: Optional[str]) -> None:
        self.auth.set_token_auth(value)  # type: ignore[arg-type]

    @property
    def _basic_auth(self) -> Optional[str]:
        return self.auth._basic_auth

    @_basic_auth.setter
    def _basic_auth(self, value: Optional[str]) -> None:
        self.auth._basic_auth = value

    @property
    def _auths(self) -> dict[str, Any]:
        return self.auth._auth_config["auths"]

    def login(
        self,
        username: Optional[str] = None,
        password: Optional[str] = None,
        password_stdin: bool = False,
        tls_verify: Union[bool, str] = True,
        hostname: Optional[str] = None,
        config_path: Optional[Any] = None,
        insecure: Optional[bool] = None,
        identity_token: Optional[str] = None,
        **legacy: Any,
    ) -> dict[str, str]:
        """Check the credentials against the registry, then save them; raises when refused.

        Saved through the config's credential helper when one is configured for the host,
        else into the docker config (`config_path`, a path or list of paths whose first one
        is written, else the client's config files) with mode 0600. `identity_token` logs in
        with an OAuth2 refresh token instead of a password.
        """
        refuse_unknown_kwargs("login", legacy)
        if self._delegate is not None:
            return self._delegate.login(
                username,
                password,
                password_stdin,
                tls_verify,
                hostname,
                config_path,
                insecure,
                identity_token=identity_token,
            )
        if insecure is not None and insecure != self._insecure:
            self.prefix = "http" if insecure else "https"
            self.auth.prefix = self.prefix
            self._insecure = bool(insecure)
        if tls_verify is not True and self._tls_verify is True:
            self._tls_verify = tls_verify
            self.session.verify = tls_verify
            self.auth._tls_verify = tls_verify
        if password_stdin:
            password = oras.utils.readline()
        if identity_token is None:
            if not username:
                username = input("Username: ")
            if not password:
                password = input("Password: ")
                if not password:
                    raise ValueError("password required")
            if not username or not password:
                return {"Login": "Not successful"}
            cred = Credential(username=username, password=password)
        else:
            if not identity_token:
                raise ValueError("token required")
            cred = Credential(username=username or "", identity_token=identity_token)
        hostname = hostname or self.hostname
        if not hostname:
            log.warning("no registry hostname given: credentials are kept in memory only")
            self.auth._explicit = cred
            return {"Status": "Login Succeeded"}
        self._verify_credentials(hostname, cred)
        self.auth.add_registry_host(hostname)
        self.auth._explicit = cred
        where = self._credential_store(config_path).store(hostname, cred)
        log.debug("credentials for %s saved to %s", hostname, where)
        return {"Status": "Login Succeeded"}

    def _verify_credentials(self, hostname: str, cred: Credential) -> None:
        """Ping `/v2/` and answer its challenge with `cred` (Basic or the token flow), once;
        raise AuthenticationError when the registry or its token server refuses them."""
        from oras.auth.login import verify_credentials
        from oras.auth.token import TokenAuth

        url = self._url(f"{hostname}/v2/")
        backend = TokenAuth(
            session=self.session, insecure=self._insecure, tls_verify=self._tls_verify
        )
        backend.timeout = self.timeout
        backend.add_registry_host(hostname)
        backend._explicit = cred

        def ping(headers: dict[str, str]) -> requests.Response:
            try:
                with typed_transport_errors():
                    return self.session.get(
                        url,
                        headers={**self.headers, **self._registry_headers(url), **headers},
                        verify=self._tls_verify,
                        timeout=self.timeout,
                        allow_redirects=False,
                    )
            except requests.exceptions.RequestException as e:
                if is_timeout(e):
                    raise timeout_error(e, "GET", url, self.timeout) from e
                raise

        verify_credentials(ping, hostname, cred, backend)

    def _credential_store(self, config_path: Optional[Any] = None) -> CredentialStore:
        """The store `login` writes and `logout` erases: `config_path` (a path, or a list of
        paths whose first one is edited) when given, else the client's config files."""
        if isinstance(config_path, (list, tuple)):
            return CredentialStore([str(p) for p in config_path])
        if config_path:
            return CredentialStore([str(config_path)])
        return getattr(self.auth, "credential_store", None) or CredentialStore()

    def logout(self, hostname: str, config_path: Optional[Any] = None) -> None:
        """Forget the host's credentials in memory and erase the stored ones (from the config
        file, or through its credential helper). `config_path` names the file as `login`
        took it."""
        if self._delegate is not None:
            if config_path:
                return self._delegate.logout(hostname, config_path=config_path)
            return self._delegate.logout(hostname)
        store = self._credential_store(config_path)
        try:
            store.erase(hostname)
        except OrasError as e:
            log.warning("%s", e)
        self.auth.logout(hostname)
