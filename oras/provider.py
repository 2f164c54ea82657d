"""`oras.provider.Registry`: oras-py's registry client, over the core protocol modules.

Every HTTP request goes through `do_request`; push goes through `upload_blob` and
`upload_manifest`, pull through `get_manifest` and `download_blob`, so subclasses that
override those hooks (as oras-py's users do) stay on the real call path.

This module holds the class, its construction and the transfers (push, pull, blobs and
manifests); its mixins hold the rest: `oras.registry_requests` (`do_request`, headers),
`oras.registry_auth` (login, logout, credentials), `oras.registry_operations` and
`oras.registry_referrers`.
"""

from __future__ import annotations

import contextlib
import itertools
import json as jsonlib
import logging
import os
import tempfile
import threading
import warnings
from typing import TYPE_CHECKING, Any, Iterator, Optional, Union

import requests
import requests.adapters

import oras.auth
import oras.defaults as defaults
import oras.utils
from oras import scratch
from oras.concurrency import check_concurrency
from oras.container import Container
from oras.decorator import ensure_container
from oras.descriptor import (
    ACCEPTED_MANIFEST_TYPES,
    INDEX_MEDIA_TYPES,
    Descriptor,
    check_manifest,
    parse_manifest,
)
from oras.digest import validate_digest
from oras.errors import (
    ArgumentError,
    DigestMismatchError,
    ProtocolError,
    RegistryError,
)
from oras.logger import logger
from oras.registry_auth import RegistryAuth
from oras.registry_operations import RegistryOperations
from oras.registry_referrers import RegistryReferrers
from oras.registry_requests import RegistryRequests
from oras.remote.ranged_options import RangedOptions
from oras.remote.timeouts import DEFAULT_TIMEOUTS, Timeouts, request_timeouts
from oras.remote.transport import POOL_SIZE, RegistrySession
from oras.types import container_type
from oras.version import __version__

if TYPE_CHECKING:
    from oras.manifest import Platform
    from oras.progress import ProgressCallback
    from oras.pull import PullOptions

# Pushing, pulling and their packing, progress and upload modules are imported where they are
# used: a program that only lists tags or reads a manifest does not pay for them at start-up.

log = logging.getLogger(__name__)

#: Default (connect, read) timeouts of registry requests, in seconds (`oras.remote.timeouts`);
#: a client takes others with `Registry(timeout=...)`.
TIMEOUT = DEFAULT_TIMEOUTS

# Exceptions callers historically caught from here.
__all__ = ["Registry", "container_type", "temporary_empty_config"]


@contextlib.contextmanager
def temporary_empty_config() -> Iterator[str]:
    """A temporary file holding `{}`, removed afterwards."""
    fd, path = tempfile.mkstemp(prefix="oras-config-", suffix=".json")
    try:
        scratch.track(path)
        with os.fdopen(fd, "w") as fh:
            fh.write("{}")
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        scratch.untrack(path)


#: Stands for the manifest's config among the blobs `push` uploads.
_CONFIG = object()


def _synthetic_ok() -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    return response


def _deprecated(new: str) -> None:
    warnings.warn(
        f"This function is deprecated in favor of {new} and will be removed by 0.1.2",
        DeprecationWarning,
        stacklevel=3,
    )


#: Keywords of 0.0.x/0.1.x `push` and `pull` (which took `**kwargs`), accepted and ignored.
LEGACY_TRANSFER_KWARGS = frozenset(
    {"refresh_headers", "username", "password", "insecure", "manifest_config_ref"}
)


def _refuse_unknown_kwargs(
    method: str, given: dict[str, Any], legacy: frozenset[str] = frozenset()
) -> None:
    """TypeError naming keyword arguments `method` does not take (a typo is not ignored)."""
    unknown = sorted(set(given) - legacy)
    if len(unknown) == 1:
        raise TypeError(f"{method}() got an unexpected keyword argument {unknown[0]!r}")
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise TypeError(f"{method}() got unexpected keyword arguments {names}")


