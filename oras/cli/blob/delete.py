"""`oras-py blob delete` (`rm`, `remove`): delete one blob, after a confirmation."""

from __future__ import annotations

import argparse

from oras.cli import options, raw


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "delete",
        aliases=["rm", "remove"],
        help="delete a blob from a registry",
        description="Delete a blob. Asks for confirmation unless -f/--force; with --force a "
        "missing blob is reported `Missing` and is not an error.",
    )
    parser.add_argument("target", help="<registry>/<repository>@<digest>")
    raw.add_force(parser)
    raw.add_descriptor(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.cli.blob import blob_digest
    from oras.operations import resolve_blob

    return raw.run_delete(
        args,
        "blob",
        lambda opened: resolve_blob(opened.store, blob_digest(opened, args.target)),
        lambda desc: f'Are you sure you want to delete the blob "{desc.digest}"?',
    )
