"""`oras-py blob delete` (`rm`, `remove`): delete one blob, after a confirmation."""

from __future__ import annotations

import argparse

from oras.cli import options, raw, target
from oras.cli.console import UsageError, say


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
    from oras.errors import NotFoundError
    from oras.operations import resolve_blob

    if args.descriptor and not args.force:
        raise UsageError(
            "must apply --force to confirm the deletion if the descriptor is outputted"
        )
    with target.open_target(args, args.target, write=True) as opened:
        digest = blob_digest(opened, args.target)
        try:
            desc = resolve_blob(opened.store, digest)
        except NotFoundError as e:
            if args.force and not args.descriptor:
                say(f"Missing {args.target}")
                return 0
            raise NotFoundError(
                f"{args.target}: the specified blob does not exist", status=404, url=e.url
            ) from e
        if not raw.confirm(
            f'Are you sure you want to delete the blob "{desc.digest}"?', args.force
        ):
            return 0
        try:
            opened.store.delete(desc)
        except Exception as e:
            raise raw.with_prefix(e, f"failed to delete {args.target}: ")
    if args.descriptor:
        raw.print_descriptor(desc, args.pretty)
    else:
        say(f"Deleted {opened.label}")
    return 0
