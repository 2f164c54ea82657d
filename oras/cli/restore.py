"""`oras-py restore`: copy tags of an OCI layout (dir or .tar) into a registry repository."""

from __future__ import annotations

import argparse

from oras.cli import options, target
from oras.cli.console import say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="<registry>/<repository>[:<tag>[,<tag>...]] (no tag: all)")
    parser.add_argument(
        "--input", required=True, metavar="PATH", help="layout directory or .tar file"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be restored, send nothing"
    )
    parser.add_argument(
        "--concurrency", type=int, default=5, help="nodes copied at once (default: 5)"
    )
    parser.add_argument(
        "--exclude-referrers",
        action="store_true",
        help="restore only the tags' own graphs, not the referrers the layout holds for them",
    )
    from oras.cli.referrers import add_distribution_spec

    add_distribution_spec(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.cli.events import RESTORE, EventPrinter
    from oras.content.layout import open_layout
    from oras.copy import CopyOptions, copy

    text, tags = target.repository_and_tags(args, "restore")
    with open_layout(args.input, "r") as layout:
        if not tags:
            from oras.referrers import is_referrers_tag

            # Tag-schema indexes are written again for the referrers that are restored.
            tags = [t for t in layout.tags() if args.exclude_referrers or not is_referrers_tag(t)]
        if not tags:
            raise ValueError(f"the OCI layout {args.input} has no tags to restore")
        if args.dry_run:
            for tag in tags:
                desc = layout.resolve(tag)
                say(f"Would restore {tag} {desc.digest}")
            return 0
        client = options.make_client(args, text)
        container = client.get_container(text)
        ref = container.to_reference()
        repository = client.repository(
            container, push=True, distribution_spec=args.distribution_spec
        )
        find = None
        if not args.exclude_referrers:
            from oras.referrers import find_referrers

            find = lambda desc: find_referrers(layout, desc)  # noqa: E731
        printer = EventPrinter(RESTORE, quiet=args.quiet)
        for tag in tags:
            desc = copy(
                layout,
                tag,
                repository,
                tag,
                CopyOptions(concurrency=args.concurrency, find_referrers=find, **printer.hooks()),
            )
            say(f"Restored [registry] {ref.registry}/{ref.repository}:{tag} {desc.digest}")
    say(f"Restored {len(tags)} tag(s) from [oci-layout] {args.input}")
    return 0
