"""`oras-py repo tags` (`show-tags`): the tags of a repository (all pages)."""

from __future__ import annotations

import argparse

from oras.cli import options, output, target
from oras.cli.console import say


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tags",
        aliases=["show-tags"],
        help="show the tags of a repository",
        description="List the tags of a repository. With a tag or digest in the reference, "
        "only the tags of that manifest ([Experimental]: resolves every tag).",
    )
    parser.add_argument("target", help="<registry>/<repository>[:<tag>|@<digest>]")
    parser.add_argument("--last", help="start after this tag")
    parser.add_argument(
        "--exclude-digest-tags",
        action="store_true",
        help="[Preview] leave out digest-like tags such as sha256-aaaa...",
    )
    output.add_format(parser)
    target.add_target(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    import logging

    from oras.operations import list_tags

    as_json = output.json_mode(args)
    with target.open_target(args, args.target) as opened:
        wanted = _named_digest(opened, args.target)
        if wanted:
            logging.getLogger("oras.cli").warning(
                "[Experimental] querying tags associated to %s, it may take a while...", wanted
            )
        tags = list_tags(opened.store, args.last, args.exclude_digest_tags)
        if wanted:
            tags = [t for t in tags if opened.store.resolve(t).digest == wanted]
    if as_json:
        output.print_json({"tags": tags})
        return 0
    for tag in tags:
        say(tag)
    return 0


def _named_digest(opened: target.Opened, text: str) -> str:
    """The digest of the manifest the reference names, or "" when it names none."""
    reference = opened.reference
    if opened.kind == target.REGISTRY:
        from oras.reference import parse_reference

        parsed = parse_reference(text, require_registry=True)
        reference = parsed.digest or parsed.tag or ""
    if not reference:
        return ""
    if ":" in reference:
        return reference
    return opened.store.resolve(reference).digest
