"""`oras-py blob fetch` (`get`): a blob to a file or stdout, or its descriptor."""

from __future__ import annotations

import argparse
import sys

from oras.cli import options, raw, target
from oras.cli.console import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fetch",
        aliases=["get"],
        help="fetch a blob from a registry or an OCI image layout",
        description="Fetch a blob; one of -o/--output and --descriptor is required. A file is "
        "written only once the blob is verified; with -o - the bytes go to stdout as they come.",
    )
    parser.add_argument("target", help="<registry>/<repository>@<digest>")
    raw.add_output(parser, "blob")
    raw.add_descriptor(parser)
    target.add_target(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.cli.blob import blob_digest
    from oras.operations import fetch_blob, resolve_blob

    if not args.output and not args.descriptor:
        raise UsageError("either `--output` or `--descriptor` must be provided")
    if args.output == "-" and args.descriptor:
        raise UsageError("`--output -` cannot be used with `--descriptor` at the same time")
    with target.open_target(args, args.target) as opened:
        digest = blob_digest(opened, args.target)
        if not args.output:
            desc = resolve_blob(opened.store, digest)
        elif args.output == "-":
            sys.stdout.flush()
            desc = fetch_blob(opened.store, digest, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            desc = fetch_blob(opened.store, digest, args.output)
    if args.descriptor:
        raw.print_descriptor(desc, args.pretty)
    return 0
