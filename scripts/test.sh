#!/usr/bin/env bash
# Set up everything on a fresh Debian machine, then run lint and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh --tests
.venv/bin/ruff check oras tests examples
.venv/bin/ruff format --check oras tests examples
# A whole run (CI) also tries the oldest and the newest Python the package claims.
[ $# -gt 0 ] || scripts/test-pythons.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
