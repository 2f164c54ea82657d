"""The documentation site builds without a warning, and every sample on its pages runs.

Samples are the fenced blocks of the Markdown pages under docs/, run in page order in a fresh
directory per page, against registries the test starts (the pages say `localhost:5000`; the
test puts in the real port):

- `console`: each `$ command` runs in bash; the lines under it are output that must appear
  (stdout or stderr, any order, `...` matches anything) and the exit status must be 0;
- `bash`/`sh`/`shell`: a script, which must exit 0;
- `python`: executed; `pycon`: run as a doctest. Both share one namespace per page;
- other languages (`json`, `text`, ...) are data and are not run.

An HTML comment right before a block steers it:

- `<!-- docs-test: skip REASON -->`: do not run the block (the reason is required);
- `<!-- docs-test: file NAME -->`: write the block to NAME in the page's directory;
- `<!-- docs-test: exit N -->`: the block's last command must exit with N;
- `<!-- docs-test: type ANSWER... -->`: run the block's command on a terminal and type one
  answer per prompt (prompts such as `Username:` and the echo are then part of the output);

and `<!-- docs-test: registry plain|basic -->` on its own switches the rest of the page to a
registry without auth (the default) or one with htpasswd auth (myuser/mypass).
"""

from __future__ import annotations

import doctest
import html
import io
import os
import re
import select
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import pytest
from markdown_it import MarkdownIt

from tests.harness.process import run_checked
from tests.harness.registry import RegistryServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DOCS = PROJECT_ROOT / "docs"
# benchmarks.md is the benchmark suite's output, measured and written by that suite.
NOT_SAMPLE_PAGES = {"benchmarks.md"}
PAGES = sorted(p.name for p in DOCS.glob("*.md") if p.name not in NOT_SAMPLE_PAGES)

DOCS_HOST = "localhost:5000"
BUILD_TIMEOUT = 300
COMMAND_TIMEOUT = 120

CONSOLE = {"console"}
SCRIPT = {"bash", "sh", "shell"}
PYTHON = {"python", "py"}
PYCON = {"pycon"}
DATA = {"json", "text", "txt", "yaml", "toml", "ini", "dockerfile", ""}
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(.*?)\s*-->", re.S)

# The sections of the reference user guide (../shared/reference/user-guide.md) that
# docs/user-guide.md keeps, each rewritten to be true for this code.
USER_GUIDE_SECTIONS = [
    "Installation",
    "PyPI",
    "Docker container",
    "Registry",
    "Command line",
    "Login",
    "Push",
    "Pull",
    "Within Python",
    "Login and Logout",
    "Push and Pull",
    "Custom Clients",
]
API_MODULES = [
    "oras.client",
    "oras.content",
    "oras.content.memory",
    "oras.content.layout",
    "oras.content.files",
    "oras.push",
    "oras.remote.repository",
    "oras.copy",
    "oras.manifest",
    "oras.provider",
    "oras.auth",
    "oras.container",
    "oras.oci",
    "oras.layout",
    "oras.errors",
    "oras.credentials",
    "oras.testing.registry",
    "oras.registry_operations",
    "oras.registry_referrers",
    "oras.registry_auth",
    "oras.registry_requests",
    "oras.operations",
    "oras.index",
]


# -- the pages' samples -------------------------------------------------------------------------
@dataclass
class Sample:
    """One fenced block and the directives in front of it."""

    page: str
    line: int
    language: str
    text: str
    directives: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"

    def directive(self, name: str) -> Optional[str]:
        """The argument of the `name` directive ('' when it has none), or None."""
        for directive in self.directives:
            word, _, rest = directive.partition(" ")
            if word == name:
                return rest.strip()
        return None


@dataclass
class RegistrySwitch:
    """A `registry NAME` directive: the page's later samples use that registry."""

    name: str


Step = Union[Sample, RegistrySwitch]
KNOWN_DIRECTIVES = {"skip", "file", "exit", "type"}


