"""`--format` handling shared by the commands: JSON on stdout, templates refused."""

from __future__ import annotations

import argparse
import json

import pytest

from oras.cli.console import UsageError
from oras.cli.output import add_format, json_mode, output_format, print_json


def _parse(*argv: str, choices: tuple[str, ...] = ("text", "json")) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_format(parser, choices)
    return parser.parse_args(list(argv))


def test_default_is_text_and_json_is_recognised() -> None:
    assert output_format(_parse()) == "text"
    assert json_mode(_parse("--format", "json"))


@pytest.mark.parametrize(
    "argv", [("--format", "go-template={{.digest}}"), ("--template", "{{.digest}}")]
)
def test_templates_point_at_json(argv: tuple[str, ...]) -> None:
    with pytest.raises(UsageError, match="--format json"):
        output_format(_parse(*argv))


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(UsageError, match="tree, json"):
        output_format(_parse("--format", "yaml", choices=("tree", "json")))


def test_json_is_valid_and_control_characters_are_escaped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    value = {"title": "a\u202eb\x1b[2J\x85", "size": 3, "é": ["x"]}
    print_json(value)
    out = capsys.readouterr().out
    assert json.loads(out) == value
    assert "\x1b" not in out and "\u202e" not in out and "\x85" not in out
    assert out.startswith('{\n  "title"') and out.endswith("}\n")
