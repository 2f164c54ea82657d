"""`oras-py repo` (`repository`): list the repositories of a registry and the tags of one."""

from __future__ import annotations

import argparse

from oras.cli.group import add_group, run_group

SUBCOMMANDS = ("ls", "tags")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_group(parser, __name__, SUBCOMMANDS)


def run(args: argparse.Namespace) -> int:
    return run_group(args)
