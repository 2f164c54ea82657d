"""The HTTPS-or-plain-HTTP probe used for loopback registries and --insecure."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator

import pytest

from oras.remote import scheme


@pytest.fixture
def plain_server() -> Iterator[str]:
    """A loopback server that answers anything with a plain-text HTTP 400, like Go's."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    thread.join(timeout=5)


def test_plain_http_server_does_not_speak_tls(plain_server: str) -> None:
    assert not scheme.speaks_tls(plain_server, timeout=5)


def test_unreachable_host_counts_as_tls() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    assert scheme.speaks_tls(f"127.0.0.1:{port}", timeout=5)


def test_a_tls_alert_counts_as_tls(plain_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        error = ssl.SSLError(1, "alert")
        error.reason = "SSLV3_ALERT_BAD_CERTIFICATE"  # wants a client certificate
        raise error

    monkeypatch.setattr(ssl.SSLContext, "wrap_socket", refuse)
    assert scheme.speaks_tls(plain_server, timeout=5)


@pytest.mark.parametrize(
    "host, expected",
    [
        ("localhost:5000", ("localhost", 5000)),
        ("[::1]:5000", ("::1", 5000)),
        ("::1", ("::1", 443)),
        ("registry.example", ("registry.example", 443)),
    ],
)
def test_split_host_port(host: str, expected: tuple[str, int]) -> None:
    assert scheme.split_host_port(host) == expected
