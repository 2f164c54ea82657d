"""Repository: one repository of a registry as a content store (a Target, Mounter, Deleter,
TagLister, ReferencePusher and PredecessorFinder), over an injected `send` (the client's
request function, with auth and retry), so every request of a custom client still goes
through its `do_request`.

Referrers come from the registry's referrers API where it has one, else from the tag-schema
fallback (an image index under the tag `<alg>-<hex>` of the subject), which this store keeps
up to date when it pushes or deletes a manifest with a `subject`. Which of the two a
repository has is detected (a referrers response with an index content type, `OCI-Subject` on
a manifest PUT) and remembered in `referrers_support`, shared by the client's repositories;
`distribution_spec` forces one.
"""

from __future__ import annotations

import io
import logging
import os
import random
import time
from typing import Any, BinaryIO, Callable, Iterator, Optional, Sequence

import requests

from oras import defaults
from oras.concurrency import KeyedLocks
from oras.content.reader import read_all
from oras.descriptor import ACCEPTED_MANIFEST_TYPES, MAX_MANIFEST_SIZE, Descriptor
from oras.digest import digest_bytes, validate_digest
from oras.errors import DigestMismatchError, NotFoundError, ProtocolError
from oras.manifest import is_index, is_manifest
from oras.progress import ProgressReporter
from oras.reference import Reference
from oras.remote.download import BlobStream
from oras.remote.ranged import GetRange, RangedBlob, RangedOptions, range_getter
from oras.remote.ranged import download as download_ranged
from oras.remote.response import next_link, read_limited, registry_error, with_query
from oras.remote.upload import (
    AUTO_CHUNK_SIZE,
    UploadSession,
    cancel_upload,
    check_stored_digest,
    check_stored_manifest,
    put_chunked,
    put_file,
    upload_file_blob,
)

log = logging.getLogger(__name__)

#: `send(url, method, data=None, headers=None, stream=False)`: one authenticated request.
Send = Callable[..., requests.Response]

#: Most pages of a tag list or catalog followed before giving up.
MAX_PAGES = 10000
#: Tags asked for per page of a tag list.
TAGS_PAGE_SIZE = 1000
#: Times a tag-schema referrers index is read, changed and written back before giving up
#: (another client changing it at the same moment makes a round start over).
MAX_INDEX_ATTEMPTS = 20

_INDEX_TYPES = f"{defaults.default_index_media_type}, {defaults.docker_manifest_list_media_type}"
#: One lock per tag-schema index this process updates: attaches from threads of one process
#: take turns, so none of them overwrites another's entry (a lock lives while it is used).
_index_locks = KeyedLocks()


_OCTET = "application/octet-stream"
#: Content up to this size that is not a local file is read whole before it is uploaded.
SMALL_BLOB_SIZE = 4 * 1024 * 1024


class _Progress:
    """The ProgressReporter shape the upload functions take, counting into a callback."""

    def __init__(self, on_bytes: Optional[Callable[[int], None]]) -> None:
        self._on_bytes = on_bytes
        self.done = 0

    def advance(self, n: int) -> None:
        self.done += n
        if self._on_bytes is not None:
            self._on_bytes(n)

    def rewind(self, done: int) -> None:
        self.done = done


class _StreamBody:
    """A request body of `size` bytes read from a stream (sent once: not replayable)."""

    replayable = False

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        remaining = self._size
        while remaining > 0:
            chunk = self._stream.read(min(1024 * 1024, remaining))
            if not chunk:
                raise DigestMismatchError(f"content ended {remaining} bytes short of its size")
            remaining -= len(chunk)
            yield chunk
        if self._stream.read(1):
            raise DigestMismatchError(f"content is longer than its descriptor's {self._size}")


