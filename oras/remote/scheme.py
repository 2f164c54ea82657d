"""Decide between HTTPS and plain HTTP for a registry host before any credential is sent."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from typing import Optional

#: Seconds the TLS probe waits for a connection and a handshake.
PROBE_TIMEOUT = 10.0


def split_host_port(host: str, default_port: int = 443) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) -> (host, port)."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest.lstrip(":")
        return name, int(port) if port.isdigit() else default_port
    if host.count(":") > 1:  # a bare IPv6 address
        return host, default_port
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return name, int(port)
    return host, default_port


def speaks_tls(
    host: str,
    timeout: float = PROBE_TIMEOUT,
    unreachable: bool = True,
    address: Optional[tuple[str, int]] = None,
) -> bool:
    """True when `host` answers a TLS handshake (certificate not checked), False when it
    answers in plain text. Unreachable hosts count as `unreachable`, so the real request
    reports why.

    A server that speaks TLS but refuses us during the handshake (it wants a client
    certificate, or no protocol version matches) sends a TLS alert: that still counts as TLS.
    `address`: connect there instead of to `host` (`--resolve`); SNI still names `host`.
    """
    name, port = split_host_port(host)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        sock = socket.create_connection(address or (name, port), timeout=timeout)
    except OSError:
        return unreachable
    with sock:
        try:
            with context.wrap_socket(sock, server_hostname=name):
                return True
        except ssl.SSLError as e:
            return "ALERT" in str(getattr(e, "reason", "") or "").upper()
        except OSError:
            return False


def is_loopback(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1 (any port)."""
    name, _ = split_host_port(host)
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
