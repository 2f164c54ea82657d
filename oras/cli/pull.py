"""`oras-py pull`: download an artifact's files."""

from __future__ import annotations

import argparse

from oras.cli import options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pull", help="pull files from a registry")
    parser.add_argument("target", help="<registry>/<repository>[:<tag>|@<digest>]")
    parser.add_argument("-o", "--output", default=".", help="output directory (default: .)")
    parser.add_argument(
        "-k",
        "--keep-old-files",
        action="store_true",
        help="do not overwrite existing files (they are skipped with a warning)",
    )
    parser.add_argument(
        "--allowed-media-type",
        action="append",
        default=[],
        metavar="TYPE",
        help="manifest media type to accept (repeatable)",
    )
    parser.add_argument(
        "--allow-all-media-types", action="store_true", help="accept any manifest media type"
    )
    parser.add_argument("--manifest-config-ref", help=argparse.SUPPRESS)
    options.add_remote(parser, insecure_aliases=("-i",))
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    client = options.make_client(args, args.target)
    client.pull(
        target=args.target,
        outdir=args.output,
        overwrite=not args.keep_old_files,
        allowed_media_type=args.allowed_media_type or None,
    )
    return 0
