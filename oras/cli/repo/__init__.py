"""`oras-py repo` (`repository`): list the repositories of a registry and the tags of one."""

from __future__ import annotations

import argparse

from oras.cli.group import add_group, run_group

SUBCOMMANDS = ("ls", "tags")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    add_group(
        subparsers, "repo", "repository operations", __name__, SUBCOMMANDS, aliases=("repository",)
    )


def run(args: argparse.Namespace) -> int:
    return run_group(args)
