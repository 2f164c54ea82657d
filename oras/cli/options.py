"""Flag groups shared by commands, and turning them into a configured client."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Optional

from oras.cli.console import UsageError, warn

log = logging.getLogger("oras.cli")

PASSWORD_WARNING = "WARNING! Using --password via the CLI is insecure. Use --password-stdin."
TOKEN_WARNING = (
    "WARNING! Using --identity-token via the CLI is insecure. Use --identity-token-stdin."
)


def normalize_bool_flags(argv: list[str]) -> list[str]:
    """Go-style `--flag=true|false` -> `--flag` / `--no-flag`, which argparse understands."""
    out = []
    for arg in argv:
        name, sep, value = arg.partition("=")
        if arg.startswith("--") and sep and value.lower() in ("true", "false"):
            arg = name if value.lower() == "true" else f"--no-{name[2:]}"
        out.append(arg)
    return out


def add_common(parser: argparse.ArgumentParser, config_long: bool = False) -> None:
    """`-d/--debug` and `-c/--registry-config` (also `--config` where it means that)."""
    parser.add_argument("-d", "--debug", action="store_true", help="print debug logs (HTTP trace)")
    names = ["-c", "--registry-config"] + (["--config"] if config_long else [])
    parser.add_argument(
        *names,
        dest="registry_config",
        action="append",
        default=[],
        metavar="PATH",
        help="auth config file (repeatable; the first one is written)",
    )


def add_remote(parser: argparse.ArgumentParser, insecure_aliases: tuple[str, ...] = ()) -> None:
    """Credentials and transport flags of a command that talks to a registry."""
    group = parser.add_argument_group("registry")
    group.add_argument("-u", "--username", help="registry username")
    group.add_argument(
        "-p", "--password", help="registry password or token (prefer --password-stdin)"
    )
    group.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    group.add_argument("--identity-token", help="registry identity (refresh) token")
    group.add_argument(
        "--identity-token-stdin", action="store_true", help="read the identity token from stdin"
    )
    group.add_argument(
        *insecure_aliases,
        "--insecure",
        action="store_true",
        help="allow connections to registries without a valid certificate, or plain HTTP",
    )
    group.add_argument(
        "--plain-http",
        action="store_const",
        const=True,
        default=None,
        help="use plain HTTP (the default for localhost; --plain-http=false to turn off)",
    )
    group.add_argument(
        "--no-plain-http",
        dest="plain_http",
        action="store_const",
        const=False,
        help=argparse.SUPPRESS,
    )
    group.add_argument(
        "--skip-tls-verify", action="store_true", help="use HTTPS without certificate verification"
    )
    group.add_argument("--ca-file", help="CA bundle to verify the registry's certificate")


def registry_host(reference: str) -> str:
    """The registry part of a reference as typed (`localhost:5000/x:y` -> `localhost:5000`)."""
    first = reference.split("/", 1)[0]
    return first


def transport_for(args: argparse.Namespace, host: str) -> tuple[bool, Any]:
    """(plain_http, tls_verify) for `host` from the flags, following Go oras' defaults."""
    from oras.reference import is_localhost
    from oras.remote.scheme import is_loopback, speaks_tls

    verify: Any = args.ca_file or True
    if args.skip_tls_verify:
        verify = False
    if args.plain_http is not None:
        return bool(args.plain_http), verify
    if args.insecure:
        if speaks_tls(host):
            return False, False
        if not is_loopback(host):
            warn(f"{host} does not speak TLS: using plain HTTP because of --insecure")
        return True, verify
    return is_localhost(host), verify


def read_secrets(args: argparse.Namespace) -> tuple[Optional[str], Optional[str], Optional[str]]:
    """(username, password, identity token) from flags and stdin, checking the exclusions."""
    username, password, token = args.username, args.password, args.identity_token
    if username and (token or args.identity_token_stdin):
        raise UsageError("--username and --identity-token cannot both be used")
    secrets = [bool(password), bool(args.password_stdin), bool(token), args.identity_token_stdin]
    if sum(secrets) > 1:
        raise UsageError(
            "only one of --password, --password-stdin, --identity-token and "
            "--identity-token-stdin may be given"
        )
    if password:
        warn(PASSWORD_WARNING)
    if token:
        warn(TOKEN_WARNING)
    if args.password_stdin:
        password = _stdin_secret()
    if args.identity_token_stdin:
        token = _stdin_secret()
    return username, password, token


def _stdin_secret() -> str:
    data = sys.stdin.read()
    if data.endswith("\n"):
        data = data[:-1]
    if data.endswith("\r"):
        data = data[:-1]
    return data.strip() if "\n" not in data else data.splitlines()[0].strip()


def make_client(args: argparse.Namespace, reference: str) -> Any:
    """An OrasClient for the reference's registry, with the flags' transport and credentials."""
    import oras.client

    host = registry_host(reference)
    plain, verify = transport_for(args, host)
    client = oras.client.OrasClient(hostname=host, insecure=plain, tls_verify=verify)
    if args.registry_config:
        client.auth.use_config_files(args.registry_config)
    username, password, token = read_secrets(args)
    if username and password:
        client.set_basic_auth(username, password)
    elif token:
        client.auth.set_identity_token(token)
    return client
