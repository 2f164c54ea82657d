"""Decide between HTTPS and plain HTTP for a registry host before any credential is sent."""

from __future__ import annotations

import socket
import ssl


def split_host_port(host: str, default_port: int = 443) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) -> (host, port)."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest.lstrip(":")
        return name, int(port) if port.isdigit() else default_port
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return name, int(port)
    return host, default_port


def speaks_tls(host: str, timeout: float = 10.0) -> bool:
    """True when `host` completes a TLS handshake (certificate not checked), False when it
    answers in plain text. Unreachable hosts count as TLS, so the real request reports why."""
    name, port = split_host_port(host)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        sock = socket.create_connection((name, port), timeout=timeout)
    except OSError:
        return True
    with sock:
        try:
            with context.wrap_socket(sock, server_hostname=name):
                return True
        except ssl.SSLError:
            return False
        except OSError:
            return False


def is_loopback(host: str) -> bool:
    name, _ = split_host_port(host)
    return name == "localhost" or name.startswith("127.") or name == "::1"
