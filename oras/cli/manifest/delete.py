"""`oras-py manifest delete` (`rm`, `remove`): delete a manifest and its tags, after a
confirmation."""

from __future__ import annotations

import argparse

from oras.cli import options, raw, target
from oras.cli.console import UsageError, say


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
    parser.add_argument(
        "--distribution-spec",
        choices=("v1.1-referrers-api", "v1.1-referrers-tag"),
        help="how the registry lists referrers (default: detected)",
    )
    raw.add_descriptor(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.errors import NotFoundError

    if args.descriptor and not args.force:
        raise UsageError(
            "must apply --force to confirm the deletion if the descriptor is outputted"
        )
    with target.open_target(args, args.target, write=True) as opened:
        reference = raw.require_reference(opened, args.target)
        try:
            desc = opened.store.resolve(reference)
        except NotFoundError as e:
            if args.force and not args.descriptor:
                say(f"Missing {args.target}")
                return 0
            raise NotFoundError(
                f"{args.target}: the specified manifest does not exist", status=404, url=e.url
            ) from e
        question = (
            f'Are you sure you want to delete the manifest "{desc.digest}" and all tags '
            "associated with it?"
        )
        if not raw.confirm(question, args.force):
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
