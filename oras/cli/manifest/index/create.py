"""`oras-py manifest index create` (`pack`): an image index of manifests of one repository."""

from __future__ import annotations

import argparse

from oras.cli import options, target
from oras.cli.console import UsageError, say


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from oras.cli.manifest.index import add_index_output

    parser = subparsers.add_parser(
        "create",
        aliases=["pack"],
        help="[Experimental] create and push an index from manifests of one repository",
        description="Create an image index of the manifests the sources (tags or digests of "
        "the same repository) name, and push it (or write it with -o).",
    )
    parser.add_argument("target", help="<registry>/<repository>[:<tag>[,<tag>...]]")
    parser.add_argument("sources", nargs="*", metavar="source", help="<tag>|<digest>")
    parser.add_argument("--artifact-type", help="artifact type of the index")
    parser.add_argument(
        "-a",
        "--annotation",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="index annotation (repeatable)",
    )
    add_index_output(parser)
    target.add_target(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.cli.manifest.index import status_events, write_or_push
    from oras.index import create_index
    from oras.reference import split_tags

    annotations: dict[str, str] = {}
    for item in args.annotation:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"Annotation {item} invalid format, needs to be key=value pair.")
        if key in annotations:
            raise UsageError(f"duplicate annotation key {key}")
        annotations[key] = value
    text, tags = split_tags(args.target)
    sources = [s[1:] if s.startswith("@") else s for s in args.sources]
    quiet = args.output == "-"
    with target.open_target(args, text, write=not args.output) as opened:
        desc, content = create_index(
            opened.store,
            sources,
            args.artifact_type or None,
            annotations or None,
            status_events(quiet),
        )
        if not quiet:
            say(f"Packed    {desc.digest[7:19]} {desc.media_type}")
        write_or_push(args, opened, desc, content, opened.reference, tags[1:], opened.label)
    return 0
