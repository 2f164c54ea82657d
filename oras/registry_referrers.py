"""`Registry`'s referrers methods: `attach` pushes a referrer of a manifest, `get_referrers`
lists them (what the `attach` and `discover` commands do).

A mixin of `oras.provider.Registry` (so `OrasClient` has them): each opens the repository as a
content store (`Registry.repository`, so every request goes through the client's `do_request`)
and calls `oras.push` or `oras.referrers`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

from oras.concurrency import check_concurrency
from oras.descriptor import Descriptor
from oras.errors import ArgumentError

if TYPE_CHECKING:
    from oras.progress import ProgressCallback

# oras.copy, oras.manifest, oras.push and oras.referrers are imported on use: they cost
# start-up time for every program, most of which never attaches or lists referrers.


class RegistryReferrers:
    """Referrers of a manifest in a registry: attach one, list them (mixed into `Registry`)."""

    # Provided by Registry.
    get_container: Any
    repository: Any
    progress: Optional[ProgressCallback]
    _parse_manifest_ref: Any
    _fit_pool: Any

    def attach(
        self,
        target: str,
        artifact_type: str,
        files: Optional[list] = None,
        manifest_config: Optional[str] = None,
        annotation_file: Optional[Any] = None,
        manifest_annotations: Optional[dict] = None,
        disable_path_validation: bool = False,
        platform: Optional[str] = None,
        concurrency: Optional[int] = None,
        progress: Optional[ProgressCallback] = None,
        distribution_spec: Optional[str] = None,
    ) -> dict[str, Any]:
        """Push `files` (none: an empty artifact) as a referrer of the manifest `target`
        names (with `platform`, of its entry for that platform in an index): an image-spec
        1.1 manifest of `artifact_type` whose `subject` is that manifest, pushed untagged. A
        registry without the referrers API gets the subject's tag-schema index updated.
        Returns the referrer's descriptor (with `artifactType` and annotations) as a dict."""
        from oras.copy import resolve_root
        from oras.manifest import Platform
        from oras.push import ConfigSpec, Packing, PushOptions, prepare_entries, push_files

        if not artifact_type:
            raise ArgumentError("attach needs an artifact type")
        if isinstance(files, (str, os.PathLike)):
            files = [files]
        check_concurrency(concurrency)
        container = self.get_container(target)
        repository = self.repository(container, push=True, distribution_spec=distribution_spec)
        want = Platform.parse(platform) if platform else None
        subject = resolve_root(repository, container.digest or container.tag, want)
        annotset, entries = prepare_entries(
            files or [], annotation_file, disable_path_validation, manifest_annotations
        )
        packing = Packing.choose(artifact_type, "v1.1", bool(manifest_config))
        config_path, config_type = None, None
        if manifest_config:
            config_path, config_type = self._parse_manifest_ref(manifest_config)
        manifest_annots = {**annotset.get_annotations("$manifest"), **(manifest_annotations or {})}
        self._fit_pool(concurrency)
        root = push_files(
            entries,
            repository,
            ConfigSpec(
                config_path,
                config_type or packing.config_media_type,
                annotset.get_annotations("$config"),
            ),
            manifest_annots,
            subject.identity(),
            reference=None,
            options=PushOptions(concurrency=concurrency, progress=progress or self.progress),
            artifact_type=packing.artifact_type,
        )
        found = Descriptor(
            media_type=root.media_type,
            digest=root.digest,
            size=root.size,
            artifact_type=artifact_type,
            annotations=manifest_annots or None,
        )
        return found.to_dict()

    def get_referrers(
        self,
        target: str,
        artifact_type: Optional[str] = None,
        platform: Optional[str] = None,
        distribution_spec: Optional[str] = None,
    ) -> list[dict[str, Any]]:
        """The referrers of the manifest `target` names (of `artifact_type` when given), as
        descriptor dicts with `artifactType` and annotations: from the registry's referrers
        API, or else the tag-schema index (entries whose manifest does not name the subject
        are left out)."""
        from oras.copy import resolve_root
        from oras.manifest import Platform
        from oras.referrers import find_referrers

        container = self.get_container(target)
        repository = self.repository(container, distribution_spec=distribution_spec)
        want = Platform.parse(platform) if platform else None
        subject = resolve_root(repository, container.digest or container.tag, want)
        return [d.to_dict() for d in find_referrers(repository, subject, artifact_type)]
