"""`oras-py resolve` (`digest`): print the digest a reference names."""

from __future__ import annotations

import argparse

from oras.cli import options, target
from oras.cli.console import say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="<registry>/<repository>[:<tag>|@<digest>]")
    parser.add_argument(
        "-l",
        "--full-reference",
        action="store_true",
        help="print the full reference <name>@<digest>",
    )
    parser.add_argument("--platform", help="os/arch[/variant]: pick this entry of an index")
    target.add_target(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.copy import resolve_root
    from oras.manifest import Platform

    platform = Platform.parse(args.platform) if args.platform else None
    with target.open_target(args, args.target) as opened:
        desc = resolve_root(opened.store, opened.reference or "latest", platform)
    if args.full_reference:
        say(f"{opened.name}@{desc.digest}")
    else:
        say(desc.digest)
    return 0
