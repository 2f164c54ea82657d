"""`oras-py manifest push`: PUT a manifest as given, under a tag (and more tags) or its digest."""

from __future__ import annotations

import argparse

from oras.cli import options, raw, target
from oras.cli.console import UsageError, say
from oras.cli.referrers import add_distribution_spec


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "push",
        help="push a manifest to a registry or an OCI image layout",
        description="Push a manifest file (or stdin, -) as it is, under <tag>[,<tag>...] or "
        "@<digest> (its own), or by digest when no reference is given.",
    )
    parser.add_argument("target", help="<registry>/<repository>[:<tag>[,<tag>...]|@<digest>]")
    parser.add_argument("file", help="the manifest file, - for stdin")
    parser.add_argument(
        "--media-type", help="media type of the manifest (default: its own mediaType)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=5, help="tags applied at once (default: 5)"
    )
    add_distribution_spec(parser)
    raw.add_descriptor(parser)
    target.add_target(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.concurrency import map_concurrently
    from oras.descriptor import MAX_MANIFEST_SIZE
    from oras.operations import (
        check_manifest_reference,
        manifest_descriptor,
        names_digest,
        put_manifest,
    )
    from oras.reference import split_tags

    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.file == "-":
        raw.stdin_conflict(args)
    text, tags = split_tags(args.target)
    content = raw.read_input(args.file, MAX_MANIFEST_SIZE)
    desc = manifest_descriptor(content, args.media_type)
    quiet = args.descriptor
    with target.open_target(args, text, write=True) as opened:
        reference = check_manifest_reference(desc, opened.reference)
        if names_digest(opened.store, reference, desc.digest):
            if not quiet:
                raw.status("Exists   ", desc)
        else:
            if not quiet:
                raw.status("Uploading", desc)
            put_manifest(opened.store, desc, content, reference)
            if not quiet:
                raw.status("Uploaded ", desc)
        if not quiet:
            say(f"Pushed: {opened.label}")

        def tag_one(tag: str) -> None:
            put_manifest(opened.store, desc, content, tag)
            if not quiet:
                say(f"Tagged {tag}")

        map_concurrently(tag_one, tags[1:], args.concurrency)
    if quiet:
        raw.print_descriptor(desc, args.pretty)
    else:
        say(f"Digest: {desc.digest}")
    return 0
