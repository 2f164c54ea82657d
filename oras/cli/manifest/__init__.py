"""`oras-py manifest`: fetch, push and delete manifests, fetch their config, build indexes."""

from __future__ import annotations

import argparse

from oras.cli.group import add_group, run_group

SUBCOMMANDS = ("fetch", "fetch_config", "push", "delete", "index")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_group(parser, __name__, SUBCOMMANDS)


def run(args: argparse.Namespace) -> int:
    return run_group(args)
