"""`oras-py manifest delete` (`rm`, `remove`): delete a manifest and its tags, after a
confirmation."""

from __future__ import annotations

import argparse

from oras.cli import raw
from oras.cli.referrers import add_distribution_spec


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    raw.add_delete_parser(
        subparsers,
        "manifest",
        "Delete a manifest (and so every tag on it). Asks for confirmation unless -f/--force; "
        "with --force a missing manifest is reported `Missing` and is not an error.",
        "<registry>/<repository>{:<tag>|@<digest>}",
        more_flags=add_distribution_spec,
    )


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
