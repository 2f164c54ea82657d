#!/usr/bin/env bash
# Set up everything on a fresh Debian machine, then run lint and the whole test suite.
# With arguments, only `pytest ARGS` after set-up and lint.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh --tests
.venv/bin/ruff check oras tests examples
.venv/bin/ruff format --check oras tests examples
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
fi
# A whole run (CI) also tries the oldest and the newest Python the package claims.
scripts/test-pythons.sh
# One worker per core (pytest-xdist): most of the suite waits on CLI processes and registries,
# so two workers on two cores take 7 minutes where one took 16 on a slow machine.
.venv/bin/python -m pytest -q -p no:cacheprovider -n auto
# The main integration tests once more, with the plain registry fixtures served by the
# package's own test registry (oras.testing) instead of Distribution: both must pass them.
ORAS_TEST_REGISTRY=testing exec .venv/bin/python -m pytest -q -p no:cacheprovider \
  tests/integration/test_push_pull.py tests/integration/test_pull_files.py \
  tests/integration/test_transfers.py tests/integration/test_copy_commands.py \
  tests/integration/test_python_guide.py tests/integration/test_skopeo.py
