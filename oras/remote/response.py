"""Read registry responses: OCI error bodies, `Location` and `Link` headers."""

from __future__ import annotations

import re
from typing import Any, Optional
from urllib.parse import urljoin

import requests

from oras.errors import AuthenticationError, NotFoundError, ProtocolError, RegistryError

_LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*rel="?next"?', re.IGNORECASE)


def oci_errors(response: requests.Response) -> list[dict[str, Any]]:
    """The `errors` list of an OCI error body, or [] when the body is not one."""
    try:
        data = response.json()
    except ValueError:
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


_HINTS = {
    401: "check your credentials: oras-py login <registry>",
    403: "your credentials lack permission for this operation",
}


def registry_error(response: requests.Response, action: str = "") -> RegistryError:
    """The typed error for a failed response, naming the registry's OCI codes and messages."""
    errors = oci_errors(response)
    details = (
        "; ".join(f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in errors)
        or (response.reason or "").strip()
    )
    what = f"{action} failed" if action else f"{response.request.method} {response.url} failed"
    message = f"{what}: HTTP {response.status_code}"
    if details:
        message += f" ({details})"
    status = response.status_code
    cls: type[RegistryError] = RegistryError
    if status == 401:
        cls = AuthenticationError
    elif status == 404:
        cls = NotFoundError
    return cls(
        message,
        status=status,
        errors=errors,
        url=response.url,
        hint=_HINTS.get(status),
        response=response,
    )


def is_registry_ping(response: requests.Response) -> bool:
    """Whether a 200 answer to `GET /v2/` came from a registry: registries send the
    `Docker-Distribution-API-Version: registry/2.0` header or a JSON body (`{}`); a web or file
    server that happens to answer the path sends a page with neither."""
    version = (response.headers.get("Docker-Distribution-API-Version") or "").strip().lower()
    if version.startswith("registry/2"):
        return True
    content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


def read_limited(response: requests.Response, limit: int, what: str, raw: bool = False) -> bytes:
    """The body, refused with ProtocolError when it is over `limit` bytes (declared or read).
    `raw` keeps any Content-Encoding: the bytes of a manifest are what its digest covers."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ProtocolError(f"{what} is larger than {limit} bytes")
    if raw:
        chunks = response.raw.stream(64 * 1024, decode_content=False)
    else:
        chunks = response.iter_content(64 * 1024)
    body = bytearray()
    for chunk in chunks:
        body.extend(chunk)
        if len(body) > limit:
            raise ProtocolError(f"{what} is larger than {limit} bytes")
    return bytes(body)


def resolve_location(response: requests.Response) -> str:
    """The upload `Location`, used verbatim; a relative one is resolved against the request URL."""
    location = response.headers.get("Location")
    if not location:
        raise ProtocolError(
            f"registry answered {response.request.method} {response.url} without a Location header"
        )
    return urljoin(response.url, location)


def with_query(url: str, **params: str) -> str:
    """Append query parameters to a URL that may already carry some (Distribution's `_state`)."""
    from urllib.parse import urlencode

    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{urlencode(params)}"


def next_link(response: requests.Response) -> Optional[str]:
    """The absolute URL of `Link: <...>; rel="next"`, or None."""
    header = response.headers.get("Link")
    if not header:
        return None
    m = _LINK_NEXT.search(header)
    return urljoin(response.url, m.group(1)) if m else None