def page_steps(page: str) -> list[Step]:
    """The samples and registry switches of a page, in order."""
    tokens = MarkdownIt("commonmark").parse((DOCS / page).read_text(encoding="utf-8"))
    steps: list[Step] = []
    pending: list[str] = []
    for token in tokens:
        if token.type == "html_block":
            for directive in DIRECTIVE.findall(token.content):
                word, _, rest = directive.partition(" ")
                if word == "registry":
                    steps.append(RegistrySwitch(rest.strip()))
                elif word in KNOWN_DIRECTIVES:
                    pending.append(directive)
                else:
                    pytest.fail(f"docs/{page}: unknown docs-test directive {directive!r}")
        elif token.type == "fence":
            language = token.info.split()[0] if token.info.strip() else ""
            line = token.map[0] + 1 if token.map else 0
            if language.startswith("{"):  # a MyST directive (toctree, literalinclude, ...)
                assert not pending, f"docs/{page}:{line}: docs-test directive before {language}"
                continue
            steps.append(Sample(page, line, language, token.content, pending))
            pending = []
    assert not pending, f"docs/{page}: docs-test directives {pending} before no code block"
    return steps


# -- running them -------------------------------------------------------------------------------
def output_matches(expected: str, lines: list[str]) -> bool:
    """Whether `expected` (with `...` as a wildcard) matches one of the output lines."""
    pattern = ".*".join(re.escape(part) for part in expected.strip().split("..."))
    return any(re.fullmatch(pattern, line.strip()) for line in lines)


@dataclass
class Command:
    text: str
    expected: list[str]


def console_commands(sample: Sample) -> list[Command]:
    """`$ ` lines (with their `\\` continuations) and the output lines below each."""
    commands: list[Command] = []
    continued = False
    for raw in sample.text.splitlines():
        if continued:
            commands[-1].text += "\n" + raw
        elif raw.startswith("$ "):
            commands.append(Command(raw[2:], []))
        elif commands:
            if raw.strip():
                commands[-1].expected.append(raw)
        else:
            pytest.fail(f"{sample.where}: console output before any `$ ` command: {raw!r}")
        continued = raw.endswith("\\") and (continued or raw.startswith("$ "))
    assert commands, f"{sample.where}: a console block without a `$ ` command"
    return commands


