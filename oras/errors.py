"""The exceptions the library raises: one hierarchy, each subclassing what oras-py raised before."""

from __future__ import annotations

from typing import Any, Optional


class OrasError(Exception):
    """Base of every error raised by this library on purpose."""

    hint: Optional[str] = None

    def __init__(self, message: str = "", hint: Optional[str] = None):
        # No message gives no args, like a bare Exception() (oras-py raised these without one).
        super().__init__(*((message,) if message else ()))
        if hint:
            self.hint = hint


class InvalidReferenceError(OrasError, ValueError):
    """A reference (registry/repository:tag@digest) that cannot be parsed."""


class InvalidDigestError(OrasError, ValueError):
    """A digest string that is not `<algorithm>:<encoded>` or not supported."""


class DigestMismatchError(OrasError, ValueError):
    """Content whose size or digest differs from its descriptor."""


class PathTraversalError(OrasError, ValueError):
    """A file name or archive member that would land outside the output directory."""


class AuthenticationException(OrasError):
    """Credentials were refused or missing. Never retried (oras-py's name, kept)."""


class CredentialHelperError(OrasError):
    """A docker-credential-* helper is missing or failed."""


class RegistryError(OrasError, ValueError):
    """The registry answered with an HTTP error, carrying its status and OCI error codes."""

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        errors: Optional[list[dict[str, Any]]] = None,
        url: Optional[str] = None,
        hint: Optional[str] = None,
        response: Any = None,
    ):
        super().__init__(message, hint)
        self.status = status
        self.errors = errors or []
        self.url = url
        self.response = response

    @property
    def codes(self) -> list[str]:
        return [str(e.get("code")) for e in self.errors if isinstance(e, dict) and e.get("code")]


class AuthenticationError(RegistryError, AuthenticationException):
    """The registry refused our credentials (401/403 after authenticating)."""


class NotFoundError(RegistryError):
    """The registry has no such repository, manifest, tag or blob (404)."""


class ProtocolError(OrasError, ValueError):
    """The registry broke the protocol: a missing header, a malformed body, an oversized response."""
