"""`Registry`'s whole-artifact transfers: `push` (files packed into an artifact and sent as a
copy, `oras.push`), `pull` and `pull_manifest` (an artifact's layers written as files,
`oras.pull`) and `resolve_manifest` (a reference, or its index's entry for a platform, to the
image manifest a pull reads).

A mixin of `oras.provider.Registry`: the blobs and manifests go through the client's hooks
(`upload_blob`, `get_manifest`, `download_blob`, ...) by way of `oras.hooks.ClientStore`, so a
subclass that overrides a hook stays on the real call path."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Optional, Union

import requests

import oras.defaults as defaults
import oras.utils
from oras.concurrency import check_concurrency
from oras.container import Container
from oras.decorator import ensure_container
from oras.descriptor import INDEX_MEDIA_TYPES, Descriptor, check_manifest
from oras.errors import ArgumentError
from oras.legacy import LEGACY_TRANSFER_KWARGS, refuse_unknown_kwargs
from oras.logger import logger
from oras.types import container_type

if TYPE_CHECKING:
    from oras.manifest import Platform
    from oras.progress import ProgressCallback
    from oras.pull import PullOptions

# Pushing, pulling and their packing, progress and upload modules are imported where they are
# used: a program that only lists tags or reads a manifest does not pay for them at start-up.

# The logger these transfers have always logged to, before they left `oras.provider`.
log = logging.getLogger("oras.provider")

#: The upload hooks a subclass may override; while none is, large files upload as they hash.
_UPLOAD_HOOKS = ("upload_blob", "put_upload", "chunked_upload")


class RegistryTransfers:
    """Push and pull of whole artifacts (mixed into `Registry`)."""

    # Provided by Registry and its other mixins.
    get_container: Any
    get_manifest: Any
    _parse_manifest_ref: Any
    _fit_pool: Any
    auth: Any
    progress: Optional[ProgressCallback]
    _delegate: Any
    _no_chunked: set[str]

    # -- push ---------------------------------------------------------------------------------
    def push(
        self,
        target: str,
        config_path: Optional[str] = None,
        disable_path_validation: bool = False,
        files: Optional[list] = None,
        manifest_config: Optional[str] = None,
        annotation_file: Optional[Any] = None,
        manifest_annotations: Optional[dict] = None,
        subject: Optional[Any] = None,
        do_chunked: bool = False,
        chunk_size: int = defaults.default_chunksize,
        quiet: bool = False,
        concurrency: Optional[int] = None,
        progress: Optional[ProgressCallback] = None,
        allow_empty: bool = False,
        artifact_type: Optional[str] = None,
        image_spec: str = "v1.1",
        **legacy: Any,
    ) -> requests.Response:
        """Push files as an artifact (`concurrency` blobs at a time; by default from 5 up to 16
        while the throughput measured rewards more); returns the manifest PUT response.
        `progress` receives a ProgressEvent per step of each blob.

        Annotations a manifest cannot carry (an empty name, a value that is not a string) and
        a `chunk_size` below one byte raise ValueError before anything is uploaded. An
        annotation-file entry that names no pushed file is logged as a warning and not used
        (oras-py ignored it silently; the command line refuses it).

        `files` is a list of `path[:mediatype]` (a single path is one file). Without files
        the push is refused unless `allow_empty=True` (a manifest with no layers). Unknown
        keywords are a TypeError, except oras-py 0.0.x/0.1.x ones (LEGACY_TRANSFER_KWARGS).

        `artifact_type` packs an image-spec 1.1 artifact: the manifest carries `artifactType`,
        its config is the empty descriptor (`application/vnd.oci.empty.v1+json`, `{}`)
        unless `manifest_config` is given, and without files its single layer is the empty
        descriptor. With `image_spec="v1.0"` the artifact type is written the pre-1.1 way,
        as the media type of the `{}` config (a `manifest_config` then is a ValueError).
        Without `artifact_type` the manifest is oras-py's, byte for byte.
        """
        refuse_unknown_kwargs("push", legacy, LEGACY_TRANSFER_KWARGS)
        from oras.hooks import ClientStore
        from oras.pack import StreamEntry
        from oras.push import (
            ConfigSpec,
            Packing,
            PushOptions,
            prepare_entries,
            push_files,
            send_stream,
            send_while_hashing,
        )

        if isinstance(files, (str, os.PathLike, StreamEntry)):
            files = [files]
        check_concurrency(concurrency)
        packing = Packing.choose(artifact_type, image_spec, bool(manifest_config))
        if not files and artifact_type:
            allow_empty = True  # image-spec 1.1: an artifact without payload is valid
        if not files and not allow_empty:
            raise ArgumentError(
                "push needs at least one file (allow_empty=True pushes an artifact without any)"
            )
        if self._delegate is not None:
            extra = (
                {"artifact_type": artifact_type, "image_spec": image_spec} if artifact_type else {}
            )
            return self._delegate.push(
                target,
                config_path=config_path,
                disable_path_validation=disable_path_validation,
                files=files,
                manifest_config=manifest_config,
                annotation_file=annotation_file,
                manifest_annotations=manifest_annotations,
                subject=subject,
                do_chunked=do_chunked,
                chunk_size=chunk_size,
                quiet=quiet,
                concurrency=concurrency,
                progress=progress,
                allow_empty=allow_empty,
                **extra,
            )
        container = self.get_container(target)
        self.auth.load_configs(container, configs=[config_path] if config_path else None)
        self.auth.want_scope(container.registry, container.api_prefix, ["pull", "push"])
        annotset, entries = prepare_entries(
            files or [],
            annotation_file,
            disable_path_validation,
            manifest_annotations,
            chunk_size if (do_chunked or _has_streams(files)) else None,
        )

        # Push is a copy (oras.push): the files, packed, go to the registry through this
        # client's hooks; stdin and large files go up while they are hashed.
        report = progress or self.progress
        destination = ClientStore(
            self, container, chunked=do_chunked, chunk_size=chunk_size, progress=report
        )

        def send_unpacked(entry: Any) -> Optional[dict[str, Any]]:
            if isinstance(entry, StreamEntry):
                return send_stream(destination.repository, entry, chunk_size, report)
            path, media_type, annotations = entry
            if do_chunked or not self._can_overlap(container, path):
                return None
            layer = send_while_hashing(
                destination.repository, path, media_type, annotations, report
            )
            if layer is None:
                log.info("%s does not take chunked uploads: hashing first", container.registry)
                self._no_chunked.add(container.registry)
            return layer

        config_path, config_type = None, None
        if manifest_config:
            config_path, config_type = self._parse_manifest_ref(manifest_config)
        manifest_annots = dict(annotset.get_annotations("$manifest"))
        manifest_annots.update(manifest_annotations or {})
        self._fit_pool(concurrency)
        push_files(
            entries,
            destination,
            ConfigSpec(
                config_path,
                config_type or packing.config_media_type,
                annotset.get_annotations("$config"),
            ),
            manifest_annots,
            subject,
            reference=None if container.digest else container.tag,
            artifact_type=packing.artifact_type,
            options=PushOptions(
                concurrency=concurrency,
                progress=report,
                config_destination=ClientStore(self, container, progress=report),
                send_unpacked=send_unpacked,
                destination_reports_progress=True,
            ),
        )
        response = destination.last_manifest_response
        assert response is not None
        if not quiet:
            logger.info(f"Successfully pushed {container}")
        return response

    def _can_overlap(self, container: Container, path: str) -> bool:
        """Large plain files are hashed while they upload, unless a subclass customises the
        upload hooks (they must see every blob) or the registry refused chunked uploads."""
        from oras.provider import Registry  # the hooks' own definitions
        from oras.remote.upload import OVERLAP_THRESHOLD

        cls = type(self)
        return (
            os.path.isfile(path)
            and os.path.getsize(path) >= OVERLAP_THRESHOLD
            and all(getattr(cls, hook) is getattr(Registry, hook) for hook in _UPLOAD_HOOKS)
            and container.registry not in self._no_chunked
        )

    # -- pull ---------------------------------------------------------------------------------
    def pull(
        self,
        target: str,
        config_path: Optional[str] = None,
        allowed_media_type: Optional[list[str]] = None,
        overwrite: bool = True,
        outdir: Optional[str] = None,
        concurrency: Optional[int] = None,
        progress: Optional[ProgressCallback] = None,
        skip_untitled: bool = False,
        unpack_all_targz: bool = True,
        platform: Optional[Union[str, Platform]] = None,
        **legacy: Any,
    ) -> list[str]:
        """Download an artifact's layers into `outdir` (`concurrency` at a time; by default from
        3 up to 16 while the throughput measured rewards more); returns the paths written, in
        manifest order.

        oras-py's rules by default: an untitled layer is written under its digest, and every
        tar+gzip layer is unpacked, as is any layer annotated `io.deis.oras.content.unpack:
        "true"`. Go oras's rules with `skip_untitled=True` (untitled layers are skipped and
        reported SKIPPED to `progress`) and `unpack_all_targz=False` (only annotated layers
        are unpacked; other tar+gzip layers are written as the files they are).

        When `target` is an index, its entry for `platform` (`"linux/arm64"`, `"linux/arm/v7"`
        or a `oras.manifest.Platform`) is pulled; NotFoundError naming the platforms the index
        has when there is none. Without `platform`: the entry for this machine, or the only
        entry.

        Titles are checked before anything is written: one that cannot name a file raises
        InvalidFileNameError, two layers with one title DuplicateTitleError. Existing files
        are overwritten (skipped when `overwrite` is false), but a directory is never replaced
        by a file nor a file by a directory: OutputConflictError.

        Unknown keywords are a TypeError, except oras-py 0.0.x/0.1.x ones
        (LEGACY_TRANSFER_KWARGS).
        """
        refuse_unknown_kwargs("pull", legacy, LEGACY_TRANSFER_KWARGS)
        check_concurrency(concurrency)
        if self._delegate is not None:
            return self._delegate.pull(
                target,
                config_path=config_path,
                allowed_media_type=allowed_media_type,
                overwrite=overwrite,
                outdir=outdir,
                concurrency=concurrency,
                progress=progress,
                skip_untitled=skip_untitled,
                unpack_all_targz=unpack_all_targz,
                platform=platform,
            )
        container = self.get_container(target)
        self.auth.load_configs(container, configs=[config_path] if config_path else None)
        container, manifest = self.resolve_manifest(container, allowed_media_type, platform)
        from oras.pull import PullOptions

        options = PullOptions(
            overwrite=overwrite,
            skip_untitled=skip_untitled,
            unpack_all_targz=unpack_all_targz,
            concurrency=concurrency,
            progress=progress or self.progress,
        )
        return self.pull_manifest(container, manifest, outdir or oras.utils.get_tmpdir(), options)

    # -- referrers ------------------------------------------------------------------------------
    def pull_manifest(
        self,
        container: Container,
        manifest: dict[str, Any],
        outdir: str,
        options: Optional[PullOptions] = None,
    ) -> list[str]:
        """Write the files of `manifest` (what `resolve_manifest` returned for `container`)
        into `outdir` by `options` (`oras.pull.PullOptions`: Go oras's `--config` and the
        `ORAS_CACHE` cache among them); returns the paths written. The blobs come down
        through this client's `download_blob`, so a subclass's override still runs."""
        from oras.hooks import ClientStore, root_from_manifest
        from oras.pull import PullOptions, pull_files

        options = options or PullOptions()
        root, body = root_from_manifest(manifest)
        source = ClientStore(
            self, container, spool_dir=os.path.abspath(outdir), progress=options.progress
        )
        source.known[root.digest] = body
        self._fit_pool(options.concurrency)
        return pull_files(source, root, manifest, outdir, options, source_reports_progress=True)

    @ensure_container
    def resolve_manifest(
        self,
        container: container_type,
        allowed_media_type: Optional[list[str]] = None,
        platform: Optional[Union[str, Platform]] = None,
    ) -> tuple[Container, dict[str, Any]]:
        """The image manifest a reference means: itself, or an index's entry for `platform`
        (default: this machine's, or the only entry). Raises InvalidManifestError when a field
        the pull reads has the wrong type."""
        manifest = check_manifest(self.get_manifest(container, allowed_media_type), str(container))
        if manifest.get("mediaType") in INDEX_MEDIA_TYPES or "manifests" in manifest:
            container = self._select_platform(container, manifest, platform)
            manifest = self.get_manifest(container, allowed_media_type)
            check_manifest(manifest, str(container))
        return container, manifest

    def _select_platform(
        self, container: Container, index: dict, want: Optional[Union[str, Platform]] = None
    ) -> Container:
        """The index entry for `want`, else for this machine's platform (or the only entry)."""
        from oras.manifest import Platform, pick_platform

        entries = [Descriptor.from_dict(m) for m in index.get("manifests") or []]
        if isinstance(want, str):
            want = Platform.parse(want)
        if want is None and len(entries) == 1:
            chosen = entries[0]
        else:
            chosen = pick_platform(entries, want or Platform.current(), str(container))
        return Container(f"{container.registry}/{container.api_prefix}@{chosen.digest}")


def _has_streams(files: Any) -> bool:
    from oras.pack import StreamEntry

    return any(isinstance(entry, StreamEntry) for entry in files or [])
