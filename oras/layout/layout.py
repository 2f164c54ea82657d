"""An OCI image layout on disk: validate it, walk its graph, copy it to and from a registry."""

from __future__ import annotations

import logging
import os
import pathlib
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

import requests

import oras.defaults as defaults
from oras.container import Container
from oras.descriptor import (
    ACCEPTED_MANIFEST_TYPES,
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    MAX_MANIFEST_SIZE,
    Descriptor,
    parse_manifest,
)
from oras.digest import Hasher, digest_file, split_digest, validate_digest
from oras.errors import DigestMismatchError, InvalidDigestError, ProtocolError
from oras.layout.validation import read_index, validate_layout
from oras.logger import logger as logger  # oras-py's module-level name
from oras.utils.fileio import write_file, write_json

if TYPE_CHECKING:
    from oras.provider import Registry

__all__ = ["Layout", "NewLayout", "NewLayoutFromRegistry"]

log = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

_KNOWN_MANIFEST_TYPES = MANIFEST_MEDIA_TYPES | INDEX_MEDIA_TYPES


@dataclass(frozen=True)
class _Node:
    """One blob of a layout's graph; a manifest node carries the manifest's own media type."""

    descriptor: Descriptor
    is_manifest: bool


def NewLayout(path: PathLike, validate: bool = True) -> Layout:
    """A Layout for the directory at `path`, validated unless `validate` is False."""
    return Layout(path=path, validate=validate)


def NewLayoutFromRegistry(
    path: PathLike, provider: Registry, target: str, tag: str = defaults.default_tag
) -> Layout:
    """Pull `target` into a new layout at `path`, tagged `tag` in its `index.json`.

    `path` must not exist (it is created) or be an empty directory; on failure whatever
    was written there is removed again.
    """
    directory = pathlib.Path(path)
    created = False
    if directory.exists():
        if not directory.is_dir():
            raise ValueError(f"Path exists and is not a directory: {os.fspath(path)}")
        if any(directory.iterdir()):
            raise FileExistsError(f"Directory is not empty: {os.fspath(path)}")
    else:
        directory.mkdir(parents=True)
        created = True
    layout = Layout(path=path, validate=False)
    try:
        layout.pull_from_registry(provider, target, tag=tag)
    except BaseException:
        _remove_partial_layout(directory, created)
        raise
    return layout


