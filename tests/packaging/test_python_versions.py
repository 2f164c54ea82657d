"""CI tries the Python versions the package claims: the oldest and the newest classifier."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_ROOT


def test_ci_runs_the_oldest_and_newest_python_claimed() -> None:
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    claimed = sorted(
        int(minor)
        for minor in re.findall(r'"Programming Language :: Python :: 3\.(\d+)"', pyproject)
    )
    assert f'requires-python = ">=3.{claimed[0]}"' in pyproject
    script = (PROJECT_ROOT / "scripts" / "test-pythons.sh").read_text(encoding="utf-8")
    default = re.search(r"versions=\((3\.[^)]*)\)", script)
    assert default is not None
    assert default.group(1).split() == [f"3.{claimed[0]}", f"3.{claimed[-1]}"]
    # and CI (scripts/test.sh, which .ci/run runs) calls it on a whole run
    assert "scripts/test-pythons.sh" in (PROJECT_ROOT / "scripts" / "test.sh").read_text()
    assert "scripts/test.sh" in (PROJECT_ROOT / ".ci" / "run").read_text()
