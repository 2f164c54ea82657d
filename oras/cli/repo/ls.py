"""`oras-py repo ls` (`list`): the repositories of a registry (all catalog pages)."""

from __future__ import annotations

import argparse

from oras.cli import options, output
from oras.cli.console import UsageError, say


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ls",
        aliases=["list"],
        help="list the repositories of a registry",
        description="List the repositories of a registry, or those under a namespace "
        "(<registry>/<namespace>: printed relative to it).",
    )
    parser.add_argument("target", metavar="registry", help="<registry>[/<namespace>]")
    parser.add_argument("--last", help="start after this repository")
    output.add_format(parser)
    options.add_remote(parser)
    options.add_common(parser)


def split_namespace(text: str) -> tuple[str, str]:
    """`<registry>[/<namespace>]` -> (registry, `namespace/` or "")."""
    from oras.reference import parse_reference

    text = text.rstrip("/")
    if "/" not in text:
        options.registry_host(text)
        return text, ""
    ref = parse_reference(text, require_registry=True)
    if ref.tag or ref.digest:
        raise UsageError(
            f"could not parse repository path {text!r}: tags or digests should not be provided"
        )
    return ref.registry, f"{ref.repository}/"


def registry_client(args: argparse.Namespace, host: str) -> object:
    """An OrasClient for `host` with the flags' transport and credentials."""
    username, password, token = options.read_secrets(args)
    client = options.client_for(args, host)
    if username and password:
        client.set_basic_auth(username, password)
    elif token:
        client.auth.set_identity_token(token)
    return client


def run(args: argparse.Namespace) -> int:
    as_json = output.json_mode(args)
    host, namespace = split_namespace(args.target)
    client = registry_client(args, host)
    repositories = [
        name
        for name in client.get_catalog(host, last=args.last)  # type: ignore[attr-defined]
        if name.startswith(namespace)
    ]
    if as_json:
        output.print_json({"registry": host, "repositories": repositories})
        return 0
    for name in repositories:
        say(name[len(namespace) :])
    return 0
