"""`oras-py logout`: remove a registry's stored credentials."""

from __future__ import annotations

import argparse
import logging

from oras.cli import options

log = logging.getLogger("oras.cli")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("hostname", help="registry host[:port]")
    parser.add_argument("-k", "-i", "--insecure", action="store_true", help=argparse.SUPPRESS)
    options.add_common(parser, config_long=True)


def run(args: argparse.Namespace) -> int:
    from oras.credentials import CredentialStore

    host = options.registry_host(args.hostname)
    if CredentialStore(args.registry_config or None).erase(host):
        log.info("You have successfully logged out of %s", host)
    else:
        log.info("You are not logged in to %s", host)
    return 0
