"""pytest plugin loaded into the run of oras-py's own test suite (see test_upstream_suite.py).

It checks that `import oras` is the package under test, declares upstream's `with_auth` marker
(upstream declares it in its pyproject.toml, which the wheel does not ship), and shrinks the one
test whose size would not fit in CI: `test_chunked_push` pushes and pulls back a file of
`oras.defaults.default_chunksize * 1024` bytes, 16 GiB with the real value. During that test
only, the constant is 64 KiB, so the file is 64 MiB: still four 16 MiB chunks (push's
`chunk_size` default is bound when the module is imported and is not affected).
"""

from __future__ import annotations

import os

import pytest

import oras
import oras.defaults

#: oras.defaults.default_chunksize while test_chunked_push runs (its file is 1024 times this).
SCALED_CHUNKSIZE = 64 * 1024
_SCALED_TESTS = {"test_chunked_push"}
_saved: dict[str, int] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "with_auth(flag): upstream's mark for tests needing (or not) an auth registry"
    )
    expected = os.path.realpath(os.path.join(os.environ["ORAS_UNDER_TEST"], "oras"))
    found = os.path.realpath(os.path.dirname(oras.__file__))
    if found != expected:
        raise pytest.UsageError(
            f"'import oras' gives {found}, not the package under test {expected}"
        )


def pytest_report_header(config: pytest.Config) -> str:
    return f"oras under test: {os.path.dirname(oras.__file__)} ({oras.__version__})"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if getattr(item, "originalname", item.name) in _SCALED_TESTS:
        _saved["chunksize"] = oras.defaults.default_chunksize
        oras.defaults.default_chunksize = SCALED_CHUNKSIZE


def pytest_runtest_teardown(item: pytest.Item) -> None:
    if "chunksize" in _saved:
        oras.defaults.default_chunksize = _saved.pop("chunksize")
