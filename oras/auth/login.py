"""Login: check credentials against a registry before they are stored."""

from __future__ import annotations

from typing import Any, Callable

import requests

from oras.credentials import Credential
from oras.errors import AuthenticationError, AuthenticationException, ProtocolError
from oras.remote.response import is_registry_ping, registry_error

#: `ping(headers)`: GET `/v2/` of the registry with these extra headers, no redirects.
Ping = Callable[[dict[str, str]], requests.Response]


def verify_credentials(ping: Ping, hostname: str, cred: Credential, backend: Any) -> None:
    """Ping `/v2/` and answer its challenge with `cred` through `backend` (an auth backend
    holding `cred`: Basic or the token flow), once. AuthenticationError when the registry or
    its token server refuses them; ProtocolError when what answers is not a registry."""
    response = ping({})
    if response.status_code == 401:
        try:
            headers, changed = backend.authenticate_request(response, {})
        except AuthenticationException as e:
            raise AuthenticationError(
                f"login to {hostname} failed: {e}",
                status=getattr(e, "status", None) or 401,
                hint=getattr(e, "hint", None) or "check the username and password",
            ) from None
        if not changed:
            raise AuthenticationError(
                f"login to {hostname} failed: the registry asks for an authentication "
                "scheme this client cannot answer with these credentials",
                status=401,
            )
        response.close()
        response = ping(headers)
    if response.status_code in (401, 403):
        what = "identity token" if cred.identity_token else "username or password"
        raise AuthenticationError(
            f"login to {hostname} failed: invalid {what}",
            status=response.status_code,
            hint=f"check the {what}",
        )
    if response.status_code != 200:
        raise registry_error(response, f"login to {hostname}")
    if not is_registry_ping(response):
        # A file or web server answering every path would otherwise "accept" any password.
        content_type = response.headers.get("Content-Type") or "no Content-Type"
        response.close()
        raise ProtocolError(
            f"login to {hostname} failed: it is not a registry (GET /v2/ answered HTTP 200 "
            f"with {content_type.split(';')[0][:80]} and no Docker-Distribution-API-Version)",
            hint="check the registry address and port",
        )
