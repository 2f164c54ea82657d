"""`oras-py version`: the client and Python versions."""

from __future__ import annotations

import argparse
import platform

from oras.cli.console import say
from oras.version import __version__


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    subparsers.add_parser("version", help="show the version")


def run(args: argparse.Namespace) -> int:
    say(f"Version: {__version__}")
    say(f"Python version: {platform.python_version()}")
    return 0
