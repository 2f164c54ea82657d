"""`oras-py cp` (`copy`): copy an artifact between registries and OCI layouts."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Callable

from oras.cli import options, target
from oras.cli.console import UsageError, say
from oras.cli.progress import add_copy_concurrency

if TYPE_CHECKING:  # the CLI imports the library only when a command runs
    from oras.descriptor import Descriptor


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="<registry>/<repository>[:<tag>|@<digest>]")
    parser.add_argument("destination", help="<registry>/<repository>[:<tag>[,<tag>...]|@<digest>]")
    parser.add_argument(
        "-r",
        "--recursive",
        action="store_true",
        help="[Preview] also copy the referrers, and theirs, recursively",
    )
    parser.add_argument("--platform", help="os/arch[/variant]: copy only this entry of an index")
    parser.add_argument(
        "--force", action="store_true", help="copy every node, even those the destination has"
    )
    add_copy_concurrency(parser)
    options.add_ranges(parser)
    from oras.cli.referrers import add_distribution_spec

    add_distribution_spec(parser)
    for prefix in ("from", "to"):
        target.add_target(parser, prefix)
        target.add_prefixed(parser, prefix, options.add_remote)
        target.add_prefixed(parser, prefix, _registry_config)
    parser.add_argument(
        "--resolve",
        dest="base_resolve",
        action="append",
        default=[],
        metavar="HOST:PORT:ADDRESS[:ADDRESS_PORT]",
        help="as --from-resolve and --to-resolve together (theirs win for the same HOST:PORT)",
    )
    parser.add_argument(
        "--no-tty", action="store_true", help="accepted for Go oras; cp prints event lines only"
    )
    options.add_common(parser)


def _registry_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry-config", action="append", default=[], metavar="PATH", help="auth config file"
    )


def run(args: argparse.Namespace) -> int:
    from oras.cli.events import COPY, EventPrinter
    from oras.copy import CopyOptions, copy
    from oras.manifest import Platform
    from oras.reference import split_tags

    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    options.check_ranges(args)
    platform = Platform.parse(args.platform) if args.platform else None
    src_args, dst_args = target.side(args, "from"), target.side(args, "to")
    dst_text, extra_tags = args.destination, []
    if not (dst_args.oci_layout or dst_args.oci_layout_path) and "," in dst_text:
        dst_text, tags = split_tags(dst_text)
        extra_tags = tags[1:]
    with target.open_target(src_args, args.source) as src:
        mount_from = None
        if src.kind == target.REGISTRY and not (dst_args.oci_layout or dst_args.oci_layout_path):
            if options.registry_host(dst_text) == src.extra["registry"]:
                mount_from = src.extra["repository"]
        with target.open_target(dst_args, dst_text, write=True, mount_from=mount_from) as dst:
            same = (
                mount_from is not None
                and dst.extra.get("scheme") == src.extra.get("scheme")
                and dst.extra.get("repository") != mount_from
            )
            printer = EventPrinter(COPY, quiet=args.quiet)
            copy_options = CopyOptions(
                concurrency=args.concurrency,
                platform=platform,
                extra_tags=extra_tags,
                skip_existing=not args.force,
                mount_from=(lambda _d: [mount_from]) if same else None,
                find_referrers=_referrers_of(src.store) if args.recursive else None,
                **printer.hooks(),
            )
            desc = copy(src.store, src.reference, dst.store, dst.reference, copy_options)
    say(f"Copied {src.label} => {dst.label}")
    for tag in extra_tags:
        say(f"Tagged {tag}")
    say(f"Digest: {desc.digest}")
    return 0


def _referrers_of(store: object) -> Callable[[Descriptor], list[Descriptor]]:
    from oras.referrers import find_referrers

    return lambda desc: find_referrers(store, desc)
