"""`oras-py completion bash|zsh|fish`: scripts made from the parser; the bash one is sourced in
bash and asked what it completes."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from oras.cli.completion import bash_script, walk
from tests.conftest import CliRunner


def _complete(script: Path, *words: str) -> list[str]:
    """What the script's function offers for the words typed (the last one being completed)."""
    quoted = " ".join(f"'{w}'" for w in words)
    program = (
        f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
        'COMP_LINE="${COMP_WORDS[*]}"; _oras_py_complete; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return sorted(line for line in done.stdout.splitlines() if line)


def test_bash_completion_from_the_parser(oras_cli: CliRunner, tmp_path: Path) -> None:
    made = oras_cli("completion", "bash")
    assert made.returncode == 0, made.stderr
    script = tmp_path / "oras-py.bash"
    script.write_text(made.stdout)
    assert _complete(script, "oras-py", "pu") == ["pull", "push"]
    assert _complete(script, "oras-py", "push", "--con") == ["--concurrency", "--config"]
    assert _complete(script, "oras-py", "--quiet", "cop") == ["copy"]
    assert "--to-header" in _complete(script, "oras-py", "cp", "--to-h")
    assert _complete(script, "oras-py", "completion", "") == ["bash", "fish", "zsh"]
    # after the command, a word that is not a flag is a file (bash's default completion)
    assert _complete(script, "oras-py", "push", "localhost:5000/x:y", "") == []
    # hidden flags (help suppressed) are not offered
    assert "--verbose" not in _complete(script, "oras-py", "pull", "--")
    registered = subprocess.run(
        ["bash", "-c", f"source {script}; complete -p oras-py"], capture_output=True, text=True
    )
    assert "-F _oras_py_complete" in registered.stdout


def test_nested_commands_complete_level_by_level(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="oras-py")
    groups = parser.add_subparsers()
    blob = groups.add_parser("blob").add_subparsers()
    fetch = blob.add_parser("fetch", aliases=["get"])
    fetch.add_argument("--descriptor", action="store_true")
    blob.add_parser("push").add_argument("--size")
    script = tmp_path / "nested.bash"
    script.write_text(bash_script(walk(parser)))
    assert _complete(script, "oras-py", "bl") == ["blob"]
    assert _complete(script, "oras-py", "blob", "") == ["fetch", "get", "push"]
    assert _complete(script, "oras-py", "blob", "get", "--d") == ["--descriptor"]
    assert _complete(script, "oras-py", "blob", "push", "--s") == ["--size"]


def test_zsh_and_fish_scripts(oras_cli: CliRunner) -> None:
    zsh = oras_cli("completion", "zsh")
    assert zsh.returncode == 0
    assert zsh.stdout.startswith("#compdef oras-py\n") and "bashcompinit" in zsh.stdout
    assert "complete -o default -F _oras_py_complete oras-py" in zsh.stdout
    fish = oras_cli("completion", "fish").stdout.splitlines()
    assert (
        "complete -c oras-py -n '__fish_use_subcommand' -a push -d 'push files to a registry'"
        in fish
    )
    assert any(
        line.startswith(
            "complete -c oras-py -n '__fish_seen_subcommand_from push' -l concurrency -r"
        )
        for line in fish
    )
    assert any("-s H -l header -r" in line for line in fish)
    bad = oras_cli("completion", "powershell")
    assert bad.returncode == 2 and bad.stderr.startswith("Error: ")
