"""`Registry`'s requests: `do_request` sends one request with this client's headers and auth
(answering a 401 challenge once), retried on a dropped connection or a timeout; the headers
set for every request or for the client's registries only, the `--resolve` address map, the
connection pool's size and the paging of `Link` listings.

A mixin of `oras.provider.Registry` (so `OrasClient` has them): every request of the client
goes through `do_request`, which subclasses override as oras-py's users do; the protocol
steps themselves are in `oras.remote`."""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import requests

from oras.concurrency import MAX_CONCURRENCY
from oras.errors import OrasError, ProtocolError, typed_transport_errors
from oras.remote.response import next_page, read_limited, registry_error
from oras.remote.retry import is_timeout, send_with_retry
from oras.remote.timeouts import Timeouts, timeout_error
from oras.remote.transport import POOL_HEADROOM, replayable

# The logger these methods have always logged to, before they left `oras.provider`.
log = logging.getLogger("oras.provider")


class RegistryRequests:
    """The client's HTTP requests, with headers, auth and retries (mixed into `Registry`)."""

    # Provided by Registry.
    auth: Any
    session: Any
    hostname: Optional[str]
    headers: dict[str, str]
    timeout: Timeouts
    _tls_verify: Any
    _pool_size: int

    def _fit_pool(self, concurrency: Optional[int]) -> None:
        """Keep a pooled connection for each of `concurrency` workers (a larger `--concurrency`
        than the pool would otherwise open and throw away a connection per request; None, an
        adaptive concurrency: as many as it may grow to)."""
        if concurrency is None:
            concurrency = MAX_CONCURRENCY
        if concurrency + POOL_HEADROOM > self._pool_size:
            self._pool_size = concurrency + POOL_HEADROOM
            self.session.size_pools(self._pool_size)

    def set_header(self, name: str, value: str) -> None:
        self.headers.update({name: value})

    def set_registry_header(self, name: str, value: str) -> None:
        """Send `name: value` with every request to the registries this client works for
        (Go `oras -H`), and to no other host: not to a token service, an upload `Location`
        elsewhere nor a redirect target on another host. (`set_header` sends to all.)"""
        self.session.registry_headers[name] = value

    def connect_to(self, host: str, port: int, address: str, address_port: int) -> None:
        """Connect to `address:address_port` whenever a request is for `host:port` (Go `oras
        --resolve`); the URL, the `Host` header, TLS SNI and the certificate check keep
        `host`."""
        self.session.connect_to[(host.lower(), port)] = (address, address_port)

    def _registry_headers(self, url: str) -> dict[str, str]:
        """`set_registry_header`'s headers if `url` is on one of this client's registries."""
        extra = getattr(self.session, "registry_headers", None)
        if not extra:
            return {}
        parts = urlsplit(url)
        hosts = [parts.netloc]
        if parts.port is None:  # `host:80` as typed, `host` in a Location URL
            hosts.append(f"{parts.netloc}:{443 if parts.scheme == 'https' else 80}")
        known = getattr(self.auth, "is_registry_host", None)
        ours = any(known(h) if known is not None else h == self.hostname for h in hosts)
        return dict(extra) if ours else {}

    def do_request(
        self,
        url: str,
        method: str = "GET",
        data: Any = None,
        headers: Optional[dict] = None,
        json: Any = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one request with auth attached, answering a 401 challenge once."""
        headers = {**self.headers, **self._registry_headers(url), **(headers or {})}
        if "Authorization" not in headers:
            headers.update(self.auth.auth_headers(method, url))
        response = self._send(method, url, data, headers, json, stream)
        if response.status_code in (401, 403):
            with typed_transport_errors():  # the token service may be down
                new_headers, changed = self.auth.authenticate_request(
                    response, headers, refresh=response.status_code == 403
                )
            if changed:
                response.close()
                response = self._send(method, url, data, new_headers, json, stream)
        return response

    def _send(
        self,
        method: str,
        url: str,
        data: Any,
        headers: dict,
        json: Any,
        stream: bool,
    ) -> requests.Response:
        def once() -> requests.Response:
            return self.session.request(
                method,
                url,
                data=data,
                headers=headers,
                json=json,
                stream=stream,
                verify=self._tls_verify,
                timeout=self.timeout,
            )

        try:
            with typed_transport_errors():
                response = send_with_retry(
                    once,
                    replayable=replayable(data),
                    pause=getattr(self.session, "host_pause", None),
                    host=urlsplit(url).netloc.lower(),
                )
        except Exception as e:
            if is_timeout(e) and not isinstance(e, OrasError):
                raise timeout_error(e, method, url, self.timeout) from e
            raise
        log.debug("%s %s -> %s", method, url, response.status_code)
        return response

    def _check_200_response(self, response: requests.Response) -> None:
        if response.status_code not in (200, 201, 202):
            self._parse_response_errors(response)
            raise registry_error(response)

    def _parse_response_errors(self, response: requests.Response) -> None:
        from oras.remote.response import oci_errors

        # The raised error carries these; at error level they would be shown twice.
        for error in oci_errors(response):
            if error.get("message"):
                log.debug("registry error: %s", error["message"])

    def _do_paginated_request(
        self, url: str, callable: Callable[[requests.Response], bool]
    ) -> None:
        """GET `url` and every `Link: rel="next"` page after it; stop when `callable` says so.
        At most `oras.remote.response.MAX_PAGES` pages, none on another origin, none twice."""
        from oras.remote import repository
        from oras.remote import response as answers

        seen: set[str] = set()
        for _ in range(answers.MAX_PAGES):
            response = self.do_request(url, "GET", stream=True)
            self._check_200_response(response)
            # read now, within the listing cap, for `callable`'s `response.json()`
            response._content = read_limited(response, repository.MAX_LIST_SIZE, url)
            if callable(response):
                return
            link = next_page(response, seen, url)
            if not link:
                return
            url = link
        raise ProtocolError(f"more than {answers.MAX_PAGES} pages from {url}")
