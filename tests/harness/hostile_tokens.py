"""Hostile token endpoints: pieces for the token and credential tests on top of `hostile.py`.

- `token_body(reg, edit)`: the registry's `/token` endpoint keeps issuing real tokens, but each
  response body goes through `edit` first (an `expires_in` of 0 or -5, extra fields...);
- `TlsHostileRegistry`: a `HostileRegistry` that speaks HTTPS with the test CA of
  `tests/harness/certs.py` (its realm is then `https://.../token` unless a test moves it);
- `always_401(reg)`: the registry's answer, but a 401 `invalid_token` challenge whatever the
  token, as a registry that refuses every fresh token does;
- `token_requests(reg)`: the requests that reached the registry's `/token` endpoint.
"""

from __future__ import annotations

import ssl
from typing import Any, Callable

from oras.testing.auth import TokenAuth
from tests.harness.certs import CertPaths
from tests.harness.hostile import HostileRegistry, SeenRequest, send

__all__ = ["TlsHostileRegistry", "always_401", "token_body", "token_requests"]


def token_body(reg: HostileRegistry, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Pass every token response body the registry issues through `edit`."""
    auth = reg.auth
    assert isinstance(auth, TokenAuth), "token_body needs HostileRegistry(token=True)"
    issue = auth.issue

    def edited(*args: Any, **kwargs: Any) -> dict:
        return edit(issue(*args, **kwargs))

    auth.issue = edited  # type: ignore[method-assign]


def token_requests(reg: HostileRegistry) -> list[SeenRequest]:
    return reg.seen("*", r"^/token")


def always_401(reg: HostileRegistry, path: str = r"^/v2/.+") -> None:
    """Answer every request under `path` with 401 and a fresh `invalid_token` challenge."""
    auth = reg.auth
    assert isinstance(auth, TokenAuth), "always_401 needs HostileRegistry(token=True)"

    def refuse(handler: Any, match: Any) -> None:
        challenge = f'Bearer realm="{auth.realm}",service="{auth.service}",error="invalid_token"'
        body = b'{"errors":[{"code":"UNAUTHORIZED","message":"invalid token"}]}'
        send(
            handler, 401, body, {"WWW-Authenticate": challenge, "Content-Type": "application/json"}
        )

    reg.on("*", path, refuse)


class TlsHostileRegistry(HostileRegistry):
    """A `HostileRegistry` on HTTPS, its certificate signed by the harness's test CA."""

    __test__ = False

    def __init__(self, certs: CertPaths, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.certs = certs
        self.ca_path = str(certs.ca_cert)

    @property
    def scheme(self) -> str:
        return "https"

    def start(self) -> TlsHostileRegistry:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.certs.server_cert), str(self.certs.server_key))
        super().start()
        server = self._server
        assert server is not None
        accept = server.get_request

        def get_request() -> Any:
            sock, address = accept()
            # The handshake happens on the handler thread's first read, not in the accept loop.
            return context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            ), address

        server.get_request = get_request  # type: ignore[method-assign]
        return self
