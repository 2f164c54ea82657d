#!/usr/bin/env bash
# The oldest and the newest Python that pyproject.toml claims (3.9 and 3.13), from the machine's
# pyenv: compile the package, run the unit tests and a push/pull round trip (library and CLI)
# against a real registry. Both run at once, each in its own venv under .cache/pythons/ (the
# runtime and test dependencies only; the package is imported from the checkout).
# Usage: scripts/test-pythons.sh [version...]   (default: 3.9 3.13; needs scripts/setup-deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.9 3.13)
round_trip=(
  tests/integration/test_push_pull.py::test_push_matches_oras_py_bytes_and_pull_round_trips
  tests/integration/test_cli_guide.py::test_push_and_pull_guide_exact
  tests/integration/test_cli_json.py::test_pull_json_lists_the_files_written
)
# pyproject's runtime dependencies, and the test extra's pytest, cryptography and hypothesis (read with the
# main venv's Python, which has tomllib).
mapfile -t requirements < <(.venv/bin/python - <<'PY'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
tests = project["optional-dependencies"]["tests"]
for requirement in project["dependencies"] + [
    r for r in tests if r.startswith(("pytest", "cryptography", "hypothesis"))
]:
    print(requirement)
PY
)
pyenv_root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")

find_python() {  # the newest installed patch release of $1
  find "$pyenv_root/versions" -maxdepth 3 -path "*/versions/$1.*/bin/python$1" 2>/dev/null \
    | sort -V | tail -1
}

run_one() {
  local version=$1 python venv=.cache/pythons/$1
  python=$(find_python "$version")
  if [ -z "$python" ]; then
    echo "Python $version is not installed in $pyenv_root/versions"
    return 1
  fi
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${requirements[@]}"
  "$venv/bin/python" -m compileall -q oras
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit "${round_trip[@]}" \
    | tail -n 15
}

mkdir -p .cache/pythons
pids=()
for version in "${versions[@]}"; do
  run_one "$version" >".cache/pythons/$version.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!versions[@]}"; do
  if wait "${pids[$i]}"; then
    echo "Python ${versions[$i]}: $(tail -n 1 ".cache/pythons/${versions[$i]}.log")"
  else
    status=1
    echo "Python ${versions[$i]} failed:"
    cat ".cache/pythons/${versions[$i]}.log"
  fi
done
exit $status
