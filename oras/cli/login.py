"""`oras-py login`: check credentials against a registry, then store them."""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from oras.cli import options
from oras.cli.console import prompt, say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("hostname", help="registry host[:port]")
    options.add_remote(parser, insecure_aliases=("-k", "-i"))
    options.add_common(parser, config_long=True)


def _ask(
    username: Optional[str], password: Optional[str]
) -> tuple[Optional[str], Optional[str], Optional[str]]:
    """Prompt for what the flags left out (as Go `oras` does): a username, then its password,
    or an identity token when the username is empty. Input that ends before the answers is an
    error saying which flags to use instead, never an empty answer."""
    token = None
    asking = "username"
    try:
        if username is None:
            username = prompt("Username: ")
        if not username:
            asking = "token"
            token = prompt("Token: ", secret=True)
            if not token:
                raise ValueError("token required")
        elif not password:
            asking = "password"
            password = prompt("Password: ", secret=True)
            if not password:
                raise ValueError("password required")
    except EOFError:
        where = "the terminal" if sys.stdin.isatty() else "standard input (not a terminal)"
        raise ValueError(
            f"no {asking} given and {where} ended before one was typed: "
            "use -u/--username with --password-stdin (or --identity-token-stdin)"
        ) from None
    return username, password, token


def run(args: argparse.Namespace) -> int:
    host = options.registry_host(args.hostname)
    options.client_cert(args)  # usage errors before any prompt
    username, password, token = options.read_secrets(args)
    if args.password_stdin and not password:
        raise ValueError("--password-stdin read no password from standard input")
    if args.identity_token_stdin and not token:
        raise ValueError("--identity-token-stdin read no token from standard input")
    if not token and not (username and password):
        username, password, token = _ask(username, password)
    client = options.client_for(args, host)
    client.login(
        username=username,
        password=password,
        hostname=host,
        tls_verify=client._tls_verify,
        config_path=args.registry_config or None,
        identity_token=token,
    )
    say("Login Succeeded")
    return 0
