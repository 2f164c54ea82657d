"""An auth backend that always sends Basic credentials (from ORAS_USER/ORAS_PASS or set_basic_auth)."""

from __future__ import annotations

import os
from typing import Any, Optional

import requests

from oras.auth.base import AuthBackend
from oras.remote.challenge import repository_of


class BasicAuth(AuthBackend):
    """Sends `Authorization: Basic` on every request to the registries it works for."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        username, password = os.environ.get("ORAS_USER"), os.environ.get("ORAS_PASS")
        if username and password:
            self.set_basic_auth(username, password)

    @property
    def username(self) -> Optional[str]:
        return self._explicit.username if self._explicit else None

    @property
    def password(self) -> Optional[str]:
        return self._explicit.password if self._explicit else None

    def set_token_auth(self, token: str) -> None:
        raise ValueError("the basic auth backend does not use tokens; use auth_backend='token'")

    def get_auth_header(self) -> dict[str, str]:
        basic = self._basic_auth
        return {"Authorization": f"Basic {basic}"} if basic else {}

    def auth_headers(self, method: str, url: str) -> dict[str, str]:
        host = self.host_of(url)
        if not self.is_registry_host(host):
            return {}
        cred = self.credential_for(host, repository_of(url))
        return {"Authorization": f"Basic {cred.basic}"} if cred.basic else {}

    def authenticate_request(
        self, original: requests.Response, headers: Optional[dict] = None, refresh: bool = False
    ) -> tuple[dict, bool]:
        headers = dict(headers or {})
        url = original.url or ""
        host = self.host_of(url)
        if not self._origins:
            self.add_registry_host(host)  # a bare client used with do_request alone
        elif not self.is_registry_host(host):
            return headers, False  # a foreign Location or redirect target gets nothing
        cred = self.credential_for(host, repository_of(url))
        if not cred.basic:
            return headers, False
        new = f"Basic {cred.basic}"
        changed = headers.get("Authorization") != new
        headers["Authorization"] = new
        return headers, changed