class Repository:
    """`<registry>/<repository>` over HTTP(S). `scheme` is "https" or "http"."""

    def __init__(
        self,
        send: Send,
        reference: Reference,
        scheme: str = "https",
        ranged: Optional[RangedOptions] = None,
        referrers_support: Optional[dict[str, bool]] = None,
        distribution_spec: Optional[str] = None,
    ) -> None:
        from oras.referrers import DISTRIBUTION_SPECS, REFERRERS_API

        self.send = send
        self.reference = reference
        self.scheme = scheme
        #: How large blobs are downloaded (parallel ranges; see `oras.remote.ranged`).
        self.ranged = ranged or RangedOptions()
        self._base = f"{scheme}://{reference.api_host}/v2/{reference.repository}"
        #: Repository name -> whether it has the referrers API (detected, then remembered).
        self.referrers_support = referrers_support if referrers_support is not None else {}
        if distribution_spec is not None and distribution_spec not in DISTRIBUTION_SPECS:
            raise ValueError(
                f"unknown distribution spec {distribution_spec!r}: use one of "
                f"{', '.join(DISTRIBUTION_SPECS)}"
            )
        self._forced_api = None if distribution_spec is None else distribution_spec == REFERRERS_API

    def __repr__(self) -> str:
        return f"Repository({self.reference.registry}/{self.reference.repository})"

    @property
    def name(self) -> str:
        return f"{self.reference.registry}/{self.reference.repository}"

    def _blob_url(self, digest: str) -> str:
        return f"{self._base}/blobs/{digest}"

    def _manifest_url(self, reference: str) -> str:
        return f"{self._base}/manifests/{reference}"

    # -- reading ---------------------------------------------------------------------------------
    def fetch(self, desc: Descriptor) -> BinaryIO:
        validate_digest(desc.digest)
        if is_manifest(desc):
            return io.BytesIO(self._get_manifest(desc.digest, _accept(desc.media_type))[0])
        get, check = self._blob_getter(desc.digest)
        if self.ranged.ranges > 1 and desc.size >= self.ranged.threshold:
            # Read as a stream, or written to a file in ranges by a store that can.
            return RangedBlob(get, desc.digest, desc.size, check, self.ranged)  # type: ignore[return-value]
        return BlobStream(lambda offset: get(offset, None), desc.digest, check)  # type: ignore[return-value]

    def download(
        self,
        digest: str,
        path: str,
        size: Optional[int] = None,
        progress: Optional[ProgressReporter] = None,
    ) -> None:
        """Write the blob to `path`: in parallel ranges when it is large and the registry
        serves ranges (`self.ranged`), else as one stream resumed after a dropped connection;
        verified against its digest (and `size` when known), renamed into place only when it
        matches."""
        get, check = self._blob_getter(validate_digest(digest))
        download_ranged(get, digest, path, size, progress, check, self.ranged)

    def _blob_getter(self, digest: str) -> tuple[GetRange, Callable[[requests.Response], None]]:
        """`get(start, end)`, a streamed GET of the blob's bytes from `start` (to `end`, or to
        its end), and `check(response)`, which raises for an answer that is not the blob."""
        url = self._blob_url(digest)

        def check(response: requests.Response) -> None:
            if response.status_code not in (200, 206):
                raise registry_error(response, f"fetching blob {digest} from {self.name}")

        return range_getter(self.send, url), check

    def _get_manifest(self, reference: str, accept: str) -> tuple[bytes, requests.Response]:
        response = self.send(
            self._manifest_url(reference), "GET", headers={"Accept": accept}, stream=True
        )
        try:
            if response.status_code != 200:
                raise registry_error(response, f"fetching manifest {self.name}@{reference}")
            body = read_limited(response, MAX_MANIFEST_SIZE, f"manifest {reference}", raw=True)
        finally:
            response.close()
        return body, response

    def fetch_reference(
        self, reference: str, accept: Optional[Sequence[str]] = None
    ) -> tuple[Descriptor, bytes]:
        """A manifest by tag or digest: its descriptor and exact bytes (checked against the
        digest asked for, or the one the registry served). `accept` replaces the media types
        asked for (default: every manifest and index type this client reads)."""
        body, response = self._get_manifest(reference, ", ".join(accept or ACCEPTED_MANIFEST_TYPES))
        digest = digest_bytes(body)
        expected = reference if ":" in reference else response.headers.get("Docker-Content-Digest")
        if expected and expected.startswith("sha256:") and expected != digest:
            raise DigestMismatchError(
                f"manifest {self.name}@{reference} was served as {expected} but its bytes "
                f"digest to {digest}"
            )
        media_type = _content_type(response) or _declared_type(body)
        return Descriptor(media_type=media_type, digest=digest, size=len(body)), body

    def resolve_blob(self, digest: str) -> Descriptor:
        """The descriptor of a blob by digest (HEAD: its size; the media type is unknown, so
        `application/octet-stream`); NotFoundError when the repository has no such blob."""
        validate_digest(digest)
        response = self.send(self._blob_url(digest), "HEAD")
        response.close()
        if response.status_code == 404:
            raise NotFoundError(
                f"{self.name}@{digest}: blob not found", status=404, url=response.url
            )
        if response.status_code != 200:
            raise registry_error(response, f"checking blob {digest} in {self.name}")
        size = response.headers.get("Content-Length", "")
        if not size.isdigit():
            raise ProtocolError(f"{self.name} gave no size for blob {digest}")
        return Descriptor(media_type=_OCTET, digest=digest, size=int(size))

    def exists(self, desc: Descriptor) -> bool:
        validate_digest(desc.digest)
        if is_manifest(desc):
            url, headers = self._manifest_url(desc.digest), {"Accept": _accept(desc.media_type)}
        else:
            url, headers = self._blob_url(desc.digest), None
        response = self.send(url, "HEAD", headers=headers)
        response.close()
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise registry_error(response, f"checking {desc.digest} in {self.name}")

    def resolve(self, reference: str) -> Descriptor:
        """HEAD the manifest; a registry that leaves out the digest header gets a GET."""
        response = self.send(
            self._manifest_url(reference),
            "HEAD",
            headers={"Accept": ", ".join(ACCEPTED_MANIFEST_TYPES)},
        )
        response.close()
        if response.status_code == 404:
            shown = f"{self.name}@{reference}" if ":" in reference else f"{self.name}:{reference}"
            raise NotFoundError(f"{shown}: not found", status=404, url=response.url)
        if response.status_code != 200:
            raise registry_error(response, f"resolving {self.name}:{reference}")
        digest = response.headers.get("Docker-Content-Digest")
        size = response.headers.get("Content-Length", "")
        media_type = _content_type(response)
        if ":" in reference and (digest is None or digest == reference) and size.isdigit():
            digest = reference
        if not digest or not size.isdigit() or not media_type:
            return self.fetch_reference(reference)[0]
        return Descriptor(media_type=media_type, digest=validate_digest(digest), size=int(size))

    # -- writing ---------------------------------------------------------------------------------
    def push(self, expected: Descriptor, content: BinaryIO) -> None:
        validate_digest(expected.digest)
        if is_manifest(expected):
            self._put_manifest(expected, content, expected.digest)
        else:
            self._push_blob(expected, content)

    def push_reference(self, expected: Descriptor, content: BinaryIO, reference: str) -> None:
        self._put_manifest(expected, content, reference)

    def _put_manifest(
        self, expected: Descriptor, content: BinaryIO, reference: str, index_referrer: bool = True
    ) -> None:
        body = read_all(content, expected, limit=MAX_MANIFEST_SIZE)
        response = self.put_manifest(body, expected.media_type, reference)
        if response.status_code not in (200, 201, 202):
            raise registry_error(response, f"pushing manifest {self.name}:{reference}")
        check_stored_manifest(response, body)
        if index_referrer:  # a manifest with a `subject` joins the tag-schema index if needed
            self.index_referrer(expected, body, response.headers.get("OCI-Subject"))

    def put_manifest(self, body: bytes, media_type: str, reference: str) -> requests.Response:
        """PUT manifest bytes under a tag or digest; the response, whatever its status."""
        if len(body) > MAX_MANIFEST_SIZE:
            raise ProtocolError(f"manifest is over the {MAX_MANIFEST_SIZE} byte limit")
        response = self.send(
            self._manifest_url(reference),
            "PUT",
            data=body,
            headers={"Content-Type": media_type},
        )
        response.close()
        return response

    def _push_blob(self, expected: Descriptor, content: BinaryIO) -> None:
        start = f"{self._base}/blobs/uploads/"
        path = getattr(content, "path", None)
        progress = _Progress(getattr(content, "count", None))
        if isinstance(path, str) and os.path.isfile(path):
            # A local file: sent from disk, restarted or resumed after a dropped connection.
            response = self.upload_file(path, expected.digest, expected.size, progress)
        elif expected.size <= SMALL_BLOB_SIZE:
            # Small content is read whole (and verified) first, so a dropped connection or a
            # refused size can be answered by sending it again.
            data = read_all(content, expected, limit=SMALL_BLOB_SIZE)  # counted as it is read
            response = self._put_bytes(start, expected, data)
        else:
            response = self._put_stream(start, expected, content)
        response.close()
        if response.status_code not in (201, 204):
            raise registry_error(response, f"uploading blob {expected.digest} to {self.name}")
        check_stored_digest(response, expected.digest)

    def upload_file(
        self,
        path: str,
        digest: str,
        size: int,
        progress: Optional[Any] = None,
        chunk_size: Optional[int] = None,
    ) -> requests.Response:
        """Upload a local file as the blob `digest` (see `upload_file_blob` for how); the
        final response, whatever its status."""
        start = f"{self._base}/blobs/uploads/"
        return upload_file_blob(
            lambda: put_file(self.send, start, path, digest, size, progress),
            lambda chunk: put_chunked(self.send, start, path, chunk, digest, size, progress)[0],
            size,
            chunk_size,
        )

    def _put_bytes(self, start: str, expected: Descriptor, data: bytes) -> requests.Response:
        """POST then one PUT of `data`, started over in a new session after a dropped
        connection; in chunks when the registry refuses the size (413)."""
        from oras.remote.body import BytesBody
        from oras.remote.upload import MAX_RESTARTS, start_upload

        for attempt in range(MAX_RESTARTS + 1):
            session = start_upload(self.send, start, expected.digest)
            try:
                response = self.send(
                    with_query(session.location, digest=expected.digest),
                    "PUT",
                    data=BytesBody(data, replayable=False),
                    headers={"Content-Length": str(len(data)), "Content-Type": _OCTET},
                )
            except (requests.ConnectionError, requests.Timeout) as e:
                cancel_upload(self.send, session)
                if attempt == MAX_RESTARTS:
                    raise
                log.info("upload of %s interrupted (%s): starting over", expected.digest, e)
                continue
            if response.status_code == 413:
                response.close()
                cancel_upload(self.send, session)
                response, _, _ = put_chunked(self.send, start, io.BytesIO(data), AUTO_CHUNK_SIZE)
            return response
        raise AssertionError("unreachable")

    def _put_stream(self, start: str, expected: Descriptor, content: BinaryIO) -> requests.Response:
        from oras.remote.upload import start_upload

        session = start_upload(self.send, start, expected.digest)
        return self._finish_stream(session, expected, content)

    def _finish_stream(
        self, session: UploadSession, expected: Descriptor, content: BinaryIO
    ) -> requests.Response:
        try:
            return self.send(
                with_query(session.location, digest=expected.digest),
                "PUT",
                data=_StreamBody(content, expected.size),
                headers={"Content-Length": str(expected.size), "Content-Type": _OCTET},
            )
        except BaseException:
            cancel_upload(self.send, session)
            raise

    def mount(
        self,
        desc: Descriptor,
        from_repository: str,
        get_content: Optional[Callable[[], BinaryIO]] = None,
    ) -> None:
        """Cross-repository mount (POST `?mount=&from=`); a registry that answers with an
        upload session instead gets the content uploaded there, or the session cancelled."""
        url = with_query(
            f"{self._base}/blobs/uploads/", mount=desc.digest, **{"from": from_repository}
        )
        response = self.send(url, "POST", headers={"Content-Length": "0"})
        response.close()
        if response.status_code == 201:
            check_stored_digest(response, desc.digest)
            return
        if response.status_code != 202:
            raise registry_error(response, f"mounting {desc.digest} from {from_repository}")
        from oras.remote.response import resolve_location

        session = UploadSession(resolve_location(response))
        if get_content is None:
            cancel_upload(self.send, session)
            raise NotFoundError(
                f"{self.reference.registry} did not mount {desc.digest} from {from_repository}",
                status=202,
            )
        with get_content() as content:
            done = self._finish_stream(session, desc, content)
        done.close()
        if done.status_code not in (201, 204):
            raise registry_error(done, f"uploading blob {desc.digest} to {self.name}")

    def tag(self, desc: Descriptor, reference: str) -> None:
        """PUT the manifest's own bytes under the tag."""
        body = read_all(self.fetch(desc), desc)
        # Re-tagging a referrer never touches the tag-schema index.
        self._put_manifest(desc, io.BytesIO(body), reference, index_referrer=False)

    def delete(self, desc: Descriptor) -> None:
        """Delete a blob or a manifest; a manifest with a `subject` also leaves the subject's
        tag-schema index when the repository has no referrers API."""
        subject = None
        if is_manifest(desc) and self.referrers_api() is not True:
            from oras.referrers import subject_of

            try:
                subject = subject_of(self._get_manifest(desc.digest, _accept(desc.media_type))[0])
            except NotFoundError:
                subject = None
        url = self._manifest_url(desc.digest) if is_manifest(desc) else self._blob_url(desc.digest)
        response = self.send(url, "DELETE")
        response.close()
        if response.status_code not in (200, 202):
            raise registry_error(response, f"deleting {self.name}@{desc.digest}")
        if subject is not None and not self._has_referrers_api(subject):
            self._update_index(subject.digest, remove=desc.digest)

    # -- referrers -------------------------------------------------------------------------------
    def referrers_api(self) -> Optional[bool]:
        """Whether the repository has the referrers API: forced, detected, or None (unknown)."""
        if self._forced_api is not None:
            return self._forced_api
        return self.referrers_support.get(self.name)

    def _has_referrers_api(self, subject: Descriptor) -> bool:
        """Known, or found out by asking the referrers API about `subject`."""
        known = self.referrers_api()
        if known is None:
            self._referrers_from_api(subject, None)
            known = bool(self.referrers_support.get(self.name))
        return known

    def predecessors(self, desc: Descriptor) -> list[Descriptor]:
        """The referrers of `desc` (a registry knows of no other predecessors)."""
        return self.referrers(desc)

    def referrers(self, desc: Descriptor, artifact_type: Optional[str] = None) -> list[Descriptor]:
        """The manifests whose `subject` is `desc`, of `artifact_type` when given: from the
        referrers API (every `Link` page, at most MAX_PAGES; filtered here unless the
        registry says `OCI-Filters-Applied: artifactType`), else from the tag-schema index,
        whose entries are kept only when their manifest names `desc` as its subject."""
        from oras.referrers import REFERRERS_API

        validate_digest(desc.digest)
        if self.referrers_api() is not False:
            found = self._referrers_from_api(desc, artifact_type)
            if found is not None:
                return found
            if self._forced_api:
                raise NotFoundError(
                    f"{self.reference.registry} has no referrers API for {self.name}",
                    status=404,
                    hint=f"leave out --distribution-spec {REFERRERS_API} to use the tag schema",
                )
        return self._referrers_from_tag(desc, artifact_type)

    def _referrers_from_api(
        self, desc: Descriptor, artifact_type: Optional[str]
    ) -> Optional[list[Descriptor]]:
        """The API's answer, or None when the repository turns out to have no API."""
        from oras.referrers import filter_artifact_type

        url = f"{self._base}/referrers/{desc.digest}"
        if artifact_type:
            url = with_query(url, artifactType=artifact_type)
        found: list[Descriptor] = []
        what = f"the referrers of {self.name}@{desc.digest}"
        for page in range(MAX_PAGES):
            response = self.send(url, "GET", headers={"Accept": _INDEX_TYPES})
            if page == 0 and (
                response.status_code == 404
                or (response.status_code == 200 and not is_index(_content_type(response)))
            ):
                response.close()
                log.debug("%s has no referrers API: using the tag schema", self.name)
                self.referrers_support[self.name] = False
                return None
            if response.status_code != 200:
                raise registry_error(response, f"listing {what}")
            self.referrers_support[self.name] = True
            document = _json_object(response, what)
            entries = document.get("manifests") or []
            if not isinstance(entries, list):
                raise ProtocolError(f"{what}: `manifests` is not a list")
            page_found = [_entry(e) for e in entries]
            applied = response.headers.get("OCI-Filters-Applied", "")
            if artifact_type and "artifactType" not in [f.strip() for f in applied.split(",")]:
                page_found = filter_artifact_type(
                    [d for d in page_found if d is not None], artifact_type
                )
            found += [d for d in page_found if d is not None]
            link = next_link(response)
            if not link:
                return found
            url = link
        raise ProtocolError(f"more than {MAX_PAGES} pages listing {what}")

    def _read_index(
        self, tag: str
    ) -> tuple[list[dict[str, Any]], Optional[Descriptor], Optional[str]]:
        """The entries of the tag-schema index `tag` (none when there is no such tag), its
        descriptor and ETag. A tag holding something else than an index is a ProtocolError."""
        response = self.send(
            self._manifest_url(tag), "GET", headers={"Accept": _INDEX_TYPES}, stream=True
        )
        if response.status_code == 404:
            response.close()
            return [], None, None
        if response.status_code != 200:
            raise registry_error(response, f"fetching the referrers index {self.name}:{tag}")
        body = read_limited(response, MAX_MANIFEST_SIZE, f"referrers index {tag}", raw=True)
        from oras.descriptor import parse_manifest

        document = parse_manifest(body, tag)
        media_type = _content_type(response) or str(document.get("mediaType") or "")
        if not is_index(media_type) or not isinstance(document.get("manifests", []), list):
            raise ProtocolError(
                f"{self.name}:{tag} is not a referrers index (it is {media_type or 'untyped'})"
            )
        entries = [e for e in document.get("manifests") or [] if isinstance(e, dict)]
        desc = Descriptor(media_type=media_type, digest=digest_bytes(body), size=len(body))
        return entries, desc, response.headers.get("ETag")

    def _referrers_from_tag(
        self, desc: Descriptor, artifact_type: Optional[str]
    ) -> list[Descriptor]:
        from oras.referrers import filter_artifact_type, referrer_descriptor, referrers_tag

        tag = referrers_tag(desc.digest)
        try:
            entries, _, _ = self._read_index(tag)
        except ProtocolError as e:
            # GitLab answers the tag with the subject itself: no referrers there.
            log.debug("%s: assuming no referrers", e)
            return []
        found: dict[str, Descriptor] = {}
        for entry in entries:
            candidate = _entry(entry)
            if candidate is None or not is_manifest(candidate) or candidate.digest in found:
                continue
            try:
                validate_digest(candidate.digest)
                content, _ = self._get_manifest(candidate.digest, _accept(candidate.media_type))
            except (NotFoundError, ValueError):
                log.info("referrers index %s:%s lists %s, which is gone", self.name, tag,
                         candidate.digest)  # fmt: skip
                continue
            if digest_bytes(content) != candidate.digest:
                continue
            referrer = referrer_descriptor(candidate, content, desc.digest)
            if referrer is None:
                log.info("referrers index %s:%s lists %s, whose subject is not %s: ignored",
                         self.name, tag, candidate.digest, desc.digest)  # fmt: skip
                continue
            found[candidate.digest] = referrer
        return filter_artifact_type(list(found.values()), artifact_type)

    def index_referrer(self, desc: Descriptor, body: bytes, oci_subject: Optional[str]) -> None:
        """After a manifest PUT (`oci_subject`: the response's `OCI-Subject` header): a
        manifest with a subject is added to the subject's tag-schema index unless the
        registry indexes it itself (`OCI-Subject`, or a referrers API found before or now)."""
        if not is_manifest(desc):
            return
        from oras.referrers import referrer_descriptor, subject_of

        subject = subject_of(body)
        if subject is None:
            return
        if oci_subject and self._forced_api is not False:  # forced: the tag schema anyway
            if self._forced_api is None:
                self.referrers_support[self.name] = True
            return
        if self._has_referrers_api(subject):
            return
        entry = referrer_descriptor(desc, body, subject.digest)
        assert entry is not None
        self._update_index(subject.digest, add=entry)

    def _update_index(
        self, subject: str, add: Optional[Descriptor] = None, remove: Optional[str] = None
    ) -> None:
        """Add `add` to (or take the digest `remove` out of) the tag-schema index of
        `subject`, then delete the index it replaces where the registry allows deletes.

        Read, change, write, and read again: when the entry is not as wanted after the write
        (another client wrote the index in between, from what it had read), start over, at
        most MAX_INDEX_ATTEMPTS times. Threads of this process take turns (one lock per
        index); `If-Match` with the index's ETag lets a registry with conditional requests
        refuse a stale write (412), which also starts over."""
        from oras.referrers import index_bytes, referrers_tag

        tag = referrers_tag(subject)
        digest = add.digest if add is not None else remove

        def done(entries: list[dict[str, Any]]) -> bool:
            listed = any(e.get("digest") == digest for e in entries)
            return listed if add is not None else not listed

        with _index_locks.hold(f"{self._base}:{tag}"):
            for attempt in range(MAX_INDEX_ATTEMPTS):
                entries, old, etag = self._read_index(tag)
                if done(entries):
                    return
                if add is not None:
                    changed = [*entries, add.to_dict()]
                else:
                    changed = [e for e in entries if e.get("digest") != remove]
                data = index_bytes(changed)
                new = Descriptor(defaults.default_index_media_type, digest_bytes(data), len(data))
                headers = {"Content-Type": new.media_type}
                if etag:
                    headers["If-Match"] = etag
                response = self.send(self._manifest_url(tag), "PUT", data=data, headers=headers)
                response.close()
                if response.status_code == 412:
                    continue
                if response.status_code not in (200, 201, 202):
                    raise registry_error(response, f"pushing the referrers index {self.name}:{tag}")
                if done(self._read_index(tag)[0]):
                    if old is not None and old.digest != new.digest:
                        self._delete_superseded(tag, old)
                    return
                log.info("referrers index %s:%s changed while it was written: again", self.name,
                         tag)  # fmt: skip
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise ProtocolError(
            f"the referrers index {self.name}:{tag} kept changing: gave up after "
            f"{MAX_INDEX_ATTEMPTS} attempts"
        )

    def _delete_superseded(self, tag: str, old: Descriptor) -> None:
        """Delete the index `old` that `tag` no longer names ("referrers garbage collection");
        a registry that does not allow deletes keeps it, untagged."""
        current = self.send(self._manifest_url(tag), "HEAD", headers={"Accept": _INDEX_TYPES})
        current.close()
        if current.headers.get("Docker-Content-Digest") == old.digest:
            return
        response = self.send(self._manifest_url(old.digest), "DELETE")
        response.close()
        if response.status_code not in (200, 202, 404):
            log.debug(
                "could not delete the superseded referrers index %s@%s (%d): kept",
                self.name,
                old.digest,
                response.status_code,
            )

    # -- listing ---------------------------------------------------------------------------------
    def tags(
        self, last: Optional[str] = None, page_size: Optional[int] = TAGS_PAGE_SIZE
    ) -> Iterator[str]:
        """Every tag after `last`, following `Link` pages (at most MAX_PAGES); `page_size`
        is the `n` asked for per page (None: the registry's default)."""
        url = f"{self._base}/tags/list"
        yield from _pages(self.send, url, "tags", f"the tags of {self.name}", last, page_size)