class PageRun:
    """Runs one page's samples in order, in `workdir`, against registries started on demand."""

    def __init__(self, page: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.page = page
        self.workdir = workdir
        self.registries: dict[str, RegistryServer] = {}
        self.registry_name = "plain"
        self.namespace: dict[str, Any] = {"__name__": f"docs_{Path(page).stem}"}
        bin_dir = workdir.parent / "bin"
        bin_dir.mkdir(exist_ok=True)
        # `oras-py` and `python` are the checkout and this interpreter, whatever is on PATH.
        for name, target in (("oras-py", "-m oras.cli"), ("python", ""), ("python3", "")):
            shim = bin_dir / name
            shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {target} "$@"\n')
            shim.chmod(0o755)
        (workdir / "examples").symlink_to(PROJECT_ROOT / "examples")
        tmp = workdir.parent / "tmp"
        tmp.mkdir(exist_ok=True)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT))
        monkeypatch.setenv("TMPDIR", str(tmp))
        monkeypatch.setattr(tempfile, "tempdir", str(tmp))
        monkeypatch.chdir(workdir)
        # What a page's Python puts on sys.path, and imports from there, goes away with the page.
        monkeypatch.setattr(sys, "path", list(sys.path))
        self._modules = set(sys.modules)

    def close(self) -> None:
        # Only the page's own modules (from examples/ or its directory): dropping anything else
        # could give later tests a second copy of a library's classes.
        own = (str(self.workdir), str(PROJECT_ROOT / "examples"))
        for name in set(sys.modules) - self._modules:
            module_file = os.path.abspath(getattr(sys.modules[name], "__file__", None) or "/")
            if module_file.startswith(own):
                del sys.modules[name]
        for registry in self.registries.values():
            registry.stop()

    @property
    def registry(self) -> RegistryServer:
        name = self.registry_name
        if name not in self.registries:
            self.registries[name] = RegistryServer(name, workdir=self.workdir.parent / name)
            self.registries[name].start()
        return self.registries[name]

    def real(self, text: str) -> str:
        """The sample's text with the documented registry replaced by the running one."""
        if DOCS_HOST not in text:
            return text
        return text.replace(DOCS_HOST, f"localhost:{self.registry.port}")

    def run(self, step: Step) -> None:
        if isinstance(step, RegistrySwitch):
            assert step.name in ("plain", "basic"), f"docs/{self.page}: registry {step.name}?"
            self.registry_name = step.name
            return
        sample = step
        skip = sample.directive("skip")
        if skip is not None:
            assert skip, f"{sample.where}: `skip` needs a reason"
            return
        filename = sample.directive("file")
        if filename:
            (self.workdir / filename).write_text(self.real(sample.text), encoding="utf-8")
            return
        if sample.language in CONSOLE:
            self.run_console(sample)
        elif sample.language in SCRIPT:
            self.run_script(sample)
        elif sample.language in PYTHON:
            code = compile(self.real(sample.text), sample.where, "exec")
            exec(code, self.namespace)
        elif sample.language in PYCON:
            self.run_pycon(sample)
        elif sample.language not in DATA:
            pytest.fail(f"{sample.where}: no rule for {sample.language!r} blocks (run or data?)")

    def run_console(self, sample: Sample) -> None:
        commands = console_commands(sample)
        exit_status = int(sample.directive("exit") or 0)
        answers = sample.directive("type")
        for index, command in enumerate(commands):
            text = self.real(command.text)
            want = exit_status if index == len(commands) - 1 else 0
            if answers is not None:
                status, output = run_on_terminal(text, answers.split(), self.workdir)
            else:
                result = subprocess.run(
                    ["bash", "-o", "pipefail", "-c", text],
                    cwd=self.workdir,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=COMMAND_TIMEOUT,
                    check=False,
                )
                status, output = result.returncode, result.stdout + result.stderr
            lines = output.splitlines()
            missing = [e for e in command.expected if not output_matches(self.real(e), lines)]
            if status != want or missing:
                pytest.fail(
                    f"{sample.where}: `{text}` exited {status} (the page wants {want})\n"
                    f"lines the page shows but the command did not print: {missing}\n"
                    f"--- output ---\n{output}"
                )

    def run_script(self, sample: Sample) -> None:
        run_checked(
            ["bash", "-e", "-o", "pipefail", "-c", self.real(sample.text)],
            f"{sample.where}: the script",
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT,
        )

    def run_pycon(self, sample: Sample) -> None:
        test = doctest.DocTestParser().get_doctest(
            self.real(sample.text), self.namespace, sample.where, sample.where, sample.line
        )
        runner = doctest.DocTestRunner(
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
        )
        report = io.StringIO()
        runner.run(test, out=report.write, clear_globs=False)
        self.namespace.update(test.globs)  # DocTest works on a copy of the namespace
        if runner.failures:
            pytest.fail(f"{sample.where}: the doctest failed\n{report.getvalue()}")


def run_on_terminal(command: str, answers: list[str], cwd: Path) -> tuple[int, str]:
    """Run `command` on a new terminal, typing one answer per prompt; (status, what it showed)."""
    import pty

    master, slave = pty.openpty()
    # `setsid --ctty` makes the terminal the command's controlling one, so that getpass can
    # switch off echo as it does for a person.
    process = subprocess.Popen(
        ["setsid", "--ctty", "--wait", "bash", "-c", command],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        close_fds=True,
    )
    os.close(slave)
    shown, answered_at = b"", 0
    deadline = time.monotonic() + COMMAND_TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the command has closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if answers and shown[answered_at:].rstrip().endswith(b":"):
                os.write(master, answers.pop(0).encode() + b"\n")
                answered_at = len(shown)
        else:
            process.kill()
            pytest.fail(f"`{command}` did not finish within {COMMAND_TIMEOUT} s on a terminal")
        status = process.wait(timeout=COMMAND_TIMEOUT)
    finally:
        os.close(master)
    return status, shown.decode(errors="replace").replace("\r\n", "\n")


