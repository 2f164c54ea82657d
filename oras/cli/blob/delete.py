"""`oras-py blob delete` (`rm`, `remove`): delete one blob, after a confirmation."""

from __future__ import annotations

import argparse

from oras.cli import raw


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    raw.add_delete_parser(
        subparsers,
        "blob",
        "Delete a blob. Asks for confirmation unless -f/--force; with --force a missing blob is "
        "reported `Missing` and is not an error.",
        "<registry>/<repository>@<digest>",
    )


def run(args: argparse.Namespace) -> int:
    from oras.cli.blob import blob_digest
    from oras.operations import resolve_blob

    return raw.run_delete(
        args,
        "blob",
        lambda opened: resolve_blob(opened.store, blob_digest(opened, args.target)),
        lambda desc: f'Are you sure you want to delete the blob "{desc.digest}"?',
    )