def catalog(
    send: Send, registry: str, scheme: str = "https", last: Optional[str] = None
) -> Iterator[str]:
    """Every repository name the registry lists (`/v2/_catalog`, all pages)."""
    from oras.reference import registry_api_host

    url = f"{scheme}://{registry_api_host(registry)}/v2/_catalog"
    yield from _pages(send, url, "repositories", f"the repositories of {registry}", last)


def _pages(
    send: Send,
    url: str,
    key: str,
    what: str,
    last: Optional[str],
    page_size: Optional[int] = TAGS_PAGE_SIZE,
) -> Iterator[str]:
    """The names under `key` of a paginated listing (tags or catalog), following `Link`
    headers; at most MAX_PAGES pages."""
    params = {"n": str(page_size)} if page_size is not None else {}
    if last:
        params["last"] = last
    if params:
        url = with_query(url, **params)
    for _ in range(MAX_PAGES):
        response = send(url, "GET")
        if response.status_code != 200:
            raise registry_error(response, f"listing {what}")
        page = _json_object(response, what).get(key) or []
        if not isinstance(page, list):
            raise ProtocolError(f"the list of {what} is not a list")
        yield from (str(name) for name in page)
        link = next_link(response)
        if not link or not page:
            return
        url = link
    raise ProtocolError(f"more than {MAX_PAGES} pages listing {what}")


