"""`oras-py backup`: copy tags of a registry repository into an OCI layout (dir or .tar)."""

from __future__ import annotations

import argparse

from oras.cli import options, target
from oras.cli.console import say
from oras.cli.progress import add_copy_concurrency


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="<registry>/<repository>[:<tag>[,<tag>...]] (no tag: all)")
    parser.add_argument(
        "-o", "--output", required=True, metavar="PATH", help="layout directory or .tar file"
    )
    add_copy_concurrency(parser)
    parser.add_argument(
        "--include-referrers",
        action="store_true",
        help="also back up the referrers of each tag (and theirs), untagged in index.json",
    )
    from oras.cli.referrers import add_distribution_spec

    add_distribution_spec(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.cli.events import BACKUP, EventPrinter
    from oras.content.layout import open_layout
    from oras.copy import CopyOptions, copy

    text, tags = target.repository_and_tags(args, "backup")
    client = options.make_client(args, text)
    container = client.get_container(text)
    ref = container.to_reference()
    repository = client.repository(container, distribution_spec=args.distribution_spec)
    find = None
    if args.include_referrers:
        from oras.referrers import find_referrers, is_referrers_tag

        find = lambda desc: find_referrers(repository, desc)  # noqa: E731
    if not tags:
        tags = list(repository.tags())
        if find is not None:  # tag-schema indexes are written again for what is restored
            tags = [t for t in tags if not is_referrers_tag(t)]
        if not tags:
            raise ValueError(f"{ref.registry}/{ref.repository} has no tags to back up")
    printer = EventPrinter(BACKUP, quiet=args.quiet)
    with open_layout(args.output, "w") as layout:
        for tag in tags:
            desc = copy(
                repository,
                tag,
                layout,
                tag,
                CopyOptions(concurrency=args.concurrency, find_referrers=find, **printer.hooks()),
            )
            say(f"Backed up [registry] {ref.registry}/{ref.repository}:{tag} {desc.digest}")
    say(f"Saved {len(tags)} tag(s) to [oci-layout] {args.output}")
    return 0
