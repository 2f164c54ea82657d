"""`--format`: how a command renders its result (text lines, or one JSON document on stdout).

In JSON mode stdout carries the JSON document and nothing else: commands keep their status
lines and progress off stdout (`json_mode(args)` tells them), and logs go to stderr as always.
Go templates are not rendered: `--format go-template=...` and `--template` are refused with a
pointer at `--format json` (pipe it through `jq` for the same effect).
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any, Mapping

from oras.cli.console import _UNPRINTABLE, UsageError, write_stdout

TEXT = "text"
JSON = "json"

_NO_TEMPLATES = "Go templates are not supported by oras-py; use --format json (and jq) instead"


def add_format(
    parser: argparse.ArgumentParser,
    choices: tuple[str, ...] = (TEXT, JSON),
    default: str = TEXT,
) -> None:
    """Add `--format` (one of `choices`, or Go's `go-template[=...]`, refused when run) and
    Go's `--template`."""
    shown = "|".join(choices)
    parser.add_argument(
        "--format",
        default=default,
        metavar="FORMAT",
        help=f"output format: {shown} (default {default}); go-template is not supported",
    )
    parser.add_argument("--template", help=argparse.SUPPRESS)
    parser.set_defaults(_format_choices=choices)


def output_format(args: argparse.Namespace) -> str:
    """The format asked for; UsageError for a template or an unknown format."""
    value = getattr(args, "format", None) or TEXT
    if getattr(args, "template", None) or value.startswith("go-template"):
        raise UsageError(_NO_TEMPLATES)
    choices = getattr(args, "_format_choices", (TEXT, JSON))
    if value not in choices:
        raise UsageError(f"unknown --format {value!r}: use one of {', '.join(choices)}")
    return value


def json_mode(args: argparse.Namespace) -> bool:
    """Whether the command's result goes out as JSON (and nothing else may go to stdout)."""
    return output_format(args) == JSON


def print_json(value: Any) -> None:
    """One JSON document on stdout, indented by two spaces as Go `oras` prints it. Text stays
    UTF-8, but control and bidirectional characters are written as `\\uXXXX` escapes (valid
    JSON, inert on a terminal)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)  # escapes C0 controls in strings
    write_stdout(_UNPRINTABLE.sub(_json_escape, text) + "\n")


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    return char if char == "\n" else f"\\u{ord(char):04x}"  # "\n" only between values


def descriptor_json(name: str, desc: Mapping[str, Any]) -> dict[str, Any]:
    """Go `oras`'s descriptor in JSON output: `reference` (`<name>@<digest>`), then the OCI
    descriptor's `mediaType`, `digest`, `size`, and `annotations` and `artifactType` when set."""
    out: dict[str, Any] = {
        "reference": f"{name}@{desc['digest']}",
        "mediaType": desc.get("mediaType") or "",
        "digest": desc["digest"],
        "size": desc["size"],
    }
    for key in ("annotations", "artifactType"):
        if desc.get(key):
            out[key] = desc[key]
    return out