def _json_object(response: requests.Response, what: str) -> dict[str, Any]:
    from oras.descriptor import parse_json_object

    return parse_json_object(read_limited(response, MAX_MANIFEST_SIZE, what), what)


def _entry(value: Any) -> Optional[Descriptor]:
    """An index entry as a descriptor; None for one that is not a descriptor."""
    if not isinstance(value, dict):
        return None
    try:
        desc = Descriptor.from_dict(value)
    except ProtocolError:
        return None
    return desc if desc.digest and desc.size >= 0 else None


def _accept(media_type: str) -> str:
    types = [media_type] if media_type else []
    types += [t for t in ACCEPTED_MANIFEST_TYPES if t != media_type]
    return ", ".join(types)


def _content_type(response: requests.Response) -> str:
    return (response.headers.get("Content-Type") or "").split(";")[0].strip()


def _declared_type(body: bytes) -> str:
    from oras.descriptor import parse_manifest

    declared = parse_manifest(body, "").get("mediaType")
    return declared if isinstance(declared, str) else ""


class PushedBlob:
    """What an upload of content whose digest was not known in advance found out."""

    def __init__(self, digest: str, size: int, existed: bool) -> None:
        self.digest = digest
        self.size = size
        #: The registry had it already (the upload stopped early).
        self.existed = existed


