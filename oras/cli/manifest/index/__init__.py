"""`oras-py manifest index`: [Experimental] create and update image indexes."""

from __future__ import annotations

import argparse
from typing import Any

from oras.cli.group import add_group, run_group

SUBCOMMANDS = ("create", "update")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    summary = "[Experimental] index operations"
    add_group(
        subparsers.add_parser("index", help=summary, description=summary), __name__, SUBCOMMANDS
    )


def run(args: argparse.Namespace) -> int:
    return run_group(args)


def status_events(quiet: bool) -> Any:
    """IndexEvents printing Go `oras`'s status lines (none when `quiet`)."""
    from oras.cli.console import say
    from oras.index import IndexEvents

    if quiet:
        return IndexEvents()

    def fetched(prompt: str) -> Any:
        def line(reference: str, desc: Any) -> None:
            if ":" in reference:  # a digest names itself
                say(f"{prompt} {reference}")
            else:
                say(f"{prompt} {desc.digest} {reference}")

        return line

    return IndexEvents(
        on_fetching=lambda reference: say(f"Fetching  {reference}"),
        on_fetched=fetched("Fetched  "),
        on_added=fetched("Added    "),
        on_merged=fetched("Merged   "),
        on_removed=lambda digest: say(f"Removed   {digest}"),
    )


def write_or_push(
    args: argparse.Namespace,
    opened: Any,
    desc: Any,
    content: bytes,
    reference: str,
    tags: list[str],
    pushed_as: str,
) -> None:
    """`-o`: write the index (stdout or a file); otherwise push it and print `Pushed` and
    `Tagged` lines. Then `Digest:` unless the index went to stdout."""
    from oras.cli import raw
    from oras.cli.console import say
    from oras.index import push_index

    if args.output == "-":
        raw.print_json_bytes(content, args.pretty)
        return
    if args.output:
        raw.write_file(args.output, content)
    else:
        push_index(opened.store, content, "" if ":" in reference else reference)
        say(f"Pushed    {pushed_as}")
        for tag in tags:
            push_index(opened.store, content, tag)
            say(f"Tagged {tag}")
    say(f"Digest: {desc.digest}")


def add_index_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write the index to this file (- for stdout) instead of pushing it",
    )
    parser.add_argument(
        "--pretty", action="store_true", help="prettify JSON objects printed to stdout"
    )
