"""Flag groups shared by commands, and turning them into a configured client."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Optional

from oras.cli.console import UsageError, warn
from oras.remote.timeouts import CONNECT_TIMEOUT, READ_TIMEOUT

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
    parser.add_argument(
        "--quiet", action="store_true", default=argparse.SUPPRESS, help="suppress info messages"
    )
    names = ["-c", "--registry-config"] + (["--config"] if config_long else [])
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=None, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--no-verbose", dest="verbose", action="store_false", help=argparse.SUPPRESS
    )
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
    group.add_argument("--cert-file", help="client certificate (PEM) for mutual TLS")
    group.add_argument("--key-file", help="private key (PEM) of --cert-file")
    group.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="add a header to the requests to the registry (repeatable); it is not sent to a "
        "token service nor to another host the registry redirects to",
    )
    group.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="HOST:PORT:ADDRESS[:ADDRESS_PORT]",
        help="connect to ADDRESS (an IP address) when the registry is HOST:PORT (repeatable); "
        "HOST stays in the Host header and the TLS certificate check",
    )
    group.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give up on a request after this long without a connection or without data "
        "(not a limit on a whole transfer); a timed-out request is tried once more "
        f"(default: {CONNECT_TIMEOUT:g} s to connect, {READ_TIMEOUT:g} s without data)",
    )


def _seconds(value: str) -> float:
    """A positive, finite number of seconds (argparse type)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not (seconds > 0 and seconds != float("inf")):
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {value!r}")
    return seconds


def registry_host(reference: str) -> str:
    """The registry part of a reference as typed (`localhost:5000/x:y` -> `localhost:5000`)."""
    if "://" in reference:  # `login https://host/` as docker accepts it
        reference = reference.split("://", 1)[1]
    host = reference.split("/", 1)[0]
    if "@" in host:  # `user:password@host`: never echo it back
        raise UsageError(
            "credentials in the registry address are not supported; "
            "use --username with --password-stdin"
        )
    return host


def transport_for(args: argparse.Namespace, host: str) -> tuple[bool, Any]:
    """(plain_http, tls_verify) for `host` from the flags.

    `--plain-http[=false]` decides outright. `--insecure` tries HTTPS without verification and
    falls back to plain HTTP when the server does not speak TLS. Without either, loopback hosts
    (localhost, 127.0.0.0/8, ::1) use plain HTTP only when the server does not speak TLS (a
    probe before any credential is sent), so plain and TLS registries on loopback both work
    without flags; every other host uses HTTPS.
    """
    from oras.remote.scheme import PROBE_TIMEOUT, is_loopback, split_host_port
    from oras.remote.scheme import speaks_tls as _speaks_tls
    from oras.remote.transport import connect_address

    probe = min(PROBE_TIMEOUT, getattr(args, "timeout", None) or PROBE_TIMEOUT)
    # `--resolve`: the probe goes where the requests will go.
    address = connect_address(connect_map(args), *split_host_port(host))

    def speaks_tls(host: str, timeout: float, unreachable: bool = True) -> bool:
        return _speaks_tls(host, timeout=timeout, unreachable=unreachable, address=address)

    verify: Any = args.ca_file or True
    if args.skip_tls_verify:
        verify = False
    if args.plain_http is not None:
        return bool(args.plain_http), verify
    if args.insecure:
        if speaks_tls(host, timeout=probe):
            return False, False
        if not is_loopback(host):
            warn(f"{host} does not speak TLS: using plain HTTP because of --insecure")
        return True, verify
    if is_loopback(host) or (address and is_loopback(address[0])):
        # nothing listening: plain HTTP, so the error says just that
        return not speaks_tls(host, timeout=probe, unreachable=False), verify
    return False, verify


def client_cert(args: argparse.Namespace) -> Optional[tuple[str, str]]:
    """(cert, key) from `--cert-file`/`--key-file`; both or neither."""
    cert, key = getattr(args, "cert_file", None), getattr(args, "key_file", None)
    if bool(cert) != bool(key):
        raise UsageError("--cert-file and --key-file must be given together")
    return (cert, key) if cert and key else None


