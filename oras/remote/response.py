"""Read registry responses: OCI error bodies, `Location` and `Link` headers, JSON bodies."""

from __future__ import annotations

import base64
from typing import Any, Optional
from urllib.parse import urljoin

import requests

from oras.errors import AuthenticationError, NotFoundError, ProtocolError, RegistryError

#: Most pages of a paginated listing (tags, catalog, referrers) followed before giving up.
MAX_PAGES = 10000


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


def _without_credentials(text: str, authorization: Optional[str]) -> str:
    """`text` (a registry's error messages) with the credential that the request carried
    replaced by `***`: a hostile or careless registry quotes the request back, and the
    message ends up in logs and on the CLI's error line. Covers the header, its token or
    Basic base64 part, and the decoded `user:password` and password."""
    if not authorization or not text:
        return text
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    secrets = [authorization.strip(), value]
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except ValueError:
            decoded = ""
        secrets += [decoded, decoded.partition(":")[2]]
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def registry_error(response: requests.Response, action: str = "") -> RegistryError:
    """The typed error for a failed response, naming the registry's OCI codes and messages."""
    errors = oci_errors(response)
    details = (
        "; ".join(f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in errors)
        or (response.reason or "").strip()
    )
    details = _without_credentials(details, response.request.headers.get("Authorization"))
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
    try:
        return urljoin(response.url, location)
    except ValueError as e:
        raise ProtocolError(
            f"registry answered {response.request.method} {response.url} with a Location that "
            f"is not a URL: {location[:80]!r} ({e})"
        ) from None


def with_query(url: str, **params: str) -> str:
    """Append query parameters to a URL that may already carry some (Distribution's `_state`)."""
    from urllib.parse import urlencode

    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{urlencode(params)}"


def content_type(response: requests.Response) -> str:
    """The media type of `Content-Type`, without parameters ('' when there is none)."""
    return (response.headers.get("Content-Type") or "").split(";")[0].strip()


def json_object(response: requests.Response, what: str) -> dict[str, Any]:
    """The body as a JSON object, read up to the manifest size limit."""
    from oras.descriptor import MAX_MANIFEST_SIZE, parse_json_object

    return parse_json_object(read_limited(response, MAX_MANIFEST_SIZE, what), what)


def next_link(response: requests.Response) -> Optional[str]:
    """The absolute URL of `Link: <...>; rel="next"`, or None."""
    header = response.headers.get("Link")
    if not header:
        return None
    return parse_next_link(header, response.url)


def _rel_values(params: str) -> list[str]:
    """The relation types of one link's `; rel=...` parameters (lower-cased)."""
    found: list[str] = []
    for param in params.split(";"):
        name, eq, value = param.partition("=")
        if eq and name.strip().lower() == "rel":
            found.extend(value.strip().strip('"').lower().split())
    return found


def parse_next_link(header: str, base_url: str) -> Optional[str]:
    """The `rel="next"` target of a `Link` header value, made absolute against `base_url`, or
    None; ProtocolError when that target is not a URL.

    A scan that moves forward only (a link's parameters end at the first comma outside a
    quoted string): the regular expression it replaces backtracked for minutes on a 64 KiB
    header of `<`s.
    """
    pos, n = 0, len(header)
    while True:
        start = header.find("<", pos)
        if start == -1:
            return None
        end = header.find(">", start + 1)
        if end == -1:
            return None
        i, quoted = end + 1, False
        while i < n:
            c = header[i]
            if c == '"':
                quoted = not quoted
            elif c == "\\" and quoted:
                i += 1
            elif c == "," and not quoted:
                break
            i += 1
        if "next" in _rel_values(header[end + 1 : i]):
            target = header[start + 1 : end]
            try:
                return urljoin(base_url, target)
            except ValueError as e:
                raise ProtocolError(
                    f"the registry's Link header names {target[:80]!r} as the next page, "
                    f"which is not a URL ({e})"
                ) from None
        pos = i
