"""The HTTP session of a registry client: headers meant for the registry alone are dropped on
a redirect to another host, redirects are bounded (`MAX_REDIRECTS`, http and https only, their
bodies not read), and connections to chosen `host:port`s go to another address
(Go `oras --resolve`) while the name stays in the URL, the `Host` header, TLS SNI and the
certificate check."""

from __future__ import annotations

import http.cookiejar
import ipaddress
import os
import re
import socket
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Optional
from urllib.parse import urlsplit

import requests
import requests.adapters
from requests.cookies import RequestsCookieJar
from requests.sessions import merge_hooks
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies, get_netrc_auth
from urllib3 import connectionpool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from oras.remote.retry import HostPause
from oras.remote.timeouts import pace, paced_http_response, read_timeout_of

#: (host, port) -> (address, port): where a connection to that host and port really goes.
ConnectMap = dict[tuple[str, int], tuple[str, int]]

#: An HTTP header name (RFC 9110 token characters).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_header(text: str) -> tuple[str, str]:
    """`'Name: value'` -> (name, value), as Go `oras -H` takes it (the value stripped).
    ValueError when there is no colon, the name is not an HTTP token or the value holds a
    line break."""
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not _TOKEN.fullmatch(name) or any(c in value for c in "\r\n\0"):
        raise ValueError(f"invalid header: {text!r} (expected 'Name: value')")
    return name, value


def parse_resolve(text: str) -> tuple[tuple[str, int], tuple[str, int]]:
    """`host:port:address[:address_port]` -> ((host, port), (address, address_port)), as Go
    `oras --resolve` takes it; the address is an IP address (IPv6 in brackets), the port of
    the address defaults to the host's. ValueError otherwise."""
    found = re.fullmatch(r"([^:\s\[\]]+):(\d+):(\[[0-9A-Fa-f:.]+\]|[^:\s]+)(?::(\d+))?", text)

    def refuse(why: str) -> ValueError:
        return ValueError(f"invalid --resolve {text!r}: {why}")

    if found is None:
        raise refuse("expected host:port:address[:address_port]")
    host, port, address, address_port = found.groups()
    try:
        ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        raise refuse(f"{address} is not an IP address") from None
    ports = int(port), int(address_port or port)
    if not all(0 < p < 65536 for p in ports):
        raise refuse("a port is out of range")
    return (host.lower(), ports[0]), (address.strip("[]"), ports[1])


def connect_address(connect_to: ConnectMap, host: str, port: int) -> Optional[tuple[str, int]]:
    """Where a connection to `host:port` goes under `connect_to` (None: where DNS says)."""
    return connect_to.get((host.strip("[]").lower().rstrip("."), port))