def registry_headers(args: argparse.Namespace) -> dict[str, str]:
    """`-H 'Name: value'` flags as headers; a name given twice gets both values, comma-joined
    (one header line, which HTTP takes as the same). UsageError for a malformed one."""
    from oras.remote.transport import parse_header

    headers: dict[str, str] = {}
    for text in getattr(args, "header", None) or []:
        try:
            name, value = parse_header(text)
        except ValueError as e:
            raise UsageError(str(e)) from None
        known = next((k for k in headers if k.lower() == name.lower()), None)
        if known is not None:
            headers[known] = f"{headers[known]}, {value}"
        else:
            headers[name] = value
    return headers


def connect_map(args: argparse.Namespace) -> dict[tuple[str, int], tuple[str, int]]:
    """`--resolve` flags (after `cp`'s shared `--resolve`; a later one for the same host:port
    wins) as a map; UsageError for a malformed one."""
    from oras.remote.transport import parse_resolve

    mapping = {}
    for text in [
        *(getattr(args, "base_resolve", None) or []),
        *(getattr(args, "resolve", None) or []),
    ]:
        try:
            key, address = parse_resolve(text)
        except ValueError as e:
            raise UsageError(str(e)) from None
        mapping[key] = address
    return mapping


def warn_deprecated(args: argparse.Namespace) -> None:
    """Go `oras`'s notice for its deprecated `-v/--verbose` (accepted, no effect)."""
    if getattr(args, "verbose", None) is not None:
        warn("Flag --verbose has been deprecated, and will be removed in a future release.")


def client_for(args: argparse.Namespace, host: str) -> Any:
    """An OrasClient for `host` with the flags' transport, client certificate, headers, address
    overrides and config files (no credentials yet)."""
    import oras.client

    cert = client_cert(args)
    headers = registry_headers(args)
    plain, verify = transport_for(args, host)
    client = oras.client.OrasClient(
        hostname=host,
        insecure=plain,
        tls_verify=verify,
        cert=cert,
        timeout=getattr(args, "timeout", None),
    )
    for name, value in headers.items():
        client.set_registry_header(name, value)
    for (name, port), (address, address_port) in connect_map(args).items():
        client.connect_to(name, port, address, address_port)
    if getattr(args, "registry_config", None):
        client.auth.use_config_files(args.registry_config)
    ranges = getattr(args, "ranges", None)
    if ranges is not None:
        from oras.remote.ranged import RangedOptions

        client.ranged = RangedOptions(ranges=ranges)
        # A pooled connection for every range of every blob in flight.
        from oras.concurrency import MAX_CONCURRENCY

        client._fit_pool((getattr(args, "concurrency", 1) or MAX_CONCURRENCY) * ranges)
    return client


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
    """An OrasClient for the reference's registry, with the flags' transport and credentials.

    The reference must name its registry, as in the Go `oras`: `localhost:5000` alone (no
    repository) or `dinosaur/artifact` (no registry) is refused before anything is sent.
    """
    from oras.reference import parse_reference

    host = registry_host(reference)
    parse_reference(reference, require_registry=True)
    username, password, token = read_secrets(args)
    client = client_for(args, host)
    if username and password:
        client.set_basic_auth(username, password)
    elif token:
        client.auth.set_identity_token(token)
    return client


def add_ranges(parser: argparse.ArgumentParser) -> None:
    """`--ranges`: connections one large blob is downloaded over (pull, cp)."""
    from oras.concurrency import DOWNLOAD_RANGES, RANGED_THRESHOLD

    parser.add_argument(
        "--ranges",
        type=int,
        default=DOWNLOAD_RANGES,
        metavar="N",
        help=f"download a blob of {RANGED_THRESHOLD // (1024 * 1024)} MiB or more as N byte "
        "ranges at once, where the registry serves ranges (default "
        f"{DOWNLOAD_RANGES}; 1: one stream)",
    )


def check_ranges(args: argparse.Namespace) -> None:
    if args.ranges < 1:
        raise UsageError("--ranges must be at least 1")
