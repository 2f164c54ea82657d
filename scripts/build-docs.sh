#!/usr/bin/env bash
# Build the documentation site (docs/) into docs/_build/html, or the directory given, with
# warnings as errors. Installs the package with its `docs` extra into .venv/ first.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-docs/_build/html}
[ -x .venv/bin/python ] || python3 -m venv .venv
log=$(mktemp)
if ! .venv/bin/python -m pip install -e ".[docs]" >"$log" 2>&1; then
  cat "$log"; rm -f "$log"; exit 1
fi
rm -f "$log"
exec .venv/bin/python -m sphinx -W --keep-going -b html -d docs/_build/doctrees docs "$out"