@pytest.mark.parametrize("page", PAGES)
def test_page_samples_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = page_steps(page)
    workdir = tmp_path / "page"
    workdir.mkdir()
    run = PageRun(page, workdir, monkeypatch)
    try:
        for step in steps:
            run.run(step)
    finally:
        run.close()


# -- the built site -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`sphinx-build -W` of docs/ into a temporary directory; the HTML directory."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q"]
        + ["-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    if result.returncode != 0 or "WARNING" in result.stderr:
        pytest.fail(f"the docs do not build cleanly:\n{result.stderr}{result.stdout[-3000:]}")
    yield out / "html"


def test_every_page_is_built(site: Path) -> None:
    for page in PAGES:
        assert (site / page.replace(".md", ".html")).is_file(), page


def section(page_html: str, section_id: str) -> str:
    """The HTML of the `<section>` whose id matches the pattern `section_id` (a command with
    aliases has them appended to its id: `oras-py-cp-copy`), nested sections included."""
    found = re.search(rf'<section id="{section_id}(-[a-z-]+)?"', page_html)
    if found is None:
        raise AssertionError(f"no section {section_id}")
    start = found.start()
    depth = 0
    for match in re.finditer(r"<section\b|</section>", page_html[start:]):
        depth += 1 if match.group() == "<section" else -1
        if depth == 0:
            return page_html[start : start + match.end()]
    raise AssertionError(f"unclosed section {section_id}")


def parser_commands(
    parser: Any, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(command path, parser) for the top-level parser and every (nested) subcommand."""
    import argparse

    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                if name in {a.dest for a in action._choices_actions}:
                    yield from parser_commands(subparser, (*path, name))


def test_cli_reference_lists_every_command_and_flag(site: Path) -> None:
    import argparse

    from oras.cli.main import build_parser

    page_html = (site / "cli.html").read_text(encoding="utf-8")
    commands = list(parser_commands(build_parser()))
    assert len(commands) > 1
    for path, parser in commands:
        # A group's aliases follow its name in the ids of its subcommands too
        # (`oras-py-repo-repository-ls-list`).
        section_id = (
            "(?:-[a-z-]+)?-".join(re.escape(p) for p in ("oras-py", *path)) if path else "commands"
        )
        shown = {
            name.strip()
            for kbd in re.findall(r"<kbd>(.*?)</kbd>", section(page_html, section_id))
            for name in html.unescape(kbd).split(",")
        }
        for action in parser._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            if action.option_strings:
                names = action.option_strings
            elif isinstance(action, argparse._SubParsersAction):
                names = [action.metavar or action.dest]
            else:
                names = [action.metavar or action.dest]
            for name in names:
                assert name in shown, f"`oras-py {' '.join(path)}`: {name} is not in cli.html"


def test_api_reference_documents_every_module(site: Path) -> None:
    page_html = (site / "api.html").read_text(encoding="utf-8")
    for module in API_MODULES:
        assert f'id="module-{module}"' in page_html, module
    for name in ("oras.provider.Registry", "oras.provider.Registry.push", "oras.errors.OrasError"):
        assert f'id="{name}"' in page_html, name


def test_user_guide_keeps_every_section_of_the_reference_guide() -> None:
    tokens = MarkdownIt("commonmark").parse((DOCS / "user-guide.md").read_text(encoding="utf-8"))
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    for title in USER_GUIDE_SECTIONS:
        assert title in headings, f"user-guide.md has no section {title!r}"


def plain_text(markup: str) -> str:
    """HTML without tags, entities or runs of whitespace."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_performance_page_shows_the_benchmark_results(site: Path) -> None:
    page_text = plain_text((site / "performance.html").read_text(encoding="utf-8"))
    assert "Performance" in page_text
    benchmarks = DOCS / "benchmarks.md"
    if benchmarks.exists():  # its first heading or paragraph is on the page
        markdown = MarkdownIt("commonmark")
        tokens = markdown.parse(benchmarks.read_text(encoding="utf-8"))
        first = next(t for t in tokens if t.type == "inline")
        assert plain_text(markdown.renderInline(first.content)) in page_text
