#!/usr/bin/env python3
"""A conda-mirror style custom client: read a package's metadata layer, download its archive.

Conda packages mirrored to an OCI registry are artifacts with (at least) two layers:

- `application/vnd.conda.info.index.v1+json`: the package's `info/index.json` (name, version,
  build, depends, ...), small enough to read straight into memory;
- `application/vnd.conda.package.v1`: the package archive itself (`.tar.bz2` or `.conda`).

`CondaMirror` subclasses `oras.provider.Registry` the way oras-py users write custom clients:
its methods take a `container` (a reference string or an `oras.container.Container`) and are
decorated with `@oras.decorator.ensure_container`, which turns a string into a `Container`.

Read a package (plain-HTTP registry, hence `--insecure`)::

    python examples/conda_mirror.py --insecure 127.0.0.1:5000/conda/zlib:1.2.13 -o downloads

Publish a package first (then read it back)::

    python examples/conda_mirror.py --insecure --publish index.json zlib-1.2.13-0.tar.bz2 \
        127.0.0.1:5000/conda/zlib:1.2.13

or, from Python::

    CondaMirror(insecure=True).push_package("127.0.0.1:5000/conda/zlib:1.2.13",
                                            "index.json", "zlib-1.2.13-0.tar.bz2")
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Optional

import requests

import oras.container
import oras.decorator
import oras.provider

#: Media type of the layer holding the package's `info/index.json`.
INDEX_MEDIA_TYPE = "application/vnd.conda.info.index.v1+json"
#: Media type of the layer holding the package archive.
PACKAGE_MEDIA_TYPE = "application/vnd.conda.package.v1"
#: The layer annotation naming the file a layer came from.
TITLE_ANNOTATION = "org.opencontainers.image.title"


class CondaMirror(oras.provider.Registry):
    """A registry client that understands conda package artifacts."""

    @oras.decorator.ensure_container
    def list_tags(self, container: oras.container.Container) -> list[str]:
        """Every tag (version) of the package repository."""
        return self.get_tags(container)

    @oras.decorator.ensure_container
    def get_package_manifest(self, container: oras.container.Container) -> dict[str, Any]:
        """The package's OCI manifest as a dict."""
        return self.get_manifest(container)

    @oras.decorator.ensure_container
    def get_layers(
        self,
        container: oras.container.Container,
        media_type: str,
        manifest: Optional[dict[str, Any]] = None,
    ) -> list[dict[str, Any]]:
        """The manifest's layer descriptors with `media_type`, in manifest order."""
        if manifest is None:
            manifest = self.get_package_manifest(container)
        return [
            layer for layer in manifest.get("layers", []) if layer.get("mediaType") == media_type
        ]

    @oras.decorator.ensure_container
    def get_index(
        self, container: oras.container.Container, manifest: Optional[dict[str, Any]] = None
    ) -> dict[str, Any]:
        """The package's `info/index.json`, read from its layer without touching the disk."""
        layer = self._single_layer(container, INDEX_MEDIA_TYPE, manifest)
        response = self.get_blob(container, layer["digest"])
        # get_blob returns the raw response (oras-py checks no status): check it here.
        self._check_200_response(response)
        index = response.json()
        if not isinstance(index, dict):
            raise ValueError(f"{container}: the {INDEX_MEDIA_TYPE} layer is not a JSON object")
        return index

    @oras.decorator.ensure_container
    def download_package(
        self,
        container: oras.container.Container,
        outdir: str,
        manifest: Optional[dict[str, Any]] = None,
    ) -> str:
        """Download the package archive into `outdir`; returns the file's path."""
        layer = self._single_layer(container, PACKAGE_MEDIA_TYPE, manifest)
        title = (layer.get("annotations") or {}).get(TITLE_ANNOTATION, "")
        # Only the base name: a title must never steer the download outside `outdir`.
        name = os.path.basename(title)
        if name in ("", ".", ".."):
            name = layer["digest"].replace(":", "-")
        return self.download_blob(container, layer["digest"], os.path.join(outdir, name))

    def push_package(self, target: str, index_path: str, package_path: str) -> requests.Response:
        """Publish `index_path` and `package_path` as a conda artifact; returns the manifest PUT."""
        return self.push(
            target=target,
            files=[f"{index_path}:{INDEX_MEDIA_TYPE}", f"{package_path}:{PACKAGE_MEDIA_TYPE}"],
            # The files may live anywhere, not only under the current directory.
            disable_path_validation=True,
        )

    def _single_layer(
        self,
        container: oras.container.Container,
        media_type: str,
        manifest: Optional[dict[str, Any]],
    ) -> dict[str, Any]:
        layers = self.get_layers(container, media_type, manifest=manifest)
        if len(layers) != 1:
            raise ValueError(f"{container}: expected one {media_type} layer, found {len(layers)}")
        return layers[0]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Show a conda package's name and version and download its archive."
    )
    parser.add_argument("target", help="<registry>/<repository>:<tag>")
    parser.add_argument(
        "--insecure", action="store_true", help="use plain HTTP (oras-py's meaning of insecure)"
    )
    parser.add_argument("-o", "--outdir", default=".", help="where to save the archive")
    parser.add_argument(
        "--publish",
        nargs=2,
        metavar=("INDEX_JSON", "PACKAGE"),
        help="push these two files as the package first",
    )
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point: print the package's name, version and tags, then the downloaded path."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (ValueError, OSError) as exc:  # oras raises ValueError subclasses for HTTP errors
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    mirror = CondaMirror(insecure=args.insecure)
    container = mirror.get_container(args.target)
    if args.publish:
        response = mirror.push_package(args.target, *args.publish)
        print(f"published: {container} {response.headers.get('Docker-Content-Digest', '')}")
    manifest = mirror.get_package_manifest(container)
    index = mirror.get_index(container, manifest=manifest)
    print(f"name: {index.get('name')}")
    print(f"version: {index.get('version')}")
    print(f"tags: {', '.join(mirror.list_tags(container))}")
    path = mirror.download_package(container, os.path.abspath(args.outdir), manifest=manifest)
    print(f"downloaded: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
