"""`oras-py tag`: add tags to a manifest in a registry or an OCI layout."""

from __future__ import annotations

import argparse

from oras.cli import options, target
from oras.cli.console import UsageError, printable, say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="<registry>/<repository>[:<tag>|@<digest>]")
    parser.add_argument("tags", nargs="+", metavar="tag", help="tags to add")
    parser.add_argument(
        "--concurrency", type=int, default=5, help="tags applied at once (default: 5)"
    )
    target.add_target(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    import re

    from oras.concurrency import map_concurrently
    from oras.reference import TAG_PATTERN

    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    for tag in args.tags:
        if not re.fullmatch(TAG_PATTERN, tag):
            raise UsageError(
                f"invalid tag {printable(tag)[:130]!r}: a tag is 1 to 128 of [A-Za-z0-9_.-], "
                "not starting with . or -"
            )
    with target.open_target(args, args.target, write=True) as opened:
        if not opened.reference:
            raise UsageError(f"{args.target} names no tag or digest to tag from")
        desc = opened.store.resolve(opened.reference)
        say(f"Tagging {opened.label}")

        def tag_one(tag: str) -> None:
            opened.store.tag(desc, tag)
            say(f"Tagged {tag}")

        map_concurrently(tag_one, args.tags, args.concurrency)
    return 0
