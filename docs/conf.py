"""Sphinx configuration of the oras-py documentation site (`scripts/build-docs.sh` builds it)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
# autodoc and the CLI reference import the checkout, not whatever `oras` is installed.
sys.path.insert(0, str(DOCS.parent))

from oras.version import __version__  # noqa: E402

project = "oras-py"
author = "oras-py contributors"
copyright = "oras-py contributors"
release = __version__
version = __version__

extensions = [
    "myst_parser",  # the pages are Markdown
    "sphinx.ext.autodoc",  # the Python API reference, from docstrings
    "sphinx.ext.viewcode",  # links from the API reference to the source
    "sphinxarg.ext",  # the CLI reference, from oras.cli.main.build_parser()
]
source_suffix = {".md": "markdown"}
root_doc = "index"
# benchmarks.md is written by the benchmark suite and included by performance.md.
exclude_patterns = ["_build", "benchmarks.md"]

myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}

# Option names in the CLI reference keep their "--".
smartquotes = False

html_theme = "alabaster"
html_title = f"oras-py {__version__}"
html_theme_options = {"description": "OCI Registry as Storage, in Python", "fixed_sidebar": True}
html_static_path: list[str] = []

BENCHMARKS = DOCS / "benchmarks.md"
BENCHMARKS_MARKER = "<!-- benchmark results -->"


# The docstrings mark code Markdown-style, with single backticks: make those RST literals.
_MARKDOWN_CODE = re.compile(r"(?<![`\w:])`([^`\n]+)`(?![`\w_])")


def _markdown_code_to_rst(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    for i, line in enumerate(lines):
        lines[i] = _MARKDOWN_CODE.sub(lambda m: f"``{m.group(1).strip()}``", line)


def _heading_levels(text: str) -> list[int]:
    """Levels of the Markdown headings in `text` (code blocks ignored)."""
    from markdown_it import MarkdownIt

    return [int(t.tag[1]) for t in MarkdownIt().parse(text) if t.type == "heading_open"]


def _benchmark_results() -> str:
    """An include of benchmarks.md with its headings under the page's title, if it exists."""
    if not BENCHMARKS.exists():
        return "No benchmark results have been recorded yet."
    levels = _heading_levels(BENCHMARKS.read_text(encoding="utf-8"))
    offset = max(0, 2 - min(levels)) if levels else 0
    return f"```{{include}} benchmarks.md\n:heading-offset: {offset}\n```\n"


def _include_benchmarks(app: Any, docname: str, source: list[str]) -> None:
    if docname == "performance":
        source[0] = source[0].replace(BENCHMARKS_MARKER, _benchmark_results())


def setup(app: Any) -> dict[str, Any]:
    app.connect("source-read", _include_benchmarks)
    app.connect("autodoc-process-docstring", _markdown_code_to_rst)
    return {"parallel_read_safe": True}
