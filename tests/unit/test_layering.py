"""Dependencies run one way: CLI -> oras-py modules -> core (copy, stores, transport, packing, values).

Every module under `oras/` is parsed with `ast`; its imports (at module level, inside functions,
under `if TYPE_CHECKING`) are resolved to modules of the package and checked against the layers:

- the CLI (`oras.cli`, and the `__main__` modules: `python -m` entry points are command lines)
  may import anything, and nothing else in the library imports it;
- the oras-py modules (the names oras-py users import, below) may import the core and each other;
- everything else is core and imports only core modules.

A new module is core unless it is added to a layer here. An exception needs an entry in
`ALLOWED`, with the reason.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "oras"

CLI = "oras.cli"

#: The oras-py modules: the public names oras-py's users import, thin over the core.
ORAS_PY = (
    "oras.provider",
    "oras.client",
    "oras.container",
    "oras.oci",
    "oras.utils",
    "oras.layout",
    "oras.decorator",
    "oras.main",
    "oras.types",
    "oras.schemas",
    "oras.logger",
    # Not an oras-py name, but it adapts `oras.provider.Registry` (and a subclass's overridden
    # upload_blob, get_manifest, ...) to the core's store contracts, so it sits with the facades.
    "oras.hooks",
    # Push and pull as operations: packing or planning files (oras-py's rules: its config
    # and manifest schemas, its file-name checks) around one copy, shared by the facades and
    # the CLI.
    "oras.push",
    "oras.pull",
    # `Registry`'s single operations (blob, manifest, index, catalog, tags), a mixin of
    # `oras.provider.Registry` taking oras-py's container types.
    "oras.registry_operations",
    # `Registry`'s attach and get_referrers, a mixin of `oras.provider.Registry` as above.
    "oras.registry_referrers",
    # `Registry`'s login, logout and auth setters, a mixin of `oras.provider.Registry` as above.
    "oras.registry_auth",
    # `Registry`'s `do_request` and request headers, a mixin of `oras.provider.Registry` as above.
    "oras.registry_requests",
    # `Registry`'s push, pull, pull_manifest and resolve_manifest, a mixin as above.
    "oras.registry_transfers",
    # oras-py's older keywords and deprecated aliases, which the mixins above honour.
    "oras.legacy",
)

#: (importing module, imported module) -> why a core module may import an upper layer.
ALLOWED: dict[tuple[str, str], str] = {}


class Import(NamedTuple):
    module: str  # the importing module
    line: int
    target: str  # the imported module of the package

    def __str__(self) -> str:
        return f"{self.module} (line {self.line}) imports {self.target}"


def module_name(path: Path, root: Path = PACKAGE_DIR) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules(root: Path = PACKAGE_DIR) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(module: str) -> str:
    if _within(module, CLI) or module.rpartition(".")[2] == "__main__":
        return "cli"
    if any(_within(module, facade) for facade in ORAS_PY):
        return "oras-py"
    return "core"


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> Iterator[Import]:
    """The package's modules that `source` imports anywhere in its body.

    `from a import b` counts as importing `a.b` when that is a module, else `a` (which `b`
    comes from); relative imports are resolved against `module`.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _within(alias.name, "oras"):
                    yield Import(module, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            if not _within(base, "oras"):
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield Import(module, node.lineno, submodule if submodule in known else base)


@functools.lru_cache(maxsize=1)
def all_imports() -> tuple[Import, ...]:
    modules = package_modules()
    known = set(modules)
    found: list[Import] = []
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        found.extend(imports_of(source, name, path.name == "__init__.py", known))
    return tuple(found)


def test_the_layers_are_not_empty() -> None:
    """A renamed package must not make the checks below pass vacuously."""
    layers = {layer_of(name) for name in package_modules()}
    assert layers == {"cli", "oras-py", "core"}
    assert len(all_imports()) > 100


def test_core_imports_no_oras_py_module_and_no_cli() -> None:
    offending = [
        str(imp)
        for imp in all_imports()
        if layer_of(imp.module) == "core"
        and layer_of(imp.target) != "core"
        and (imp.module, imp.target) not in ALLOWED
    ]
    assert not offending, "core modules import upper layers:\n" + "\n".join(offending)


def test_library_does_not_import_the_cli() -> None:
    offending = [
        str(imp)
        for imp in all_imports()
        if layer_of(imp.module) != "cli" and layer_of(imp.target) == "cli"
    ]
    assert not offending, "the library imports the CLI:\n" + "\n".join(offending)


def test_allow_list_entries_are_still_needed() -> None:
    used = {(imp.module, imp.target) for imp in all_imports()}
    assert set(ALLOWED) <= used, set(ALLOWED) - used


def test_oras_py_names_are_the_core_objects() -> None:
    """What moved into the core is re-exported under its oras-py name, the very same object."""
    import oras.auth.base
    import oras.filenames
    import oras.log
    import oras.logger
    import oras.pack
    import oras.reference
    import oras.utils
    import oras.utils.fileio
    import oras.utils.request

    assert oras.utils.iter_localhosts is oras.reference.iter_localhosts
    assert oras.utils.request.iter_localhosts is oras.reference.iter_localhosts
    assert oras.utils.split_path_and_content is oras.pack.split_path_and_content
    assert oras.utils.fileio.split_path_and_content is oras.pack.split_path_and_content
    assert oras.utils.PathAndOptionalContent is oras.pack.PathAndOptionalContent
    assert oras.utils.fileio.check_path is oras.filenames.check_path
    assert oras.logger.logger is oras.log.logger is oras.auth.base.logger
    assert oras.logger.Logger is oras.log.Logger


# --- the checker itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import oras.utils", ["oras.utils"]),
        ("import oras.utils.fileio as f", ["oras.utils.fileio"]),
        ("from oras import utils, errors", ["oras.utils", "oras.errors"]),
        ("from oras.utils import iter_localhosts", ["oras.utils"]),
        ("def f():\n    from oras.container import Container\n", ["oras.container"]),
        ("class C:\n    def m(self):\n        import oras.cli.main\n", ["oras.cli.main"]),
        ("from ..utils import fileio", ["oras.utils.fileio"]),
        ("from . import base", ["oras.auth.base"]),
        ("import os\nfrom typing import Any\nimport orasx", []),
    ],
)
def test_imports_are_found_anywhere(source: str, expected: list[str]) -> None:
    known = {"oras", "oras.errors", "oras.utils", "oras.utils.fileio", "oras.auth.base"}
    found = imports_of(source, "oras.auth.token", is_package=False, known=known)
    assert [imp.target for imp in found] == expected


def test_layers_of_names() -> None:
    assert layer_of("oras.cli") == layer_of("oras.cli.push") == "cli"
    assert layer_of("oras.testing.__main__") == "cli" and layer_of("oras.testing") == "core"
    assert layer_of("oras.utils.fileio") == layer_of("oras.hooks") == "oras-py"
    # prefixes are whole components: oras.content is not oras.container, oras.log not oras.logger
    assert layer_of("oras.content.layout") == layer_of("oras.log") == "core"
    assert layer_of("oras.layout") == "oras-py" and layer_of("oras.remote.repository") == "core"
