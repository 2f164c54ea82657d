"""Command groups (`blob`, `manifest`, `repo`, `manifest index`): a command whose subcommands
live in one module each, every module with `add_parser(subparsers)` and `run(args)`."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from oras.cli.console import UsageError


def add_group(
    parser: argparse.ArgumentParser, package: str, modules: tuple[str, ...]
) -> argparse.ArgumentParser:
    """Make `parser` a group: a subcommand from each module of `package`."""
    parser.set_defaults(**{_dest(parser): None})
    inner = parser.add_subparsers(dest=_dest(parser), metavar="COMMAND")
    for module_name in modules:
        module = importlib.import_module(f"{package}.{module_name}")
        before = set(inner.choices)
        module.add_parser(inner)
        for added in set(inner.choices) - before:
            subparser = inner.choices[added]
            if subparser.get_default("_group") is None:  # a nested group runs its own
                subparser.set_defaults(_run=module.run)
    parser.set_defaults(_group=parser)
    return parser


def _dest(parser: argparse.ArgumentParser) -> str:
    return "subcommand_" + parser.prog.replace(" ", "_").replace("-", "_")


def run_group(args: argparse.Namespace) -> int:
    """Run the subcommand given, or say which ones there are."""
    runner: Any = getattr(args, "_run", None)
    if runner is None:
        group = args._group
        names = ", ".join(a.dest for a in group._subparsers._group_actions[0]._choices_actions)
        raise UsageError(f"'{group.prog}' needs a command: {names}")
    return int(runner(args) or 0)
