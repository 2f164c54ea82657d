#!/usr/bin/env bash
# Install what the demo and the tests need on Debian: the registry, skopeo, htpasswd, a venv.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
if [ "${1:-}" = "--tests" ]; then
  command -v skopeo >/dev/null || need+=(skopeo)
  command -v htpasswd >/dev/null || need+=(apache2-utils)
  command -v setpriv >/dev/null || need+=(util-linux)
  command -v curl >/dev/null || need+=(curl)        # bench/: the raw-transfer baseline
  [ -x /usr/bin/time ] || need+=(time)              # bench/: peak RSS of each child
  # The container image test (tests/packaging/test_container.py): podman with runc, and
  # debootstrap to make the Dockerfile's Debian base locally (scripts/build-image.sh).
  command -v podman >/dev/null || need+=(podman)
  command -v runc >/dev/null || need+=(runc)
  command -v debootstrap >/dev/null || need+=(debootstrap)
fi
command -v python3 >/dev/null || need+=(python3 python3-venv)
install_packages() {
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  command -v apt-get >/dev/null || return 1
  [ -z "$SUDO" ] || command -v sudo >/dev/null || return 1
  $SUDO apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  # Debian's package may start a registry service of its own; ours pick their own ports.
}
if [ ${#need[@]} -gt 0 ]; then
  if [ "${1:-}" = "--tests" ] || [ "${need[*]}" != "docker-registry" ]; then
    install_packages
  elif ! install_packages; then
    # The demo alone: without Debian's registry (not Debian, no root) it runs the package's
    # own test registry (python -m oras.testing) instead.
    echo "note: could not install docker-registry; the demo uses oras.testing's registry" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
target="."
[ "${1:-}" = "--tests" ] && target=".[tests] ruff"
log=$(mktemp)
# shellcheck disable=SC2086
if ! .venv/bin/python -m pip install -e $target >"$log" 2>&1; then
  cat "$log"; rm -f "$log"; exit 1
fi
rm -f "$log"
.venv/bin/python -c "import oras" >/dev/null