def _mapped_connection(base: type[HTTPConnection], connect_to: ConnectMap) -> type:
    class Connection(base):  # type: ignore[valid-type, misc]
        _oras_url = ""

        def getresponse(self, *args: Any, **kwargs: Any) -> Any:
            options = getattr(self, "_response_options", None)
            scheme = "https" if isinstance(self, HTTPSConnection) else "http"
            path = getattr(options, "request_url", "") or "/"
            self._oras_url = path if "://" in path else f"{scheme}://{self.host}:{self.port}{path}"
            return super().getresponse(*args, **kwargs)

        def response_class(self, sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
            # http.client builds the answer with this: paced from its status line on
            debuglevel = args[0] if args else kwargs.pop("debuglevel", 0)
            method = kwargs.pop("method", None) or "GET"
            return paced_http_response(sock, method, self._oras_url, debuglevel=debuglevel)

        def _new_conn(self) -> socket.socket:
            target = connect_address(connect_to, self.host, self.port)
            if target is None:
                return super()._new_conn()  # type: ignore[no-any-return]
            try:
                return urllib3_connection.create_connection(
                    target,
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except socket.timeout as e:
                raise ConnectTimeoutError(
                    self, f"connection to {self.host} ({target[0]}) timed out"
                ) from e
            except OSError as e:
                raise NewConnectionError(
                    self, f"failed to connect to {self.host} at {target[0]}:{target[1]}: {e}"
                ) from e

    Connection.__name__ = f"Resolving{base.__name__}"
    return Connection


class RegistryAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter whose connections to the `(host, port)`s in `connect_to` go to the
    mapped address. The map is shared, not copied: entries added later apply to new
    connections. Nothing is patched globally; each client has its own adapters."""

    def __init__(self, connect_to: Optional[ConnectMap] = None, **kwargs: Any) -> None:
        self.connect_to: ConnectMap = connect_to if connect_to is not None else {}
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        plain = type(
            "ResolvingHTTPConnectionPool",
            (connectionpool.HTTPConnectionPool,),
            {"ConnectionCls": _mapped_connection(HTTPConnection, self.connect_to)},
        )
        tls = type(
            "ResolvingHTTPSConnectionPool",
            (connectionpool.HTTPSConnectionPool,),
            {"ConnectionCls": _mapped_connection(HTTPSConnection, self.connect_to)},
        )
        self.poolmanager.pool_classes_by_scheme = {"http": plain, "https": tls}

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        """Send, then pace the answer's body (`oras.remote.timeouts.pace`): a body that drips
        fails instead of resetting the read timeout with every byte."""
        response = super().send(request, *args, **kwargs)
        timeout = kwargs.get("timeout", args[1] if len(args) > 1 else None)
        pace(response, read_timeout_of(timeout))
        return response

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["connect_to"] = self.connect_to
        return state  # type: ignore[no-any-return]


#: The environment variables that decide the proxy of an http or https URL (`REQUEST_METHOD`:
#: urllib ignores `HTTP_PROXY` in a CGI script).
_PROXY_ENVIRONMENT = (
    *(f"{scheme}_proxy" for scheme in ("http", "https", "all", "no")),
    *(f"{scheme}_PROXY" for scheme in ("HTTP", "HTTPS", "ALL", "NO")),
    "REQUEST_METHOD",
)
#: Hosts whose proxies a session remembers (a client talks to a registry or two, and their
#: blob storage).
_MAX_PROXY_ENTRIES = 64

#: Most redirects one request follows (Go's net/http stops at 10, requests at 30); a loop ends in
#: `oras.errors.TooManyRedirectsError` after that many.
MAX_REDIRECTS = 10
#: Largest redirect body read (so that its connection can be reused); a larger one, or one of
#: unknown length, is not read: its connection is closed instead.
MAX_REDIRECT_BODY = 64 * 1024
#: The schemes a redirect may lead to.
REDIRECT_SCHEMES = ("http", "https")

#: Connections kept per registry host: enough for concurrent transfers plus token requests.
POOL_SIZE = 32
#: Connections beyond a transfer's concurrency: the token service, a second registry host.
POOL_HEADROOM = 4


class RegistrySession(requests.Session):
    """A `requests.Session` for registries: it keeps no cookies (Harbor hands CSRF cookies to
    clients that keep them, then demands the token back), pools `pool_size` connections per
    host, and keeps `registry_headers` away from other hosts: the client adds them to
    requests for its registries, and a redirect to another host (blob storage, say) goes
    without them, as it goes without `Authorization`. `connect_to` is the `--resolve` map of
    the session's adapters."""

    def __init__(self, pool_size: int = POOL_SIZE) -> None:
        super().__init__()
        #: Headers for the registry's own origin only (`oras-py -H`).
        self.registry_headers: dict[str, str] = {}
        self.connect_to: ConnectMap = {}
        self.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self.size_pools(pool_size)
        self._max_redirects: Optional[int] = None
        #: Hosts that asked to be left alone for a while (429, Retry-After), for every request.
        self.host_pause = HostPause()

    @property
    def max_redirects(self) -> int:  # type: ignore[override]
        """`MAX_REDIRECTS`, read when a request is sent, unless set on this session."""
        chosen = getattr(self, "_max_redirects", None)
        return MAX_REDIRECTS if chosen is None else chosen

    @max_redirects.setter
    def max_redirects(self, value: int) -> None:
        # requests.Session.__init__ sets its own default (30): the module's limit wins over it
        if getattr(self, "_max_redirects", "unset") != "unset":
            self._max_redirects = value

    def get_redirect_target(self, resp: requests.Response) -> Optional[str]:
        """The redirect's target; RedirectError if it is not http or https. A redirect body
        over MAX_REDIRECT_BODY bytes, or without a length, is dropped unread (requests would
        read all of it into memory)."""
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        scheme = urlsplit(target.strip()).scheme.lower()
        if scheme and scheme not in REDIRECT_SCHEMES:
            from oras.errors import RedirectError

            request = resp.request
            path = urlsplit(request.url or "").path if request is not None else ""
            method = getattr(request, "method", None) or "GET"
            raise RedirectError(
                f"{method} {path or '/'} was redirected to a {scheme} URL, which is not "
                f"followed (only {' and '.join(REDIRECT_SCHEMES)})",
                hint="the registry or its storage is misconfigured; ask its operator",
                request=request,
            )
        if not resp._content_consumed:  # type: ignore[attr-defined]
            declared = resp.headers.get("Content-Length", "")
            if not (declared.isdigit() and int(declared) <= MAX_REDIRECT_BODY):
                resp._content = b""  # type: ignore[attr-defined]
                resp._content_consumed = True  # type: ignore[attr-defined]
                resp.raw.close()
        return target

    def size_pools(self, size: int) -> None:
        """Keep up to `size` connections per host (new adapters; pooled connections go)."""
        mount_adapters(self, pool_connections=8, pool_maxsize=size)

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """requests' own preparation, with its settings merged by `merge_setting` below, for a
        request without cookies or query parameters of its own or the session's (every request
        this client sends): requests merges with typing-protocol checks and copies cookie jars,
        a sixth of the CPU a small request costs."""
        if request.cookies or len(self.cookies) or request.params or self.params:
            return super().prepare_request(request)
        auth = request.auth
        if self.trust_env and not auth and not self.auth:
            auth = get_netrc_auth(request.url)
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=request.method.upper() if request.method else request.method,
            url=request.url,
            files=request.files,
            data=request.data,
            json=request.json,
            headers=merge_setting(request.headers, self.headers, CaseInsensitiveDict),
            params=None,
            auth=merge_setting(auth, self.auth),
            cookies=RequestsCookieJar(),
            hooks=merge_hooks(request.hooks, self.hooks),
        )
        return prepared

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """requests' own merge, with the proxies the environment gives a host looked up once
        per host and proxy setting: requests reads the whole environment twice per request to
        find them, a large share of the CPU a small blob's request costs."""
        if not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        proxies = {} if proxies is None else proxies
        for name, proxy in self._environ_proxies(url, proxies.get("no_proxy")).items():
            proxies.setdefault(name, proxy)
        if verify is True or verify is None:
            verify = (
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify
            )
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }

    def _environ_proxies(self, url: str, no_proxy: Optional[str]) -> dict[str, str]:
        parts = urlsplit(url)
        environment = tuple(os.environ.get(name) for name in _PROXY_ENVIRONMENT)
        key = (parts.scheme, parts.netloc, no_proxy, environment)
        cache: dict[Any, dict[str, str]] = self.__dict__.setdefault("_proxies_by_host", {})
        found = cache.get(key)
        if found is None:
            if len(cache) >= _MAX_PROXY_ENTRIES:
                cache.clear()
            found = cache[key] = get_environ_proxies(url, no_proxy=no_proxy)
        return found

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: Any) -> None:
        super().rebuild_auth(prepared_request, response)
        if not self.registry_headers:
            return
        before, after = urlsplit(response.request.url), urlsplit(prepared_request.url)
        if (before.scheme, before.netloc) != (after.scheme, after.netloc):
            for name in self.registry_headers:
                prepared_request.headers.pop(name, None)


def merge_setting(
    request_setting: Any, session_setting: Any, dict_class: type = OrderedDict
) -> Any:
    """`requests.sessions.merge_setting`: a request's setting over the session's, mappings
    merged key by key (a key set to None on the request removes it), without the typing-protocol
    checks that make requests' own costly."""
    if session_setting is None:
        return request_setting
    if request_setting is None:
        return session_setting
    if not (isinstance(session_setting, Mapping) and isinstance(request_setting, Mapping)):
        return request_setting
    merged = dict_class(session_setting.items())
    merged.update(request_setting.items())
    for key in [key for key, value in merged.items() if value is None]:
        del merged[key]
    return merged


def mount_adapters(session: requests.Session, pool_connections: int, pool_maxsize: int) -> None:
    """Mount a RegistryAdapter (with the session's `connect_to`, if any) for both schemes."""
    adapter = RegistryAdapter(
        getattr(session, "connect_to", None),
        pool_connections=pool_connections,
        pool_maxsize=pool_maxsize,
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)


def replayable(data: Any) -> bool:
    """Whether a request body can be sent again by the retry layer."""
    if hasattr(data, "replayable"):
        return bool(data.replayable)
    return data is None or isinstance(data, (bytes, bytearray, str, dict))
