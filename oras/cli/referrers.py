"""Flags shared by the commands that read or write referrers (`attach`, `discover`, `cp`,
`backup`, `restore`, `manifest push`, `manifest delete`)."""

from __future__ import annotations

import argparse

#: The `--distribution-spec` values (oras.referrers.DISTRIBUTION_SPECS, not imported here
#: so that building the parser stays light).
DISTRIBUTION_SPECS = ("v1.1-referrers-api", "v1.1-referrers-tag")


def add_distribution_spec(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--distribution-spec",
        choices=DISTRIBUTION_SPECS,
        help="how the registry keeps referrers: its referrers API or the tag schema "
        "(default: detected)",
    )
