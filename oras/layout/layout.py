"""oras-py's `Layout`: an OCI image layout on disk, validated and walked here, copied to and
from a registry by the copy engine (`oras.copy`) over `oras.content.layout.LayoutStore`."""

from __future__ import annotations

import logging
import os
import pathlib
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Optional, Union

import requests

import oras.defaults as defaults
import oras.descriptor
from oras.container import Container
from oras.content.layout import LayoutStore
from oras.content.reader import open_file
from oras.copy import DEFAULT_CONCURRENCY, CopyGraphOptions, copy_graph
from oras.descriptor import (
    ACCEPTED_MANIFEST_TYPES,
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    Descriptor,
    parse_manifest,
)
from oras.digest import Hasher, digest_file, split_digest, validate_digest
from oras.errors import DigestMismatchError, InvalidDigestError, ProtocolError
from oras.hooks import ClientStore
from oras.layout.validation import read_index, validate_layout
from oras.logger import logger as logger  # oras-py's module-level name
from oras.manifest import is_manifest, successors

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
        node = Descriptor(media_type=media_type, digest=descriptor.digest, size=len(raw))
        children = successors(node, raw)
        if document.get("subject") is not None:
            children = children[1:]  # the subject is not part of this image
        for child in children:
            _check_descriptor(child, node.digest)
        if media_type in INDEX_MEDIA_TYPES:
            for child in children:
                self._walk(child, nodes)
        else:
            if document.get("config") is not None:
                children = children[1:] + children[:1]  # oras-py's order: layers, then config
            for blob in children:
                nodes.setdefault(blob.digest, _Node(blob, is_manifest=False))
        nodes[node.digest] = _Node(node, is_manifest=True)

    def _read_manifest(self, descriptor: Descriptor) -> bytes:
        """A manifest blob's bytes, checked against its descriptor's digest and size."""
        path = self.digest_to_blob_path(descriptor.digest)
        if not path.is_file():
            raise FileNotFoundError(f"Blob not found: {path}")
        limit = oras.descriptor.MAX_MANIFEST_SIZE
        if path.stat().st_size > limit:
            raise ProtocolError(f"manifest {path} is over the {limit} byte limit")
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
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> requests.Response:
        """Push everything under the layout's `tag` to `target` (which must name a tag): a
        copy from this layout to the registry through `provider`'s hooks (`upload_blob`,
        `upload_manifest`).

        Blobs are checked against their digests before upload; manifests go up as their exact
        bytes with their own media type, by digest, and the root last under the target's tag.
        Returns the response of that last manifest PUT.
        """
        container = _tagged_container(provider, target)
        root = self._root(tag)
        provider.auth.load_configs(container)
        provider.auth.want_scope(container.registry, container.api_prefix, ["pull", "push"])
        destination = ClientStore(provider, container, chunked=do_chunked, chunk_size=chunk_size)
        log.debug("pushing %s from %s to %s", root.digest, self.path, target)
        copy_graph(
            _CheckedLayout(self),
            destination,
            root,
            CopyGraphOptions(concurrency=concurrency),
            root_reference=container.tag,
        )
        response = destination.last_manifest_response
        assert response is not None  # the root is always sent (or tagged) last
        return response

    def _root(self, tag: str) -> Descriptor:
        """The descriptor `tag` names, with the media type its manifest declares."""
        entry = self._tagged_descriptor(tag)
        document = parse_manifest(self._read_manifest(entry), entry.digest)
        media_type = _manifest_media_type(entry.media_type, document, entry.digest)
        return Descriptor(media_type=media_type, digest=entry.digest, size=entry.size)

    # -- registry -> layout -----------------------------------------------------------------------
    def pull_from_registry(
        self,
        provider: Registry,
        target: str,
        tag: str = defaults.default_tag,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        """Copy `target` (a manifest or an index, with everything it references) into the
        layout through `provider`'s hooks, then point `tag` at it in `index.json`.

        Every blob and manifest is checked against its digest and size; manifests are stored
        as the exact bytes the registry served. Blobs already in the layout are checked and
        kept, or replaced when they do not match. Other `index.json` entries are kept.
        """
        container = provider.get_container(target)
        provider.auth.load_configs(container)
        raw, served_type, digest = provider.fetch_manifest(container, list(ACCEPTED_MANIFEST_TYPES))
        digest = digest or container.digest or ""
        if not digest:
            raise RuntimeError(
                "Expected to find Docker-Content-Digest header in manifest response."
            )
        _verify_bytes(raw, validate_digest(digest), None, str(container))
        document = parse_manifest(raw, digest)
        root = Descriptor(
            media_type=_manifest_media_type(served_type, document, digest),
            digest=digest,
            size=len(raw),
            artifact_type=_artifact_type(document),
        )
        log.debug("pulling %s (%s) into %s", container, digest, self.path)
        source = ClientStore(provider, container)
        source.known[digest] = raw
        store = LayoutStore(self.path)
        copy_graph(
            source, _RefreshingLayout(store), root, CopyGraphOptions(concurrency=concurrency)
        )
        store.tag(root, tag)


class _CheckedLayout:
    """This layout as a copy's source: a blob file is checked against its digest before it is
    handed out (a corrupt layout fails before anything is uploaded), and a missing one is a
    FileNotFoundError naming its path (fine when the destination has it: it is not asked for)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def fetch(self, desc: Descriptor) -> BinaryIO:
        path = self.layout.digest_to_blob_path(desc.digest)
        if not path.is_file():
            raise FileNotFoundError(f"Blob not found: {path}")
        _verify_file(path, desc.digest, desc.size)
        return open_file(str(path))

    def exists(self, desc: Descriptor) -> bool:
        return self.layout.digest_to_blob_path(desc.digest).is_file()


class _RefreshingLayout:
    """A layout store as a copy's destination whose blobs count as present only when their
    content matches (a corrupt blob is fetched again and replaced); manifests are always
    visited, so a pull checks the whole graph under them."""

    def __init__(self, store: LayoutStore) -> None:
        self.store = store

    def exists(self, desc: Descriptor) -> bool:
        if is_manifest(desc):
            return False  # walked again, so that every blob below it is checked
        path = self.store.blob_path(desc.digest)
        if not path.is_file():
            return False
        if _file_matches(path, desc.digest, desc.size):
            return True
        log.warning("replacing %s: its content does not match its digest", path)
        return False

    def fetch(self, desc: Descriptor) -> BinaryIO:
        return self.store.fetch(desc)

    def push(self, expected: Descriptor, content: BinaryIO) -> None:
        self.store.push(expected, content)


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


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ValueError(f"malformed descriptor in {where}: {value!r}")
    return _check_descriptor(Descriptor.from_dict(value), where)


def _check_descriptor(descriptor: Descriptor, where: str) -> Descriptor:
    validate_digest(descriptor.digest)
    if descriptor.size < 0:
        raise ValueError(f"malformed descriptor in {where}: negative size")
    return descriptor


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
