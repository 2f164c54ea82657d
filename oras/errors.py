"""The exceptions the library raises: one hierarchy, each subclassing what oras-py raised before."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Optional

import requests
import requests.exceptions


class OrasError(Exception):
    """Base of every error raised by this library on purpose."""

    hint: Optional[str] = None

    def __init__(self, message: str = "", hint: Optional[str] = None):
        # No message gives no args, like a bare Exception() (oras-py raised these without one).
        super().__init__(*((message,) if message else ()))
        if hint:
            self.hint = hint


class InvalidReferenceError(OrasError, ValueError):
    """A reference (registry/repository:tag@digest) that cannot be parsed; `reason` says why."""

    def __init__(self, message: str, hint: Optional[str] = None, reason: Optional[str] = None):
        super().__init__(message, hint)
        self.reason = reason


class ArgumentError(OrasError, ValueError):
    """A call's arguments are out of range: no files to push, a concurrency below 1."""


class InvalidDigestError(OrasError, ValueError):
    """A digest string that is not `<algorithm>:<encoded>` or not supported."""


class DigestMismatchError(OrasError, ValueError):
    """Content whose size or digest differs from its descriptor."""


class InvalidPathError(OrasError, ValueError):
    """A path no file can have: one holding a NUL byte (Python's own error says only
    `embedded null byte`)."""


class PathTraversalError(OrasError, ValueError):
    """A file name or archive member that would land outside the output directory."""


class AuthenticationException(OrasError):
    """Credentials were refused or missing. Never retried (oras-py's name, kept)."""


class CredentialHelperError(OrasError):
    """A docker-credential-* helper is missing or failed."""


class TransferInterrupted(KeyboardInterrupt):
    """Raised in a worker thread when the push or pull it works for was interrupted (Ctrl-C, or
    a signal the program turns into KeyboardInterrupt): the worker stops at its next chunk and
    removes what it was writing. A KeyboardInterrupt, so no `except Exception` swallows it."""


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


class RegistryTimeoutError(OrasError, requests.exceptions.Timeout):
    """The registry did not accept a connection, or sent or took nothing, within the client's
    timeouts (retries included). A `requests` Timeout, as oras-py raised."""


class TooSlowError(RegistryTimeoutError):
    """The registry sends an answer, but too slowly to finish: under
    `oras.remote.timeouts.MIN_RATE` bytes a second over the read timeout, or a small body (a
    manifest, a token) not done within `oras.remote.response.SMALL_BODY_DEADLINE`. A
    RegistryTimeoutError: each byte of a drip resets the plain read timeout."""

    def __init__(self, message: str, hint: Optional[str] = None, request: Any = None):
        super().__init__(message, hint)
        self.request = request


def in_chain(
    error: BaseException, found: Callable[[BaseException], bool]
) -> Optional[BaseException]:
    """The first exception for which `found` holds among `error` and every exception it wraps
    (requests wraps urllib3 wraps socket, through `reason`, causes, contexts and arguments)."""
    seen: set[int] = set()
    stack: list[Any] = [error]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if found(current):
            return current
        stack.extend((getattr(current, "reason", None), current.__cause__, current.__context__))
        stack.extend(current.args)
    return None


def too_slow_in(error: BaseException) -> Optional[TooSlowError]:
    """The TooSlowError that urllib3 or requests wrapped in `error` (as a broken connection),
    if any."""
    found = in_chain(error, lambda e: isinstance(e, TooSlowError))
    return found if isinstance(found, TooSlowError) else None


class ProtocolError(OrasError, ValueError):
    """The registry broke the protocol: a missing header, a malformed body, an oversized response."""


class RedirectError(ProtocolError, requests.exceptions.RequestException):
    """A redirect the client will not follow: to a scheme other than http or https, or more of
    them than `oras.remote.transport.MAX_REDIRECTS` (a loop). Also a requests RequestException,
    which requests raised for both."""

    def __init__(self, message: str, hint: Optional[str] = None, request: Any = None):
        super().__init__(message, hint)
        self.request = request


class TooManyRedirectsError(RedirectError, requests.exceptions.TooManyRedirects):
    """More redirects than `oras.remote.transport.MAX_REDIRECTS`: a loop, most likely. A requests
    TooManyRedirects, which requests raised after 30."""


class InvalidManifestError(ProtocolError):
    """A manifest or index whose fields do not have the types the OCI spec gives them."""


