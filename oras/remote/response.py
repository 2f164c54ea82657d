"""Read registry responses: OCI error bodies, `Location` and `Link` headers, JSON bodies."""

from __future__ import annotations

import base64
from typing import Any, Optional
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
import urllib3.exceptions

from oras.errors import (
    AuthenticationError,
    NotFoundError,
    ProtocolError,
    RegistryError,
    too_slow_in,
)
from oras.remote.timeouts import set_deadline

#: Most pages of a paginated listing (tags, catalog, referrers) followed before giving up.
MAX_PAGES = 10000

#: Largest error body read (the OCI `errors` JSON of a failed request); a longer one is not
#: read at all: the error then names the status only.
MAX_ERROR_SIZE = 64 * 1024


def _read_error_body(response: requests.Response) -> None:
    """Read a streamed answer's body now, at most MAX_ERROR_SIZE bytes (an endless one is
    dropped), so that `response.json()` never reads without bound."""
    if getattr(response, "_content", None) is not False or response.raw is None:
        return  # already read (or not a live response)
    try:
        body = read_limited(response, MAX_ERROR_SIZE, "the error body")
    except (ProtocolError, requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        body = b""
    response._content = body
    response._content_consumed = True
    response.close()


def oci_errors(response: requests.Response) -> list[dict[str, Any]]:
    """The `errors` list of an OCI error body, or [] when the body is not one."""
    _read_error_body(response)
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


#: Seconds a small body (a manifest, a token answer, a referrers index: what `read_limited`
#: reads) may take from its first read to its end, however steadily it comes.
SMALL_BODY_DEADLINE = 120.0


def read_limited(response: requests.Response, limit: int, what: str, raw: bool = False) -> bytes:
    """The body, refused with ProtocolError when it is over `limit` bytes (declared or read):
    at most `limit + 1` bytes are read, whatever the registry declares or keeps sending; and
    refused with TooSlowError when it takes more than SMALL_BODY_DEADLINE seconds or drips.
    `raw` keeps any Content-Encoding: the bytes of a manifest are what its digest covers."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ProtocolError(f"{what} is larger than {limit} bytes")
    set_deadline(response, SMALL_BODY_DEADLINE)
    try:
        return _read_at_most(response, limit, what, raw)
    except (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError) as e:
        slow = too_slow_in(e)  # urllib3 reports it as a broken connection
        if slow is None:
            raise
        raise slow from None


def _read_at_most(response: requests.Response, limit: int, what: str, raw: bool) -> bytes:
    body = bytearray()
    if getattr(response, "_content", False) not in (False, None):  # already read whole
        content = bytes(response.content)
        if len(content) > limit:
            raise ProtocolError(f"{what} is larger than {limit} bytes")
        return content
    if isinstance(response.raw, urllib3.response.BaseHTTPResponse):
        while len(body) <= limit:  # never more than limit + 1 bytes asked for
            want = min(64 * 1024, limit + 1 - len(body))
            chunk = response.raw.read(want, decode_content=not raw)
            if not chunk:
                return bytes(body)
            body.extend(chunk)
        raise ProtocolError(f"{what} is larger than {limit} bytes")
    # any other body (a response built in memory): in chunks, stopped past the limit
    if raw:
        chunks = response.raw.stream(64 * 1024, decode_content=False)
    else:
        chunks = response.iter_content(64 * 1024)
    for chunk in chunks:
        body.extend(chunk)
        if len(body) > limit:
            raise ProtocolError(f"{what} is larger than {limit} bytes")
    return bytes(body)


def resolve_location(response: requests.Response) -> str:
    """The upload `Location`, used verbatim; a relative one is resolved against the request URL.
    ProtocolError for one that is not http or https, or that takes an https upload to plain
    http (where the upload, and any credential sent with it, would travel in the clear)."""
    location = response.headers.get("Location")
    if not location:
        raise ProtocolError(
            f"registry answered {response.request.method} {response.url} without a Location header"
        )
    try:
        resolved = urljoin(response.url, location)
        scheme = urlsplit(resolved).scheme.lower()
    except ValueError as e:
        raise ProtocolError(
            f"registry answered {response.request.method} {response.url} with a Location that "
            f"is not a URL: {location[:80]!r} ({e})"
        ) from None
    came_from = urlsplit(response.url or "").scheme.lower()
    if scheme not in ("http", "https") or (came_from == "https" and scheme == "http"):
        why = "plain http after https" if scheme == "http" else f"a {scheme or 'schemeless'} URL"
        raise ProtocolError(
            f"registry answered {response.request.method} {urlsplit(response.url).path} with "
            f"an upload Location that is {why}: refused",
            hint="the registry is misconfigured (is it behind a proxy that rewrites Location?)",
        )
    return resolved


def with_query(url: str, **params: str) -> str:
    """Append query parameters to a URL that may already carry some (Distribution's `_state`)."""
    from urllib.parse import urlencode

    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{urlencode(params)}"


def content_type(response: requests.Response) -> str:
    """The media type of `Content-Type`, without parameters ('' when there is none)."""
    return (response.headers.get("Content-Type") or "").split(";")[0].strip()


def json_object(
    response: requests.Response, what: str, limit: Optional[int] = None
) -> dict[str, Any]:
    """The body as a JSON object, read up to `limit` bytes (the manifest size limit by
    default); the response is closed after."""
    from oras import descriptor

    limit = descriptor.MAX_MANIFEST_SIZE if limit is None else limit
    try:
        return descriptor.parse_json_object(read_limited(response, limit, what), what)
    finally:
        response.close()


def next_link(response: requests.Response) -> Optional[str]:
    """The absolute URL of `Link: <...>; rel="next"`, or None. A next page on another origin
    (scheme, host or port) is a ProtocolError, as in oras-go: a registry does not get to send
    a listing, and the credentials that come with it, to another server."""
    header = response.headers.get("Link")
    if not header:
        return None
    link = parse_next_link(header, response.url)
    if link is not None and _origin(link) != _origin(response.url):
        raise ProtocolError(
            f"the registry's Link header names a next page on another server "
            f"({_origin(link)[1][:80]}): not followed"
        )
    return link


def _origin(url: str) -> tuple[str, str]:
    """(scheme, host:port) of `url`, lower-case, with the default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or {"http": 80, "https": 443}.get(scheme)
    return scheme, f"{(parts.hostname or '').lower()}:{port}"


def next_page(response: requests.Response, seen: set[str], what: str) -> Optional[str]:
    """The next page of a listing (`next_link`), or None after the last one; `seen` holds
    the URLs already fetched (this one is added). A Link back to one of them would loop for
    ever: a ProtocolError."""
    seen.add(response.url)
    link = next_link(response)
    if link is not None and link in seen:
        raise ProtocolError(
            f"the pages of {what} loop: the Link header points back to {link[:120]}"
        )
    return link


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
