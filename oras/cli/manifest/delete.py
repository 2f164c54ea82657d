"""`oras-py manifest delete` (`rm`, `remove`): delete a manifest and its tags, after a
confirmation."""

from __future__ import annotations

import argparse

from oras.cli import options, raw
from oras.cli.referrers import add_distribution_spec


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "delete",
        aliases=["rm", "remove"],
        help="delete a manifest from a registry",
        description="Delete a manifest (and so every tag on it). Asks for confirmation unless "
        "-f/--force; with --force a missing manifest is reported `Missing` and is not an error.",
    )
    parser.add_argument("target", help="<registry>/<repository>{:<tag>|@<digest>}")
    raw.add_force(parser)
    add_distribution_spec(parser)
    raw.add_descriptor(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    return raw.run_delete(
        args,
        "manifest",
        lambda opened: opened.store.resolve(raw.require_reference(opened, args.target)),
        lambda desc: (
            f'Are you sure you want to delete the manifest "{desc.digest}" and all tags '
            "associated with it?"
        ),
    )