class RegistryConnectionError(OrasError, requests.exceptions.ConnectionError):
    """The registry (or its token service) could not be reached: nothing listening, a name
    that does not resolve, a connection reset. A requests ConnectionError, as oras-py raised."""

    def __init__(self, message: str, hint: Optional[str] = None, request: Any = None):
        super().__init__(message, hint)
        self.request = request


class TLSError(RegistryConnectionError, requests.exceptions.SSLError):
    """TLS with the registry failed: an untrusted or mismatched certificate, or a server that
    does not speak TLS. A requests SSLError, as oras-py raised."""


def _root_cause(error: BaseException) -> str:
    """The innermost reason of a requests error (urllib3 and socket errors hide inside)."""
    seen = error
    while seen.__context__ is not None and seen.__context__ is not seen:
        seen = seen.__context__
    reason = getattr(seen, "reason", None)  # urllib3 keeps the real failure there
    text = str(reason if isinstance(reason, BaseException) else seen)
    return text.splitlines()[0][:300] if text else type(error).__name__


def _host_of(error: requests.exceptions.RequestException) -> str:
    from urllib.parse import urlsplit

    request = getattr(error, "request", None)
    url = getattr(request, "url", None)
    return urlsplit(url).netloc if url else "the registry"


def _too_many_redirects(error: requests.exceptions.TooManyRedirects) -> TooManyRedirectsError:
    from urllib.parse import urlsplit

    from oras.remote import transport

    response = getattr(error, "response", None)
    history = list(getattr(response, "history", None) or []) + [response]
    first = getattr(history[0], "request", None) if history[0] is not None else None
    request = first if first is not None else getattr(error, "request", None)
    method = getattr(request, "method", None) or "GET"
    parts = urlsplit(getattr(request, "url", None) or "")
    hosts = sorted({urlsplit(r.url or "").netloc for r in history if r is not None and r.url})
    return TooManyRedirectsError(
        f"{method} {parts.path or '/'} was redirected more than {transport.MAX_REDIRECTS} times "
        f"(a redirect loop between {', '.join(hosts) or parts.netloc})",
        hint="the registry or its storage is misconfigured; ask its operator",
        request=request,
    )


@contextlib.contextmanager
def typed_transport_errors() -> Iterator[None]:
    """Re-raise requests' connection and TLS failures as RegistryConnectionError and TLSError
    (subclasses of the same requests exceptions). Timeouts pass through unchanged."""
    try:
        yield
    except OrasError:
        raise
    except requests.exceptions.TooManyRedirects as e:
        raise _too_many_redirects(e) from e
    except requests.exceptions.ChunkedEncodingError as e:  # urllib3 wraps a TooSlowError so
        slow = too_slow_in(e)
        if slow is None:
            raise
        raise slow from None
    except requests.exceptions.SSLError as e:
        raise TLSError(
            f"TLS failure talking to {_host_of(e)}: {_root_cause(e)}",
            hint="pass tls_verify=<CA bundle> to trust the registry's CA, tls_verify=False to "
            "skip verification, or insecure=True for a plain-HTTP registry",
            request=e.request,
        ) from e
    except requests.exceptions.ConnectionError as e:
        if isinstance(e, requests.exceptions.Timeout):
            raise
        slow = too_slow_in(e)  # headers that dripped: urllib3 says "connection aborted"
        if slow is not None:
            raise slow from None
        raise RegistryConnectionError(
            f"cannot connect to {_host_of(e)}: {_root_cause(e)}",
            hint="is the registry running at that address?",
            request=e.request,
        ) from e


class DuplicateTitleError(OrasError, ValueError):
    """Two layers of one artifact with the same title: they would be written to one file."""


class InvalidFileNameError(OrasError, ValueError):
    """A layer title that cannot name a file: empty, `.`, `..`, or with control characters."""


class OutputConflictError(OrasError, FileExistsError):
    """A pull that would put a directory where a file is, or a file where a directory is."""


class InvalidAnnotationsError(OrasError, ValueError):
    """An annotation file (or mapping) that is not JSON objects of string annotations."""


class CredentialsFileError(OrasError, ValueError):
    """A docker or podman credentials file that cannot be read or is not a JSON object."""


class ArchiveError(OrasError, ValueError):
    """A layer to unpack that is not a readable tar+gzip archive."""


class InvalidLayoutError(OrasError, ValueError):
    """A directory or tar that is not a well-formed OCI image layout."""