class Layout:
    """An OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<encoded>`)."""

    _oci_layout_path: str

    def __init__(self, path: PathLike, validate: bool = True) -> None:
        self._oci_layout_path = os.fspath(path)
        if validate:
            self.validate()

    def __repr__(self) -> str:
        return f"Layout({self._oci_layout_path!r})"

    @property
    def path(self) -> pathlib.Path:
        """The layout directory, as given."""
        return pathlib.Path(self._oci_layout_path)

    def validate(self) -> str:
        """Check the layout's structure; returns its resolved absolute path."""
        return validate_layout(self._oci_layout_path)

    @staticmethod
    def is_oci_layout(path: PathLike) -> bool:
        """True when `path` passes validation."""
        try:
            validate_layout(path)
        except (OSError, ValueError):
            return False
        return True

    def digest_to_blob_path(self, digest: str) -> pathlib.Path:
        """`<layout>/blobs/<algorithm>/<encoded>`; an invalid digest raises InvalidDigestError."""
        algorithm, encoded = split_digest(digest)
        return self.path / defaults.oci_blobs_dir / algorithm / encoded

    def blob_exists(self, digest: str) -> bool:
        """True when the layout holds a file for `digest` (its content is not checked).

        A malformed digest names no blob: the answer is False, and no path is looked at.
        """
        try:
            path = self.digest_to_blob_path(digest)
        except InvalidDigestError:
            return False
        return path.is_file()

    # -- the graph --------------------------------------------------------------------------------
    def get_ordered_blobs(self, tag: str = defaults.default_tag) -> list[str]:
        """Digests of everything under `tag`, in push order: a manifest's layers, its config,
        then the manifest; an index's children before the index. Each digest appears once."""
        return [node.descriptor.digest for node in self._ordered_nodes(tag)]

    def _ordered_nodes(self, tag: str) -> list[_Node]:
        nodes: dict[str, _Node] = {}
        self._walk(self._tagged_descriptor(tag), nodes)
        return list(nodes.values())

    def _tagged_descriptor(self, tag: str) -> Descriptor:
        index = read_index(self.path)
        for entry in index.get("manifests") or []:
            annotations = entry.get("annotations") if isinstance(entry, dict) else None
            if (annotations or {}).get(defaults.oci_ref_name_annotation) == tag:
                return _descriptor(entry, defaults.oci_image_index_file)
        raise ValueError(f"Tag '{tag}' not found in index")

    def _walk(self, descriptor: Descriptor, nodes: dict[str, _Node]) -> None:
        if descriptor.digest in nodes:
            return
        raw = self._read_manifest(descriptor)
        document = parse_manifest(raw, descriptor.digest)
        media_type = _manifest_media_type(descriptor.media_type, document, descriptor.digest)
        if media_type in INDEX_MEDIA_TYPES:
            for child in _children(document, descriptor.digest):
                self._walk(child, nodes)
        else:
            for blob in _blobs(document, descriptor.digest):
                nodes.setdefault(blob.digest, _Node(blob, is_manifest=False))
        nodes[descriptor.digest] = _Node(
            Descriptor(media_type=media_type, digest=descriptor.digest, size=len(raw)),
            is_manifest=True,
        )

    def _read_manifest(self, descriptor: Descriptor) -> bytes:
        """A manifest blob's bytes, checked against its descriptor's digest and size."""
        path = self.digest_to_blob_path(descriptor.digest)
        if not path.is_file():
            raise FileNotFoundError(f"Blob not found: {path}")
        if path.stat().st_size > MAX_MANIFEST_SIZE:
            raise ProtocolError(f"manifest {path} is over the {MAX_MANIFEST_SIZE} byte limit")
        raw = path.read_bytes()
        _verify_bytes(raw, descriptor.digest, descriptor.size, str(path))
        return raw

    # -- layout -> registry -----------------------------------------------------------------------
    def push_to_registry(
        self,
        provider: Registry,
        target: str,
        tag: str = defaults.default_tag,
        do_chunked: bool = False,
        chunk_size: int = defaults.default_chunksize,
    ) -> requests.Response:
        """Push everything under the layout's `tag` to `target` (which must name a tag).

        Blobs are checked against their digests before upload; manifests go up as their exact
        bytes with their own media type, by digest, and the root last under the target's tag.
        Returns the response of that last manifest PUT.
        """
        container = _tagged_container(provider, target)
        *dependencies, root = self._ordered_nodes(tag)
        log.debug("pushing %d blobs from %s to %s", len(dependencies) + 1, self.path, target)
        provider.auth.load_configs(container)
        provider.auth.want_scope(container.registry, container.api_prefix, ["pull", "push"])
        for node in dependencies:
            if node.is_manifest:
                by_digest = _by_digest(provider, container, node.descriptor.digest)
                self._push_manifest(provider, by_digest, node.descriptor)
            else:
                self._push_blob(provider, container, node.descriptor, do_chunked, chunk_size)
        return self._push_manifest(provider, container, root.descriptor)

    def _push_manifest(
        self, provider: Registry, destination: Container, descriptor: Descriptor
    ) -> requests.Response:
        raw = self._read_manifest(descriptor)
        log.debug("pushing manifest %s to %s", descriptor.digest, destination)
        return provider.upload_manifest(raw, destination, media_type=descriptor.media_type)

    def _push_blob(
        self,
        provider: Registry,
        container: Container,
        descriptor: Descriptor,
        do_chunked: bool,
        chunk_size: int,
    ) -> None:
        path = self.digest_to_blob_path(descriptor.digest)
        layer = {
            "mediaType": descriptor.media_type or defaults.default_blob_media_type,
            "size": descriptor.size,
            "digest": descriptor.digest,
        }
        if not path.is_file():
            # A layout may leave out blobs that live elsewhere (image-spec); fine if the
            # destination already has them.
            if provider.blob_exists(layer, container):
                log.debug(
                    "blob %s is not in the layout but %s has it", descriptor.digest, container
                )
                return
            raise FileNotFoundError(f"Blob not found: {path}")
        # Verified here, not only by the registry: a corrupt layout fails with a clear error
        # before anything is uploaded.
        _verify_file(path, descriptor.digest, descriptor.size)
        log.debug("pushing blob %s to %s", descriptor.digest, container)
        provider.upload_blob(
            str(path), container, layer, do_chunked=do_chunked, chunk_size=chunk_size
        )

    # -- registry -> layout -----------------------------------------------------------------------
    def pull_from_registry(
        self, provider: Registry, target: str, tag: str = defaults.default_tag
    ) -> None:
        """Copy `target` (a manifest or an index, with everything it references) into the
        layout, then point `tag` at it in `index.json`.

        Every blob and manifest is checked against its digest and size; manifests are stored
        as the exact bytes the registry served. Other `index.json` entries are kept.
        """
        container = provider.get_container(target)
        provider.auth.load_configs(container)
        (self.path / defaults.oci_blobs_dir).mkdir(parents=True, exist_ok=True)
        raw, served_type, digest = provider.fetch_manifest(container, list(ACCEPTED_MANIFEST_TYPES))
        digest = digest or container.digest or ""
        if not digest:
            raise RuntimeError(
                "Expected to find Docker-Content-Digest header in manifest response."
            )
        _verify_bytes(raw, validate_digest(digest), None, str(container))
        log.debug("pulling %s (%s) into %s", container, digest, self.path)
        document, media_type = self._pull_manifest(provider, container, raw, served_type, digest)
        root = Descriptor(
            media_type=media_type,
            digest=digest,
            size=len(raw),
            artifact_type=_artifact_type(document),
        )
        write_json(
            {"imageLayoutVersion": defaults.oci_layout_version_pin},
            self.path / defaults.oci_layout_file,
        )
        self._tag(root, tag)

    def _pull_manifest(
        self,
        provider: Registry,
        container: Container,
        raw: bytes,
        served_type: str,
        digest: str,
    ) -> tuple[dict[str, Any], str]:
        """Store what the manifest references (children first), then the manifest itself."""
        document = parse_manifest(raw, digest)
        media_type = _manifest_media_type(served_type, document, digest)
        if media_type in INDEX_MEDIA_TYPES:
            for child in _children(document, digest):
                child_raw, child_type = self._fetch_child_manifest(provider, container, child)
                self._pull_manifest(provider, container, child_raw, child_type, child.digest)
        else:
            for blob in _blobs(document, digest):
                self._pull_blob(provider, container, blob)
        path = self.digest_to_blob_path(digest)
        if not (path.is_file() and _file_matches(path, digest, len(raw))):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_file(path, raw, mode="wb")
        return document, media_type

    def _fetch_child_manifest(
        self, provider: Registry, container: Container, child: Descriptor
    ) -> tuple[bytes, str]:
        """A child manifest's bytes: from the layout when it already holds them intact."""
        path = self.digest_to_blob_path(child.digest)
        if path.is_file() and child.size <= MAX_MANIFEST_SIZE:
            raw = path.read_bytes()
            if _bytes_match(raw, child.digest, child.size):
                return raw, child.media_type
        accept = list(ACCEPTED_MANIFEST_TYPES)
        if child.media_type in accept:
            accept.remove(child.media_type)
            accept.insert(0, child.media_type)
        # By digest, so fetch_manifest checks the bytes against it.
        raw, served_type, _ = provider.fetch_manifest(
            _by_digest(provider, container, child.digest), accept
        )
        _verify_bytes(raw, child.digest, child.size, f"{container.api_prefix}@{child.digest}")
        return raw, served_type or child.media_type

    def _pull_blob(self, provider: Registry, container: Container, descriptor: Descriptor) -> None:
        path = self.digest_to_blob_path(descriptor.digest)
        if path.is_file():
            if _file_matches(path, descriptor.digest, descriptor.size):
                log.debug("blob %s already in the layout", descriptor.digest)
                return
            log.warning("replacing %s: its content does not match its digest", path)
        # download_blob streams to a temp file and renames it only when the digest matches.
        provider.download_blob(container, descriptor.digest, str(path))
        size = path.stat().st_size
        if size != descriptor.size:
            path.unlink()
            raise DigestMismatchError(
                f"blob {descriptor.digest} is {size} bytes but its descriptor says {descriptor.size}"
            )

    def _tag(self, root: Descriptor, tag: str) -> None:
        """Point `tag` at `root` in `index.json`, replacing that tag's entry and keeping others."""
        index_path = self.path / defaults.oci_image_index_file
        if index_path.exists():
            index = read_index(self.path)
        else:
            index = {
                "schemaVersion": defaults.oci_index_schema_version,
                "mediaType": defaults.default_index_media_type,
                "manifests": [],
            }
        entries = [
            entry
            for entry in index.get("manifests") or []
            if not (
                isinstance(entry, dict)
                and (entry.get("annotations") or {}).get(defaults.oci_ref_name_annotation) == tag
            )
        ]
        entry = root.to_dict()
        entry["annotations"] = {defaults.oci_ref_name_annotation: tag}
        entries.append(entry)
        index["manifests"] = entries
        write_json(index, index_path)


