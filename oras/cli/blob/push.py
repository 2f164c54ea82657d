"""`oras-py blob push`: one blob from a file or stdin."""

from __future__ import annotations

import argparse
import os
import sys

from oras.cli import options, raw, target
from oras.cli.console import UsageError, say
from oras.defaults import default_blob_media_type as DEFAULT_BLOB_MEDIA_TYPE


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "push",
        help="push a blob to a registry or an OCI image layout",
        description="Push one blob from a file, or from stdin (-) with --size.",
    )
    parser.add_argument("target", help="<registry>/<repository>[@<digest>]")
    parser.add_argument("file", help="the file to push, - for stdin")
    parser.add_argument(
        "--size", type=int, help="the blob's size in bytes (required when reading stdin)"
    )
    parser.add_argument(
        "--media-type",
        default=DEFAULT_BLOB_MEDIA_TYPE,
        help=f"media type shown in the --descriptor output (default {DEFAULT_BLOB_MEDIA_TYPE})",
    )
    raw.add_descriptor(parser)
    target.add_target(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.operations import prepare_blob

    if args.file == "-":
        if args.size is None:
            raise UsageError("`--size` must be provided if the blob is read from stdin")
        raw.stdin_conflict(args)
    if args.size is not None and args.size < 0:
        raise UsageError(f"--size must not be negative, not {args.size}")
    if args.file != "-" and not os.path.isfile(args.file):
        raise UsageError(f"{args.file}: no such file")
    with target.open_target(args, args.target, write=True) as opened:
        digest = opened.reference if ":" in opened.reference else None
        if opened.reference and not digest:
            raise UsageError(f"{args.target}: a blob is pushed by digest: <name>[@<digest>]")
        source = sys.stdin.buffer if args.file == "-" else args.file
        desc, content = prepare_blob(source, args.size, digest, args.media_type)
        with content:
            if opened.store.exists(desc):
                if not args.descriptor:
                    raw.status("Exists   ", desc)
            else:
                if not args.descriptor:
                    raw.status("Uploading", desc)
                opened.store.push(desc, content)
                if not args.descriptor:
                    raw.status("Uploaded ", desc)
    if args.descriptor:
        raw.print_descriptor(desc, args.pretty)
        return 0
    say(f"Pushed: {opened.label}")
    say(f"Digest: {desc.digest}")
    return 0
