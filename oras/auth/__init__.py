"""Auth backends by name (`token`, `basic`, `ecr`) and oras-py's auth helpers."""

from __future__ import annotations

from typing import Any, Optional

import requests

from oras.auth.base import AuthBackend
from oras.auth.basic import BasicAuth
from oras.auth.ecr import EcrAuth
from oras.auth.token import TokenAuth
from oras.auth.utils import authHeader, get_basic_auth, load_configs, parse_auth_header
from oras.errors import AuthenticationException

#: Looked up at call time, so users can register their own backends.
auth_backends: dict[str, type[AuthBackend]] = {
    "token": TokenAuth,
    "basic": BasicAuth,
    "ecr": EcrAuth,
}


def get_auth_backend(
    name: str = "token",
    session: Optional[requests.Session] = None,
    insecure: bool = False,
    tls_verify: Any = True,
    **kwargs: Any,
) -> AuthBackend:
    """Make the named backend, sharing `session`."""
    backend = auth_backends.get(name)
    if backend is None:
        known = ", ".join(sorted(auth_backends))
        raise ValueError(f"unknown auth backend {name!r}; known backends: {known}")
    return backend(session=session, insecure=insecure, tls_verify=tls_verify, **kwargs)


__all__ = [
    "AuthBackend",
    "AuthenticationException",
    "BasicAuth",
    "EcrAuth",
    "TokenAuth",
    "authHeader",
    "auth_backends",
    "get_auth_backend",
    "get_basic_auth",
    "load_configs",
    "parse_auth_header",
]
