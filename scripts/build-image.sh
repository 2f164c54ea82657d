#!/usr/bin/env bash
# Build the repository's Dockerfile with podman where no Docker engine runs and no public
# container registry is reachable:
#
#   scripts/build-image.sh [TAG]        (default TAG: oras-py)
#
# The Dockerfile's base image (debian:bookworm-slim) is made here with debootstrap from the
# Debian mirror in the apt sources, trimmed like the official slim image, and imported under
# the name the Dockerfile uses, so the build never pulls. The root filesystem tarball is cached
# in $ORAS_IMAGE_CACHE (default /var/cache/oras-py-test); podman keeps the image and the build
# layers, so a second build only reinstalls the package. pip in the build trusts the host's CA
# bundle ($ORAS_BUILD_CA, default $PIP_CERT or Debian's bundle), mounted for the build only.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-oras-py}
cache=${ORAS_IMAGE_CACHE:-/var/cache/oras-py-test}
podman=(podman --runtime runc --cgroup-manager cgroupfs)

base=$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile)
case "$base" in
  debian:*-slim) suite=${base#debian:}; suite=${suite%-slim} ;;
  *) echo "build-image.sh: cannot make the base image $base locally" >&2; exit 1 ;;
esac
base_ref="docker.io/library/$base"

# The first Debian archive (and its security archive) named in the apt sources.
apt_uris() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
    2>/dev/null | grep -E '^[[:space:]]*(URIs:|deb )' | grep -oE "https?://[^[:space:]]*/$1/?([[:space:]]|\$)" \
    | head -n 1 | tr -d '[:space:]' || true
}
mirror=$(apt_uris debian)
mirror=${mirror:-http://deb.debian.org/debian}
security=$(apt_uris debian-security)
security=${security:-http://deb.debian.org/debian-security}

make_rootfs() {  # $1: target tarball
  local rootfs
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  echo "build-image.sh: debootstrap --variant=minbase $suite from $mirror" >&2
  if ! debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1; then
    tail -n 20 "$cache/debootstrap.log" >&2
    rm -rf "$rootfs"
    return 1
  fi
  # What the official slim image does: no docs, man pages or locales, no package caches.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -rf "$rootfs"/usr/share/{man,info,groff}/* "$rootfs"/var/cache/apt/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/*
  tar --numeric-owner -C "$rootfs" -cf "$1.tmp" .
  mv "$1.tmp" "$1"
  rm -rf "$rootfs"
}

mkdir -p "$cache"
(
  flock 9  # concurrent runs make the base once
  if ! "${podman[@]}" image exists "$base_ref"; then
    tarball="$cache/debian-$suite-minbase.tar"
    [ -s "$tarball" ] || make_rootfs "$tarball"
    "${podman[@]}" import --change 'CMD ["bash"]' "$tarball" "$base_ref" >/dev/null
  fi
) 9>"$cache/base.lock"

ca=${ORAS_BUILD_CA:-${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}}
ca_args=()
if [ -f "$ca" ]; then
  # Its directory goes on /mnt, which the base image has: a bind-mount target that does not exist
  # would be left behind in the image as an empty file.
  ca=$(realpath "$ca")
  ca_args=(--volume "$(dirname "$ca"):/mnt:ro" --build-arg "PIP_CERT=/mnt/$(basename "$ca")")
fi
exec "${podman[@]}" build --pull=never --jobs 2 --network host "${ca_args[@]}" --tag "$tag" .