def _tagged_container(provider: Registry, target: Union[str, Container]) -> Container:
    """Parse a push target, which must end in `:tag` (not a digest)."""
    if isinstance(target, Container):
        tagged = target._tag_given and not target.digest
    else:
        name = str(target).rsplit("/", 1)[-1]
        tagged = "@" not in name and ":" in name and not name.endswith(":")
    if not tagged:
        raise ValueError(
            f"Target must include a tag in format 'registry/repository:tag', got: {target}"
        )
    return provider.get_container(target)


def _by_digest(provider: Registry, container: Container, digest: str) -> Container:
    return provider.get_container(f"{container.registry}/{container.api_prefix}@{digest}")


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ValueError(f"malformed descriptor in {where}: {value!r}")
    descriptor = Descriptor.from_dict(value)
    validate_digest(descriptor.digest)
    if descriptor.size < 0:
        raise ValueError(f"malformed descriptor in {where}: negative size")
    return descriptor


def _children(index: dict[str, Any], digest: str) -> list[Descriptor]:
    manifests = index.get("manifests") or []
    if not isinstance(manifests, list):
        raise ValueError(f"index {digest}: 'manifests' is not a list")
    return [_descriptor(entry, f"index {digest}") for entry in manifests]


def _blobs(manifest: dict[str, Any], digest: str) -> list[Descriptor]:
    """A manifest's layers, then its config."""
    layers = manifest.get("layers") or []
    if not isinstance(layers, list):
        raise ValueError(f"manifest {digest}: 'layers' is not a list")
    blobs = [_descriptor(layer, f"manifest {digest}") for layer in layers]
    if manifest.get("config"):
        blobs.append(_descriptor(manifest["config"], f"manifest {digest}"))
    return blobs