def push_stream(
    repository: Repository,
    stream: BinaryIO,
    chunk_size: int,
    on_bytes: Optional[Callable[[int], None]] = None,
) -> PushedBlob:
    """Upload a stream of unknown size and digest in chunks, hashing it on the way."""
    start = f"{repository._base}/blobs/uploads/"
    response, digest, size = put_chunked(
        repository.send, start, stream, chunk_size, progress=_Progress(on_bytes)
    )
    response.close()
    check_stored_digest(response, digest)
    return PushedBlob(digest, size, existed=False)


def push_file_while_hashing(
    repository: Repository,
    path: str,
    on_bytes: Optional[Callable[[int], None]] = None,
) -> Optional[PushedBlob]:
    """Upload a large file in the same pass that hashes it (on a second thread), stopping
    early when the registry turns out to hold it. None when the registry does not take
    chunked uploads: the caller then hashes first and uploads in one request."""
    from concurrent.futures import ThreadPoolExecutor

    from oras.concurrency import in_this_context
    from oras.digest import digest_file
    from oras.remote.upload import ChunkedUnsupported, put_file_while_hashing

    size = os.path.getsize(path)
    hashed: dict[str, int] = {}

    def hash_file() -> str:
        found, hashed["size"] = digest_file(path)
        return found

    with ThreadPoolExecutor(max_workers=1) as hasher:
        digest = hasher.submit(in_this_context(hash_file))  # stops with this worker
        try:
            response = put_file_while_hashing(
                repository.send,
                f"{repository._base}/blobs/uploads/",
                path,
                size,
                digest,
                exists=lambda d: repository.exists(Descriptor("", d, size)),
                progress=_Progress(on_bytes),
            )
        except ChunkedUnsupported:
            return None
        found = digest.result()
    if hashed["size"] != size:
        raise DigestMismatchError(f"{path} changed size while it was being uploaded")
    if response is None:
        return PushedBlob(found, size, existed=True)
    response.close()
    if response.status_code not in (201, 204):
        raise registry_error(response, f"uploading blob {found} to {repository.name}")
    check_stored_digest(response, found)
    return PushedBlob(found, size, existed=False)
