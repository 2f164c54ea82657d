"""The command line of `python -m oras.testing`: serve a test registry until SIGINT or SIGTERM.

It lives in the CLI layer because it prints and waits for signals; `oras.testing.__main__` calls it."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Optional, Sequence

from oras.testing.auth import DEFAULT_TOKEN_LIFETIME
from oras.testing.registry import TestRegistry


def _user(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError(f"expected USER:PASSWORD, got {value!r}")
    return user, password


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m oras.testing",
        description="Serve an OCI distribution-spec 1.1 registry for tests (plain HTTP).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    p.add_argument("--storage", metavar="DIR", help="keep data in DIR (default: in memory)")
    p.add_argument("--htpasswd", metavar="FILE", help="basic auth users ({SHA}, bcrypt, plain)")
    p.add_argument(
        "--user",
        metavar="USER:PASSWORD",
        type=_user,
        action="append",
        default=[],
        help="a user for basic or token auth (repeatable)",
    )
    p.add_argument("--token", action="store_true", help="bearer tokens from <url>/token")
    p.add_argument(
        "--token-lifetime",
        type=float,
        default=DEFAULT_TOKEN_LIFETIME,
        metavar="SECONDS",
        help=f"token lifetime (default {DEFAULT_TOKEN_LIFETIME})",
    )
    p.add_argument("--no-referrers", action="store_true", help="answer the referrers API with 404")
    p.add_argument("--no-delete", action="store_true", help="refuse deletes (405 UNSUPPORTED)")
    p.add_argument(
        "--chunk-min-length",
        type=int,
        default=0,
        metavar="BYTES",
        help="announce OCI-Chunk-Min-Length",
    )
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        registry = TestRegistry(
            args.storage,
            host=args.host,
            port=args.port,
            users=dict(args.user) or None,
            htpasswd=args.htpasswd,
            token=args.token,
            token_lifetime=args.token_lifetime,
            referrers=not args.no_referrers,
            delete=not args.no_delete,
            chunk_min_length=args.chunk_min_length,
        ).start()
    except (OSError, ValueError) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"oras test registry listening on {registry.url}", flush=True)
    if registry.token_realm:
        print(f"token realm: {registry.token_realm}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        registry.stop()
    return 0
