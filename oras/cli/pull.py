"""`oras-py pull`: download an artifact's files."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from oras.cli import options
from oras.cli.console import UsageError
from oras.cli.progress import add_transfer_flags, make_renderer
from oras.concurrency import PULL_CONCURRENCY

if TYPE_CHECKING:  # the CLI imports the library only when a command runs
    from oras.provider import Registry


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pull", help="pull files from a registry")
    parser.add_argument("target", help="<registry>/<repository>[:<tag>|@<digest>]")
    parser.add_argument(
        "-o",
        "--output",
        default=".",
        help="output directory (default: .); '-' writes the artifact's only file to stdout, "
        "and only once it is verified: it is held in memory up to 16 MiB, beyond that in a "
        "temporary file, so nothing unverified is ever written",
    )
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
    add_transfer_flags(parser, PULL_CONCURRENCY)
    options.add_remote(parser, insecure_aliases=("-i",))
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    client = options.make_client(args, args.target)
    if args.output == "-":
        return _pull_to_stdout(client, args)
    renderer = make_renderer(args.no_tty or args.debug, args.quiet)
    try:
        client.pull(
            target=args.target,
            outdir=args.output,
            overwrite=not args.keep_old_files,
            allowed_media_type=args.allowed_media_type or None,
            concurrency=args.concurrency,
            progress=renderer,
            # Go oras's rules: untitled layers are skipped, only marked layers are unpacked.
            skip_untitled=True,
            unpack_all_targz=False,
        )
    finally:
        if renderer is not None:
            renderer.close()
    return 0


#: `-o -` holds a blob up to this size in memory until it is verified; a larger one goes to an
#: unnamed temporary file (gone when closed, even if the process is killed).
STDOUT_SPOOL_IN_MEMORY = 16 * 1024 * 1024


def _pull_to_stdout(client: Registry, args: argparse.Namespace) -> int:
    """`-o -`: write the artifact's single file to standard output once it is verified."""
    import shutil
    import tempfile

    from oras.defaults import empty_media_type

    container, manifest = client.resolve_manifest(args.target, args.allowed_media_type or None)
    layers = [
        layer
        for layer in manifest.get("layers") or []
        if layer.get("mediaType") != empty_media_type
    ]
    if len(layers) != 1:
        raise ValueError(
            f"-o - needs an artifact with exactly one file; {args.target} has {len(layers)} "
            "(pull into a directory instead)"
        )
    # Verified first, written after: a blob that fails its digest never reaches the reader.
    with tempfile.SpooledTemporaryFile(max_size=STDOUT_SPOOL_IN_MEMORY) as spool:
        client.fetch_blob_to(container, layers[0], spool)  # type: ignore[arg-type]
        spool.seek(0)
        shutil.copyfileobj(spool, sys.stdout.buffer, 1024 * 1024)
    sys.stdout.buffer.flush()
    return 0