def _manifest_media_type(declared: Optional[str], document: dict[str, Any], digest: str) -> str:
    """The manifest's own `mediaType`, else the one its descriptor or Content-Type declares."""
    own = document.get("mediaType")
    if declared not in _KNOWN_MANIFEST_TYPES:
        declared = None  # e.g. a registry's generic `application/json`
    if own and declared and own != declared:
        raise ValueError(f"manifest {digest} says mediaType {own} but is declared as {declared}")
    media_type = own or declared or ""
    if media_type not in _KNOWN_MANIFEST_TYPES:
        expected = ", ".join(sorted(_KNOWN_MANIFEST_TYPES))
        raise ValueError(
            f"Unsupported manifest mediaType {media_type!r} for {digest}; expected one of {expected}"
        )
    return media_type


def _artifact_type(document: dict[str, Any]) -> Optional[str]:
    artifact_type = document.get("artifactType")
    return artifact_type if isinstance(artifact_type, str) and artifact_type else None


def _verify_bytes(data: bytes, digest: str, size: Optional[int], what: str) -> None:
    hasher = Hasher.for_digest(digest)
    hasher.update(data)
    try:
        hasher.verify(digest, size)
    except DigestMismatchError as e:
        raise DigestMismatchError(f"{what}: {e}") from None


def _bytes_match(data: bytes, digest: str, size: int) -> bool:
    try:
        _verify_bytes(data, digest, size, "")
    except DigestMismatchError:
        return False
    return True


def _verify_file(path: pathlib.Path, digest: str, size: Optional[int]) -> None:
    algorithm, _ = split_digest(digest)
    actual_digest, actual_size = digest_file(path, algorithm)
    if size is not None and actual_size != size:
        raise DigestMismatchError(
            f"{path} is {actual_size} bytes but its descriptor says {size}: the layout is corrupt"
        )
    if actual_digest != digest:
        raise DigestMismatchError(
            f"{path} has digest {actual_digest}, not {digest}: the layout is corrupt"
        )


def _file_matches(path: pathlib.Path, digest: str, size: int) -> bool:
    if path.stat().st_size != size:
        return False
    try:
        _verify_file(path, digest, size)
    except DigestMismatchError:
        return False
    return True


def _remove_partial_layout(directory: pathlib.Path, created: bool) -> None:
    if created:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink()
