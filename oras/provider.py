"""`oras.provider.Registry`: oras-py's registry client, over the core protocol modules.

Every HTTP request goes through `do_request`; push goes through `upload_blob` and
`upload_manifest`, pull through `get_manifest` and `download_blob`, so subclasses that
override those hooks (as oras-py's users do) stay on the real call path.

This module holds the class, its construction and its hooks for single blobs and manifests;
its mixins hold the rest: `oras.registry_requests` (`do_request`, headers),
`oras.registry_auth` (login, logout, credentials), `oras.registry_transfers` (push, pull),
`oras.registry_operations` and `oras.registry_referrers`.
"""

from __future__ import annotations

import contextlib
import itertools
import json as jsonlib
import logging
import os
import tempfile
import threading
from typing import TYPE_CHECKING, Any, Iterator, Optional, Union

import requests
import requests.adapters

import oras.auth
import oras.defaults as defaults
import oras.utils
from oras import scratch
from oras.container import Container
from oras.decorator import ensure_container
from oras.descriptor import (
    ACCEPTED_MANIFEST_TYPES,
    parse_manifest,
)
from oras.digest import validate_digest
from oras.errors import (
    DigestMismatchError,
    ProtocolError,
    RegistryError,
)
from oras.legacy import deprecated, refuse_unknown_kwargs
from oras.logger import logger as logger  # oras-py's name here; its users patch it
from oras.registry_auth import RegistryAuth
from oras.registry_operations import RegistryOperations
from oras.registry_referrers import RegistryReferrers
from oras.registry_requests import RegistryRequests
from oras.registry_transfers import RegistryTransfers
from oras.remote.ranged_options import RangedOptions
from oras.remote.timeouts import DEFAULT_TIMEOUTS, Timeouts, request_timeouts
from oras.remote.transport import POOL_SIZE, RegistrySession
from oras.schema_check import validate as validate_schema
from oras.types import container_type
from oras.version import __version__

if TYPE_CHECKING:
    from oras.progress import ProgressCallback

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


class Registry(
    RegistryRequests, RegistryAuth, RegistryOperations, RegistryReferrers, RegistryTransfers
):
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
        refuse_unknown_kwargs("Registry", legacy)
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
            validate_schema(manifest, validation_schema)
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

            validate_schema(manifest, oras.schemas.manifest)
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
        deprecated("download_blob")
        return self.download_blob(*args, **kwargs)

    def _put_upload(self, *args: Any, **kwargs: Any) -> requests.Response:
        deprecated("put_upload")
        return self.put_upload(*args, **kwargs)

    def _chunked_upload(self, *args: Any, **kwargs: Any) -> requests.Response:
        deprecated("chunked_upload")
        return self.chunked_upload(*args, **kwargs)

    def _upload_manifest(self, *args: Any, **kwargs: Any) -> requests.Response:
        deprecated("upload_manifest")
        return self.upload_manifest(*args, **kwargs)

    def _upload_blob(self, *args: Any, **kwargs: Any) -> requests.Response:
        deprecated("upload_blob")
        return self.upload_blob(*args, **kwargs)


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
