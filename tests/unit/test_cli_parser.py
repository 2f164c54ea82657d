"""The command line's parser is built for the command that runs: the others are listed, not
built, and nothing of the network stack is imported to show help or refuse a command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from oras.cli.main import COMMANDS, build_parser, command_named, main

#: Modules a command line that sends nothing must not load (requests and below it).
NETWORK_MODULES = ("requests", "urllib3", "http.client", "ssl", "oras.client", "oras.errors")


def _loaded_after(argv: list[str]) -> tuple[int, str, list[str]]:
    """Run `oras-py ARGV` in a fresh interpreter: (exit status, stderr's last line, which of
    NETWORK_MODULES it loaded)."""
    code = (
        "import json, sys\n"
        "from oras.cli.main import main\n"
        "try:\n"
        "    status = main(json.loads(sys.argv[1]))\n"
        "except SystemExit as e:\n"
        "    status = e.code\n"
        f"loaded = [m for m in {NETWORK_MODULES!r} if m in sys.modules]\n"
        "sys.stdout.write('\\n' + json.dumps([status, loaded]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(argv)], capture_output=True, text=True, timeout=60
    )
    status, loaded = json.loads(done.stdout.splitlines()[-1])
    return status, (done.stderr.strip().splitlines() or [""])[-1], loaded


@pytest.mark.parametrize(
    "argv, status",
    [
        (["--help"], 0),
        ([], 2),
        (["no-such-command"], 2),
        (["push", "--help"], 0),
        (["pull", "--help"], 0),
        (["cp", "--help"], 0),
        (["blob", "push", "--help"], 0),
        (["manifest", "index", "create", "--help"], 0),
        (["push"], 2),  # no target: a usage error
        (["pull", "localhost:5000/x:v1", "--no-such-flag"], 2),
    ],
)
def test_help_and_usage_errors_load_no_network_code(argv: list[str], status: int) -> None:
    got, last, loaded = _loaded_after(argv)
    assert got == status, last
    assert loaded == []
    if status == 2:
        assert last.startswith(("Run 'oras-py", "Error: a command is required"))


def test_the_listing_matches_the_full_parser() -> None:
    full = build_parser()
    assert build_parser([]).format_help() == full.format_help()
    assert build_parser(["--quiet"]).format_help() == full.format_help()


def _subparser(parser: object, name: str) -> object:
    action = next(a for a in parser._actions if a.dest == "command")  # type: ignore[attr-defined]
    return action.choices[name]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_built_alone_is_the_command_built_with_all(name: str) -> None:
    alone = _subparser(build_parser(["--quiet", name, "x"]), name)
    together = _subparser(build_parser(), name)
    assert alone.format_help() == together.format_help()  # type: ignore[attr-defined]
    # and the others are left empty: no options beyond --help
    other = next(n for n in COMMANDS if n != name)
    assert len(_subparser(build_parser([name]), other)._actions) == 1  # type: ignore[attr-defined]


def test_an_alias_builds_and_names_its_command() -> None:
    assert command_named("copy") == "cp"
    assert command_named("repository") == "repo"
    assert command_named("nothing") is None
    args = build_parser(["copy", "a", "b"]).parse_args(["copy", "a", "b"])
    assert (args.command, args.source, args.destination) == ("cp", "a", "b")
    args = build_parser(["digest", "a"]).parse_args(["digest", "a"])
    assert args.command == "resolve"


@pytest.mark.parametrize(
    "word, said",
    [
        ("pusj", 'unknown command "pusj" for "oras-py" (did you mean "push"?)'),
        ("repositroy", 'unknown command "repositroy" for "oras-py" (did you mean "repository"?)'),
        ("zzz", 'unknown command "zzz" for "oras-py"'),
    ],
)
def test_an_unknown_command_is_one_line_with_the_nearest_name(
    word: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--quiet", word, "x"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"Error: {said}", "Run 'oras-py --help' for usage."]
