"""`oras-py manifest index update`: add, merge or remove entries of an image index."""

from __future__ import annotations

import argparse

from oras.cli import options, raw, target
from oras.cli.console import UsageError, say


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from oras.cli.manifest.index import add_index_output

    parser = subparsers.add_parser(
        "update",
        help="[Experimental] update and push an image index",
        description="Change an index of the repository: remove entries by digest, add "
        "manifests and merge indexes (tags or digests of the same repository), set its "
        "artifact type; then push it back (or write it with -o).",
    )
    parser.add_argument("target", help="<registry>/<repository>{:<tag>|@<digest>}")
    parser.add_argument(
        "--add", action="append", default=[], metavar="REF", help="manifest to add (tag or digest)"
    )
    parser.add_argument(
        "--merge",
        action="append",
        default=[],
        metavar="REF",
        help="index whose entries to add (tag or digest)",
    )
    parser.add_argument(
        "--remove",
        action="append",
        default=[],
        metavar="DIGEST",
        help="digest of an entry to remove",
    )
    parser.add_argument(
        "--tag", action="append", default=[], help="extra tag for the updated index (repeatable)"
    )
    parser.add_argument("--artifact-type", help="new artifact type of the index")
    add_index_output(parser)
    target.add_target(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.cli.manifest.index import status_events, write_or_push
    from oras.digest import digest_problem
    from oras.index import update_index

    if args.tag and args.output:
        raise UsageError("--tag and --output cannot be used at the same time")
    for digest in args.remove:
        if digest_problem(digest):
            raise UsageError(f"remove: {digest} is not a digest")
    if not (args.add or args.merge or args.remove or args.artifact_type is not None):
        say("Nothing to update as no change is requested")
        return 0
    quiet = args.output == "-"
    with target.open_target(args, args.target, write=not args.output) as opened:
        reference = raw.require_reference(opened, args.target)
        desc, content = update_index(
            opened.store,
            reference,
            [_bare(s) for s in args.add],
            [_bare(s) for s in args.merge],
            args.remove,
            args.artifact_type,
            status_events(quiet),
        )
        if not quiet:
            say(f"Updated   {desc.digest}")
        pushed_as = f"[{opened.kind}] {opened.name}" if ":" in reference else opened.label
        write_or_push(args, opened, desc, content, reference, args.tag, pushed_as)
    return 0


def _bare(reference: str) -> str:
    """`@<digest>` -> `<digest>`: sources name a tag or digest of the index's repository."""
    return reference[1:] if reference.startswith("@") else reference
