"""ClientStore: an oras-py `Registry`'s overridable methods as a content store.

oras-py's users subclass `Registry` and override `upload_blob`, `upload_manifest`,
`get_manifest`, `download_blob` or `do_request`; push, pull and the layout copies must keep
calling those. The facades therefore copy through this adapter: blobs go up through
`upload_blob` and come down through `download_blob`, manifests through `upload_manifest` and
`fetch_manifest`/`get_manifest`, and everything else through the client's `repository()`
store, whose requests go through `do_request`.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
from typing import TYPE_CHECKING, Any, BinaryIO, Optional

from oras.content.reader import CountingReader, VerifiedFile, copy_stream, read_all
from oras.descriptor import Descriptor
from oras.digest import digest_bytes
from oras.manifest import is_manifest
from oras.progress import DONE, STARTED, ProgressReporter

if TYPE_CHECKING:
    import requests

    from oras.container import Container
    from oras.provider import Registry


def _overridden(client: Registry, name: str) -> bool:
    from oras.provider import Registry

    if name in vars(client):  # replaced on the instance (a test's monkeypatch, say)
        return True
    return getattr(type(client), name) is not getattr(Registry, name)


class ClientStore:
    """The repository `container` names, through `client`'s hooks. `spool_dir` is where
    downloaded blobs are written first (the pull's output directory, so that moving them into
    place is a rename)."""

    def __init__(
        self,
        client: Registry,
        container: Container,
        spool_dir: Optional[str] = None,
        chunked: bool = False,
        chunk_size: Optional[int] = None,
        progress: Any = None,
    ) -> None:
        self.client = client
        #: Receives the ProgressEvents of the client's own transfer hooks, for this copy only.
        self.progress = progress
        self.container = container
        self.spool_dir = spool_dir
        self.chunked = chunked
        self.chunk_size = chunk_size
        self.repository = client.repository(container)
        #: Manifest bytes already at hand (the root a facade fetched), by digest.
        self.known: dict[str, bytes] = {}
        #: The response of the last manifest PUT (push and Layout.push_to_registry return it).
        self.last_manifest_response: Optional[requests.Response] = None
        self._lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------------
    def fetch(self, desc: Descriptor) -> BinaryIO:
        if desc.digest in self.known:
            return io.BytesIO(self.known[desc.digest])
        if is_manifest(desc):
            body, _, _ = self.client.fetch_manifest(self._by_digest(desc.digest), [desc.media_type])
            return io.BytesIO(body)
        if self.spool_dir is None and not _overridden(self.client, "download_blob"):
            return self.repository.fetch(desc)
        return self._spool(desc)

    def _spool(self, desc: Descriptor) -> VerifiedFile:
        """Download through `download_blob` (verified, resumed) into a temporary file."""
        import secrets

        from oras import scratch

        directory = self.spool_dir or tempfile.gettempdir()
        path = scratch.track(os.path.join(directory, f".oras-{secrets.token_hex(8)}.spool"))
        state = self.client._state
        try:
            state.layer, state.progress = desc.to_dict(), self.progress
            try:
                self.client.download_blob(self.container, desc.digest, path)
            finally:
                state.layer, state.progress = None, None
            return VerifiedFile(path, desc.digest)  # untracked once taken or closed
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            scratch.untrack(path)
            raise

    def exists(self, desc: Descriptor) -> bool:
        if is_manifest(desc):
            return self.repository.exists(desc)
        if _overridden(self.client, "upload_blob"):
            return False  # a custom upload_blob decides for itself, as in oras-py
        if _overridden(self.client, "blob_exists"):
            return self.client.blob_exists(desc.to_dict(), self.container)
        return self.repository.exists(desc)

    def resolve(self, reference: str) -> Descriptor:
        return self.repository.resolve(reference)

    # -- writing ---------------------------------------------------------------------------------
    def push(self, expected: Descriptor, content: BinaryIO) -> None:
        if is_manifest(expected):
            self._put_manifest(expected, content, self._by_digest(expected.digest))
        else:
            self._upload(expected, content)

    def push_reference(self, expected: Descriptor, content: BinaryIO, reference: str) -> None:
        target = self.client.get_container(
            f"{self.container.registry}/{self.container.api_prefix}:{reference}"
        )
        self._put_manifest(expected, content, target)

    def tag(self, desc: Descriptor, reference: str) -> None:
        target = self.client.get_container(
            f"{self.container.registry}/{self.container.api_prefix}:{reference}"
        )
        self._put_manifest(desc, self.fetch(desc), target, index_referrer=False)

    def _put_manifest(
        self,
        expected: Descriptor,
        content: BinaryIO,
        target: Container,
        index_referrer: bool = True,
    ) -> None:
        body = read_all(content, expected)
        response = self.client.upload_manifest(body, target, media_type=expected.media_type)
        with self._lock:
            self.last_manifest_response = response
        if index_referrer:  # a manifest with a `subject` joins the tag-schema index if needed
            headers = getattr(response, "headers", None) or {}  # a hook may return a stand-in
            self.repository.index_referrer(expected, body, headers.get("OCI-Subject"))

    def _upload(self, expected: Descriptor, content: BinaryIO) -> None:
        layer = expected.to_dict()
        if not _overridden(self.client, "upload_blob") and not self.chunked:
            # The engine checked existence already: straight to the upload, no second HEAD.
            reporter = ProgressReporter(self.progress, "upload", layer)
            reporter.emit(STARTED)
            self.repository.push(expected, CountingReader(content, reporter.advance))  # type: ignore[arg-type]
            reporter.emit(DONE)
            return
        path = getattr(content, "path", None)
        spooled = None
        if not isinstance(path, str):
            fd, spooled = tempfile.mkstemp(prefix=".oras-upload-")
            with os.fdopen(fd, "wb") as fh:
                copy_stream(content, fh)
            path = spooled
        state = self.client._state
        try:
            kwargs: dict[str, Any] = {}
            if self.chunked:
                kwargs = {"do_chunked": True, "chunk_size": self.chunk_size}
            state.progress = self.progress  # the hook reports through this copy's callback
            response = self.client.upload_blob(path, self.container, layer, **kwargs)
            self.client._check_200_response(response)
        finally:
            state.progress = None
            if spooled:
                os.unlink(spooled)

    def _by_digest(self, digest: str) -> Container:
        return self.client.get_container(
            f"{self.container.registry}/{self.container.api_prefix}@{digest}"
        )


def root_from_manifest(
    manifest: dict[str, Any], media_type: Optional[str] = None
) -> tuple[Descriptor, bytes]:
    """A descriptor and bytes for a manifest a hook returned as a dict (re-serialised the way
    oras-py writes manifests)."""
    from oras.pack import manifest_bytes

    body = manifest_bytes(manifest)
    kind = media_type or manifest.get("mediaType") or "application/vnd.oci.image.manifest.v1+json"
    return Descriptor(media_type=str(kind), digest=digest_bytes(body), size=len(body)), body
