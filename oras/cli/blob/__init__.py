"""`oras-py blob`: fetch, push and delete single blobs."""

from __future__ import annotations

import argparse

from oras.cli.group import add_group, run_group

SUBCOMMANDS = ("fetch", "push", "delete")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_group(parser, __name__, SUBCOMMANDS)


def run(args: argparse.Namespace) -> int:
    return run_group(args)


def blob_digest(opened: object, text: str) -> str:
    """The digest a `<name>@<digest>` reference names (UsageError for a tag or nothing)."""
    from oras.cli.console import UsageError

    reference = getattr(opened, "reference", "")
    if ":" not in reference:
        raise UsageError(f"{text}: a blob is named by digest: <name>@<digest>")
    return reference
