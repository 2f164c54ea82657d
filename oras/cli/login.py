"""`oras-py login`: check credentials against a registry, then store them."""

from __future__ import annotations

import argparse

from oras.cli import options
from oras.cli.console import prompt, say


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("login", help="log in to a registry")
    parser.add_argument("hostname", help="registry host[:port]")
    options.add_remote(parser, insecure_aliases=("-k", "-i"))
    options.add_common(parser, config_long=True)


def run(args: argparse.Namespace) -> int:
    host = options.registry_host(args.hostname)
    options.client_cert(args)  # usage errors before any prompt
    username, password, token = options.read_secrets(args)
    if not token:
        if username is None:
            username = prompt("Username: ")
        if not username:
            token = prompt("Token: ", secret=True)
            if not token:
                raise ValueError("token required")
        elif not password:
            password = prompt("Password: ", secret=True)
            if not password:
                raise ValueError("password required")
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