class Registry(RegistryRequests, RegistryAuth, RegistryOperations, RegistryReferrers):
    """A client of OCI registries (oras-py's `Registry`, also exported as `OrasClient`).

    `insecure=True` means plain HTTP (oras-py's meaning); `tls_verify` is False to skip
    certificate checks or a CA bundle path; `cert` is a client certificate for mutual TLS
    (a PEM file holding certificate and key, or a `(cert_file, key_file)` pair).
    `timeout` bounds every request: seconds, or a `(connect, read)` pair, where read is the
    longest wait for the next bytes of an answer, not for a whole transfer (default
    `oras.remote.timeouts.DEFAULT_TIMEOUTS`, 30 s and 60 s); a request that times out is tried
    once more.
    """

    def __init__(
        self,
        hostname: Optional[str] = None,
        insecure: Any = False,
        tls_verify: Union[bool, str] = True,
        auth_backend: Any = "token",
        registry: Optional[Registry] = None,
        progress: Optional[ProgressCallback] = None,
        cert: Optional[Union[str, tuple[str, str]]] = None,
        timeout: Union[None, float, tuple[float, float]] = None,
        **legacy: Any,
    ):
        _refuse_unknown_kwargs("Registry", legacy)
        if isinstance(insecure, Registry):  # 0.1.x: OrasClient(hostname, registry, insecure, tls)
            registry, insecure = insecure, tls_verify if isinstance(tls_verify, bool) else False
            tls_verify = auth_backend if isinstance(auth_backend, (bool, str)) else True
            auth_backend = "token"
        if auth_backend in (True, False):
            auth_backend = "token"
        self.hostname = hostname
        #: (connect, read) seconds of every request, token requests included.
        self.timeout: Timeouts = request_timeouts(timeout)
        self.headers: dict[str, str] = {}
        #: Called with a ProgressEvent for each step of every blob transfer; None reports nothing.
        self.progress: Optional[ProgressCallback] = progress
        self._state = threading.local()  # the blob a worker thread is transferring
        self._no_chunked: set[str] = set()  # registries that refused a PATCH
        #: How large blobs are downloaded: `ranges` connections at once from `threshold` bytes
        #: on, where the registry serves ranges (`oras.remote.ranged`; `ranges=1`: one stream).
        self.ranged = RangedOptions()
        self.session = RegistrySession()
        self._pool_size = POOL_SIZE
        self.session.headers["User-Agent"] = f"oras-py/{__version__}"
        self.prefix = "http" if insecure else "https"
        self._insecure = bool(insecure)
        self._tls_verify = tls_verify
        self.session.verify = tls_verify
        # Client certificate for mutual TLS: a PEM holding both, or (cert, key) paths.
        self.session.cert = cert
        self._delegate = registry
        self.auth = oras.auth.get_auth_backend(
            auth_backend, self.session, bool(insecure), tls_verify=tls_verify
        )
        self.auth.timeout = self.timeout
        if hostname and hasattr(self.auth, "add_registry_host"):
            # Credentials go to the registries the client works for, never to other hosts.
            self.auth.add_registry_host(hostname)

    def __repr__(self) -> str:
        return "[oras-client]"

    __str__ = __repr__

    # -- 0.1.x client shape -----------------------------------------------------------------
    @property
    def remote(self) -> Registry:
        return self._delegate if self._delegate is not None else self

    # -- small oras-py helpers ----------------------------------------------------------------
    def version(self, return_items: bool = False) -> Union[str, dict[str, str]]:
        import platform  # imported on use: it costs start-up time for every command

        items = {"Version": __version__, "Python version": platform.python_version()}
        if return_items:
            return items
        return "\n".join(f"{k}: {v}" for k, v in items.items())

    def _progress(self) -> Optional[ProgressCallback]:
        return getattr(self._state, "progress", None) or self.progress

    def get_container(self, name: container_type) -> Container:
        if isinstance(name, Container):
            return name
        return Container(name, registry=self.hostname)

    def _url(self, path: str) -> str:
        return f"{self.prefix}://{path}"

    def _validate_path(self, path: str) -> bool:
        from oras.pack import check_inside_cwd

        try:
            check_inside_cwd(path)
        except ValueError:
            return False
        return True

    def _parse_manifest_ref(self, ref: str) -> tuple[str, str]:
        spec = oras.utils.split_path_and_content(ref)
        return spec.path, spec.content or defaults.unknown_config_media_type

    def _get_location(self, r: requests.Response, container: container_type) -> str:
        container = self.get_container(container)
        location = r.headers.get("location", "")
        if location and not location.startswith(("http://", "https://")):
            location = self._url(f"{container.registry}{location}")
        return location

    # -- tags -------------------------------------------------------------------------------------
    @ensure_container
    def get_tags(self, container: container_type, N: Optional[int] = None) -> list[str]:
        """Every tag of the repository (following `Link` pages), or the first N."""
        if self._delegate is not None:
            return self._delegate.get_tags(container, N)
        tags = self.repository(container).tags(page_size=N)  # `?n=N` only when N is given
        return list(itertools.islice(tags, N) if N is not None else tags)

    @ensure_container
    def delete_tag(self, container: container_type, tag: str) -> bool:
        """Delete the manifest the tag points to (and so every tag on it)."""
        self.auth.load_configs(container)
        headers = {"Accept": ", ".join(ACCEPTED_MANIFEST_TYPES)}
        url = self._url(container.manifest_url(tag))
        response = self.do_request(url, "HEAD", headers=headers)
        if response.status_code == 404:
            log.error("Cannot find tag %s:%s", container, tag)
            return False
        digest = response.headers.get("Docker-Content-Digest")
        if not digest:
            raise RuntimeError("Expected to find Docker-Content-Digest header.")
        response = self.do_request(self._url(container.manifest_url(digest)), "DELETE")
        if response.status_code != 202:
            raise RuntimeError(f"Delete was not successful: {_json_or_text(response)}")
        return True

    def delete_tags(self, name: container_type, tags: Union[str, list[str]]) -> list[str]:
        """Delete each tag's manifest (oras-py's `name`, `tags`); returns the tags deleted."""
        if self._delegate is not None:
            return self._delegate.delete_tags(name, tags)
        container = self.get_container(name)
        if isinstance(tags, str):
            tags = [tags]
        return [tag for tag in tags if self.delete_tag(container, tag)]

    # -- manifests --------------------------------------------------------------------------------
    def fetch_manifest(
        self, container: container_type, accept: Optional[list[str]] = None
    ) -> tuple[bytes, str, str]:
        """The manifest's exact bytes, media type and digest (checked when fetched by digest)."""
        container = self.get_container(container)
        reference = container.digest or container.tag
        desc, body = self.repository(container).fetch_reference(reference, accept)
        return body, desc.media_type, desc.digest

    @ensure_container
    def get_manifest(
        self,
        container: container_type,
        allowed_media_type: Optional[list[str]] = None,
        validation_schema: Optional[dict] = None,
    ) -> dict[str, Any]:
        """The manifest (or index) as a dict."""
        self.auth.load_configs(container)
        body, media_type, _ = self.fetch_manifest(container, allowed_media_type)
        manifest = parse_manifest(body, str(container))
        declared = manifest.get("mediaType")
        if declared and media_type and declared != media_type:
            raise ProtocolError(
                f"manifest {container} says mediaType {declared} but was served as {media_type}"
            )
        if validation_schema:
            _validate(manifest, validation_schema)
        return manifest

    def upload_manifest(
        self,
        manifest: Union[dict, bytes],
        container: container_type,
        media_type: Optional[str] = None,
    ) -> requests.Response:
        """PUT a manifest (a dict, validated, or exact bytes) under the container's tag or digest."""
        container = self.get_container(container)
        self.auth.load_configs(container)
        if isinstance(manifest, (bytes, bytearray)):
            body = bytes(manifest)
            if media_type is None:
                media_type = parse_manifest(body, str(container)).get("mediaType")
        else:
            import oras.schemas
            from oras.pack import manifest_bytes

            _validate(manifest, oras.schemas.manifest)
            body = manifest_bytes(manifest)
            media_type = media_type or manifest.get("mediaType")
        media_type = media_type or defaults.default_manifest_media_type
        repository = self.repository(container)
        response = repository.put_manifest(body, media_type, container.digest or container.tag)
        self._check_200_response(response)
        from oras.remote.upload import check_stored_manifest

        check_stored_manifest(response, body)
        return response

    # -- blobs ------------------------------------------------------------------------------------
    @ensure_container
    def get_blob(
        self,
        container: container_type,
        digest: str,
        stream: bool = False,
        head: bool = False,
    ) -> requests.Response:
        self.auth.load_configs(container)
        method = "HEAD" if head else "GET"
        return self.do_request(self._url(container.get_blob_url(digest)), method, stream=stream)

    def blob_exists(self, layer: dict, container: container_type) -> bool:
        container = self.get_container(container)
        response = self.get_blob(container, layer["digest"], head=True)
        return response.status_code == 200

    @ensure_container
    def download_blob(self, container: container_type, digest: str, outfile: str) -> str:
        """Stream a blob to `outfile`: resumed after a dropped connection, verified against its
        digest (and size when pull knows it), renamed into place only when it matches."""
        validate_digest(digest)
        outfile = os.path.abspath(outfile)
        oras.utils.mkdir_p(os.path.dirname(outfile))
        layer = self._state.layer if getattr(self._state, "layer", None) else None
        if not layer or layer.get("digest") != digest:
            layer = {"digest": digest}
        if digest == defaults.blank_hash:
            oras.utils.write_file(outfile, b"", mode="wb")
            return outfile
        from oras.progress import DONE, STARTED, ProgressReporter

        reporter = ProgressReporter(self._progress(), "download", layer)
        reporter.emit(STARTED)
        size = layer.get("size")
        self.repository(container).download(
            digest, outfile, size if isinstance(size, int) else None, reporter
        )
        reporter.emit(DONE)
        return outfile

    def upload_blob(
        self,
        blob: str,
        container: container_type,
        layer: dict,
        do_chunked: bool = False,
        chunk_size: int = defaults.default_chunksize,
    ) -> requests.Response:
        """Upload a file as a blob unless the registry already holds it. Monolithic by default;
        chunked when asked, above `CHUNKED_THRESHOLD`, or when the registry refuses the size."""
        from oras.progress import DONE, EXISTS, STARTED, ProgressReporter
        from oras.remote.upload import check_stored_digest, upload_file_blob

        container = self.get_container(container)
        blob = os.path.abspath(blob)
        reporter = ProgressReporter(self._progress(), "upload", layer)
        if self.blob_exists(layer, container):
            log.debug("blob %s exists in %s", layer["digest"], container)
            reporter.emit(EXISTS)
            return _synthetic_ok()
        size = os.path.getsize(blob)
        _check_size(blob, size, layer)
        reporter.emit(STARTED)
        self._state.reporter = reporter
        try:
            response = upload_file_blob(  # through the two methods subclasses override
                lambda: self.put_upload(blob, container, layer),
                lambda chunk: self.chunked_upload(blob, container, layer, chunk_size=chunk),
                size,
                chunk_size if do_chunked else None,
            )
            self._check_200_response(response)
            check_stored_digest(response, layer["digest"])
        except RegistryError:
            if layer.get("digest") == defaults.blank_hash:
                return _synthetic_ok()
            raise
        finally:
            self._state.reporter = None
        reporter.emit(DONE)
        return response

    def put_upload(self, blob: str, container: container_type, layer: dict) -> requests.Response:
        """Monolithic upload: POST for a session, then one PUT streaming the whole file."""
        container = self.get_container(container)
        size = os.path.getsize(blob)
        _check_size(blob, size, layer)
        start = self._url(container.upload_blob_url())
        reporter = getattr(self._state, "reporter", None)
        from oras.remote.upload import put_file

        return put_file(self.do_request, start, blob, layer["digest"], size, reporter)

    def chunked_upload(
        self,
        blob: str,
        container: container_type,
        layer: dict,
        chunk_size: int = defaults.default_chunksize,
    ) -> requests.Response:
        """Chunked upload: POST, a PATCH per chunk to the latest Location (resuming from the
        registry's offset after a dropped connection), then PUT with the digest."""
        container = self.get_container(container)
        size = os.path.getsize(blob)
        _check_size(blob, size, layer)
        start = self._url(container.upload_blob_url())
        reporter = getattr(self._state, "reporter", None)
        from oras.remote.upload import put_chunked

        response, _, _ = put_chunked(
            self.do_request, start, blob, chunk_size, layer["digest"], size, reporter
        )
        return response

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
        _refuse_unknown_kwargs("push", legacy, LEGACY_TRANSFER_KWARGS)
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
        from oras.remote.upload import OVERLAP_THRESHOLD

        cls = type(self)
        return (
            os.path.isfile(path)
            and os.path.getsize(path) >= OVERLAP_THRESHOLD
            and cls.upload_blob is Registry.upload_blob
            and cls.put_upload is Registry.put_upload
            and cls.chunked_upload is Registry.chunked_upload
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
        _refuse_unknown_kwargs("pull", legacy, LEGACY_TRANSFER_KWARGS)
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

    # -- the core store ---------------------------------------------------------------------------
    def repository(
        self,
        target: container_type,
        push: bool = False,
        mount_from: Optional[str] = None,
        distribution_spec: Optional[str] = None,
    ) -> Any:
        """The repository `target` names, as a content store (`oras.remote.repository`) whose
        requests go through this client's `do_request` (auth, retries, overrides). `push`
        asks for push rights up front; `mount_from` for pull rights on a mount's source.
        `distribution_spec` ("v1.1-referrers-api" or "v1.1-referrers-tag") forces how its
        referrers are listed and kept; by default that is detected, once per repository."""
        from oras.remote.repository import Repository

        container = self.get_container(target)
        self.auth.load_configs(container)
        if mount_from:
            self.auth.want_mount(container.registry, container.api_prefix, mount_from)
        elif push:
            self.auth.want_scope(container.registry, container.api_prefix, ["pull", "push"])
        from oras.recent import RecentDict

        support = self.__dict__.setdefault("_referrers_support", RecentDict())
        return Repository(
            self.do_request,
            container.to_reference(),
            scheme=self.prefix,
            ranged=self.ranged,
            referrers_support=support,
            distribution_spec=distribution_spec,
        )

    # -- deprecated aliases ----------------------------------------------------------------------
    def _download_blob(self, *args: Any, **kwargs: Any) -> str:
        _deprecated("download_blob")
        return self.download_blob(*args, **kwargs)

    def _put_upload(self, *args: Any, **kwargs: Any) -> requests.Response:
        _deprecated("put_upload")
        return self.put_upload(*args, **kwargs)

    def _chunked_upload(self, *args: Any, **kwargs: Any) -> requests.Response:
        _deprecated("chunked_upload")
        return self.chunked_upload(*args, **kwargs)

    def _upload_manifest(self, *args: Any, **kwargs: Any) -> requests.Response:
        _deprecated("upload_manifest")
        return self.upload_manifest(*args, **kwargs)

    def _upload_blob(self, *args: Any, **kwargs: Any) -> requests.Response:
        _deprecated("upload_blob")
        return self.upload_blob(*args, **kwargs)


def _has_streams(files: Any) -> bool:
    from oras.pack import StreamEntry

    return any(isinstance(entry, StreamEntry) for entry in files or [])


def _validate(document: dict, schema: dict) -> None:
    import jsonschema  # imported on use: it costs start-up time for every command

    jsonschema.validate(document, schema=schema)


def _json_or_text(response: requests.Response) -> str:
    try:
        return jsonlib.dumps(response.json())
    except ValueError:
        return response.text


def _check_size(path: str, size: int, layer: dict) -> None:
    expected = layer.get("size")
    if expected is not None and int(expected) != size:
        raise DigestMismatchError(
            f"{path} is {size} bytes but its descriptor says {expected}: it changed after packing"
        )
