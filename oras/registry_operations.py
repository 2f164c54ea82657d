"""`Registry`'s methods for single operations (what the `blob`, `manifest` and `repo` commands
do): delete or fetch one blob, push one blob, list the catalog or the tags after `last`, fetch
a manifest's config, push a manifest under tags, build and update image indexes.

A mixin of `oras.provider.Registry` (so `OrasClient` has them): each opens the repository as a
content store (`Registry.repository`, so every request goes through the client's
`do_request`, with its auth, retries and overrides) and calls `oras.operations` or
`oras.index`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, BinaryIO, Optional, Sequence, Union

from oras.descriptor import Descriptor
from oras.types import container_type

if TYPE_CHECKING:
    from oras.manifest import Platform


class RegistryOperations:
    """Single operations on one repository or registry (mixed into `Registry`)."""

    # Provided by Registry.
    get_container: Any
    repository: Any
    prefix: str
    auth: Any
    do_request: Any
    hostname: Optional[str]

    def _store(self, target: container_type, push: bool = False) -> tuple[Any, str]:
        """The repository `target` names, as a store, and the tag or digest it names."""
        container = self.get_container(target)
        reference = container.digest or container.tag
        return self.repository(container, push=push), reference

    # -- blobs ------------------------------------------------------------------------------------
    def fetch_blob(
        self,
        target: container_type,
        digest: Optional[str] = None,
        output: Union[str, os.PathLike[str], BinaryIO, None] = None,
    ) -> Descriptor:
        """Fetch the blob `digest` (default: the digest in `target`) into `output`: a path,
        written only once the blob is verified (nothing is left there otherwise), or an open
        binary stream (the bytes are written as they come and a DigestMismatchError follows
        bad ones). Without `output` nothing is downloaded. Returns the blob's descriptor;
        NotFoundError when the repository has no such blob."""
        from oras.operations import fetch_blob, resolve_blob

        store, reference = self._store(target)
        digest = digest or reference
        if output is None:
            return resolve_blob(store, digest)
        return fetch_blob(store, digest, output)

    def push_blob(
        self,
        target: container_type,
        source: Union[str, os.PathLike[str], BinaryIO],
        size: Optional[int] = None,
        digest: Optional[str] = None,
        media_type: str = "application/vnd.oci.image.layer.v1.tar",
    ) -> tuple[Descriptor, bool]:
        """Push one blob from a file path or a binary stream (a stream needs `size`) to the
        repository `target` names, unless it is there already. `digest`, when known, is checked
        by the registry instead of hashing the content first. Returns the blob's descriptor
        (with `media_type`, which only describes it: a registry does not store it) and whether
        the repository had it already."""
        from oras.operations import prepare_blob, push_blob

        store, _ = self._store(target, push=True)
        desc, content = prepare_blob(source, size, digest, media_type)
        with content:
            existed = push_blob(store, desc, content)
        return desc, existed

    def delete_blob(self, target: container_type, digest: Optional[str] = None) -> Descriptor:
        """Delete the blob `digest` (default: the digest in `target`) from the repository;
        returns its descriptor. NotFoundError when the blob is not there; RegistryError
        when the registry refuses (deletes are often turned off)."""
        from oras.operations import delete_blob

        store, reference = self._store(target, push=True)
        return delete_blob(store, digest or reference)

    # -- listings ---------------------------------------------------------------------------------
    def get_catalog(self, hostname: Optional[str] = None, last: Optional[str] = None) -> list[str]:
        """Every repository name the registry lists (`/v2/_catalog`, all pages), starting after
        `last`. `hostname` defaults to the client's."""
        from oras.remote.repository import catalog

        registry = hostname or self.hostname
        if not registry:
            raise ValueError("get_catalog needs a hostname (none was given to the client)")
        if hasattr(self.auth, "add_registry_host"):
            self.auth.add_registry_host(registry)
        return list(catalog(self.do_request, registry, scheme=self.prefix, last=last))

    def list_tags(
        self,
        target: container_type,
        last: Optional[str] = None,
        exclude_digest_tags: bool = False,
    ) -> list[str]:
        """Every tag of the repository (all pages), starting after `last`;
        `exclude_digest_tags` leaves out tags that are digests (`sha256-...`, the referrers
        tag schema's). oras-py's `get_tags(container, N)` stays as it was."""
        from oras.operations import list_tags

        store, _ = self._store(target)
        return list_tags(store, last, exclude_digest_tags)

    # -- manifests --------------------------------------------------------------------------------
    def fetch_config(
        self, target: container_type, platform: Optional[Union[str, Platform]] = None
    ) -> tuple[Descriptor, bytes]:
        """The config of the image manifest `target` names (of an index, the entry for
        `platform`): its descriptor and verified bytes."""
        from oras.manifest import Platform
        from oras.operations import fetch_config

        store, reference = self._store(target)
        wanted = Platform.parse(platform) if isinstance(platform, str) else platform
        return fetch_config(store, reference, wanted)

    def push_manifest(
        self,
        target: container_type,
        manifest: Union[bytes, dict[str, Any]],
        media_type: Optional[str] = None,
        tags: Sequence[str] = (),
    ) -> Descriptor:
        """PUT a manifest or index, as given (bytes are sent as they are; a dict as compact
        JSON), under the tag or digest of `target` (a digest must be the manifest's own), then
        under each of `tags`. The media type is `media_type`, else the manifest's own
        `mediaType` (ArgumentError when neither says). Returns its descriptor."""
        import json

        from oras.operations import push_manifest

        container = self.get_container(target)
        store = self.repository(container, push=True)
        if isinstance(manifest, dict):
            manifest = json.dumps(manifest, separators=(",", ":")).encode()
        reference = container.digest or (container.tag if container._tag_given else "")
        desc, _ = push_manifest(store, bytes(manifest), reference, media_type, tags)
        return desc

    def delete_manifest(self, target: container_type) -> Descriptor:
        """Delete the manifest the tag or digest of `target` names, and so every tag on it;
        returns its descriptor. NotFoundError when there is none."""
        from oras.operations import delete_manifest

        store, reference = self._store(target, push=True)
        return delete_manifest(store, reference)

    def create_index(
        self,
        target: container_type,
        sources: Sequence[str],
        tags: Sequence[str] = (),
        artifact_type: Optional[str] = None,
        annotations: Optional[dict[str, str]] = None,
        push: bool = True,
    ) -> tuple[Descriptor, bytes]:
        """Build an image index of the manifests `sources` (tags or digests in the repository
        `target` names) and, with `push`, push it under the tag of `target` (by digest when it
        has none) and each of `tags`. Returns the index's descriptor and bytes."""
        from oras.index import create_index, push_index

        container = self.get_container(target)
        store = self.repository(container, push=push)
        desc, content = create_index(store, sources, artifact_type, annotations)
        if push:
            reference = container.tag if container._tag_given and not container.digest else ""
            push_index(store, content, reference, tags)
        return desc, content

    def update_index(
        self,
        target: container_type,
        add: Sequence[str] = (),
        merge: Sequence[str] = (),
        remove: Sequence[str] = (),
        artifact_type: Optional[str] = None,
        tags: Sequence[str] = (),
        push: bool = True,
    ) -> tuple[Descriptor, bytes]:
        """Change the index `target` names: remove the entries of the digests `remove`, add
        the manifests `add` names, append the entries of the indexes `merge` names, set its
        artifact type (None keeps it). With `push`, push it back under the same tag (by
        digest when `target` names a digest) and each of `tags`. Returns the new index's
        descriptor and bytes."""
        from oras.index import push_index, update_index

        store, reference = self._store(target, push=push)
        desc, content = update_index(store, reference, add, merge, remove, artifact_type)
        if push:
            push_index(store, content, reference, tags)
        return desc, content
