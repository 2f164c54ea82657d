#!/usr/bin/env bash
# The main job, from nothing: install, start a local registry, push and pull an artifact, stop.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh
ORAS="$PWD/.venv/bin/oras-py"

work=$(mktemp -d)
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Debian's registry (CNCF Distribution) when it is installed; else, or with
# ORAS_DEMO_REGISTRY=testing, the test registry this package ships (python -m oras.testing).
if command -v docker-registry >/dev/null && [ "${ORAS_DEMO_REGISTRY:-}" != "testing" ]; then
  cat >"$work/config.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
  # Variables named REGISTRY_* would override the registry's config: start it without them.
  env $(env | awk -F= '/^REGISTRY_/{print "-u " $1}') docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
  registry_pid=$!
  registry_name="Distribution $(docker-registry --version | awk '{print $3}')"
else
  .venv/bin/python -m oras.testing --port "$port" --storage "$work/storage" >"$work/registry.log" 2>&1 &
  registry_pid=$!
  registry_name="oras.testing (the test registry shipped with the package)"
fi
cleanup() { kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 50); do
  python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/v2/')" 2>/dev/null && break
  sleep 0.1
done
echo "registry: $registry_name on localhost:$port (pid $registry_pid)"

ref="localhost:$port/dinosaur/artifact:v1"
cd "$work"
export DOCKER_CONFIG="$work/docker"
echo "hello dinosaur" >artifact.txt
echo
echo "\$ oras-py push $ref --manifest-config /dev/null:application/vnd.acme.rocket.config ./artifact.txt"
"$ORAS" push "$ref" --manifest-config /dev/null:application/vnd.acme.rocket.config ./artifact.txt
rm -f artifact.txt
echo
echo "\$ oras-py pull $ref"
"$ORAS" pull "$ref"
echo
echo "\$ cat artifact.txt"
cat artifact.txt
echo
echo "the manifest the registry stored:"
python3 - "$port" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/v2/dinosaur/artifact/manifests/v1",
    headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
)
with urllib.request.urlopen(req) as r:
    print("digest:", r.headers["Docker-Content-Digest"])
    print(json.dumps(json.loads(r.read()), indent=2))
PY
echo
echo "done: registry stopped, temporary files removed."
