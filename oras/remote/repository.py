"""Repository: one repository of a registry as a content store (a Target, Mounter, Deleter,
TagLister, ReferencePusher and PredecessorFinder), over an injected `send` (the client's
request function, with auth and retry), so every request of a custom client still goes
through its `do_request`.

Referrers come from the registry's referrers API where it has one, else from the tag-schema
fallback (an image index under the tag `<alg>-<hex>` of the subject), which this store keeps
up to date when it pushes or deletes a manifest with a `subject`. Which of the two a
repository has is detected (a referrers response with an index content type, `OCI-Subject` on
a manifest PUT) and remembered in `referrers_support`, shared by the client's repositories;
`distribution_spec` forces one. That logic lives in `oras.remote.referrers`.

Pushing blobs (a file, bytes or a stream of known digest, a mount, content hashed while it
uploads) lives in `oras.remote.blob_push`; the store's `push`, `upload_file` and `mount`
delegate to it.
"""

from __future__ import annotations

import io
import logging
from typing import Any, BinaryIO, Callable, Iterator, Optional, Sequence

import requests

from oras import descriptor
from oras.content.reader import read_all
from oras.descriptor import ACCEPTED_MANIFEST_TYPES, Descriptor
from oras.digest import digest_bytes, validate_digest
from oras.errors import DigestMismatchError, NotFoundError, ProtocolError
from oras.manifest import is_manifest
from oras.progress import ProgressReporter
from oras.reference import Reference
from oras.remote import response as answers

# Defined here before the blob uploads moved to oras.remote.blob_push: re-exported.
from oras.remote.blob_push import SMALL_BLOB_SIZE as SMALL_BLOB_SIZE
from oras.remote.blob_push import PushedBlob as PushedBlob
from oras.remote.blob_push import RepositoryBlobs
from oras.remote.blob_push import push_file_while_hashing as push_file_while_hashing
from oras.remote.blob_push import push_stream as push_stream
from oras.remote.download import THREADED_HASH_SIZE, BlobStream
from oras.remote.ranged import GetRange, RangedBlob, RangedOptions, range_getter
from oras.remote.ranged import download as download_ranged
from oras.remote.referrers import RepositoryReferrers
from oras.remote.response import (
    content_type,
    json_object,
    next_page,
    read_limited,
    registry_error,
    with_query,
)
from oras.remote.upload import (
    check_stored_manifest,
)

log = logging.getLogger(__name__)

#: `send(url, method, data=None, headers=None, stream=False)`: one authenticated request.
Send = Callable[..., requests.Response]

#: Largest answer read for one page of a tag list or catalog (a registry that ignores `n`
#: may send every tag at once: a million tags is some 15 MB); a referrers page is an index,
#: capped at `oras.descriptor.MAX_MANIFEST_SIZE` like any other.
MAX_LIST_SIZE = 32 * 1024 * 1024
#: Tags asked for per page of a tag list.
TAGS_PAGE_SIZE = 1000


_OCTET = "application/octet-stream"


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
        self.send = send
        self.reference = reference
        self.scheme = scheme
        #: How large blobs are downloaded (parallel ranges; see `oras.remote.ranged`).
        self.ranged = ranged or RangedOptions()
        self._base = f"{scheme}://{reference.api_host}/v2/{reference.repository}"
        #: Repository name -> whether it has the referrers API (detected, then remembered).
        self.referrers_support = referrers_support if referrers_support is not None else {}
        self._referrers = RepositoryReferrers(self, self.referrers_support, distribution_spec)
        self._blobs = RepositoryBlobs(self)

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
            if desc.size > descriptor.MAX_MANIFEST_SIZE:
                raise ProtocolError(
                    f"manifest {self.name}@{desc.digest} is {desc.size} bytes, over the "
                    f"{descriptor.MAX_MANIFEST_SIZE} byte limit"
                )
            return io.BytesIO(self._fetch_manifest(desc))
        get, check = self._blob_getter(desc.digest)
        if desc.size >= THREADED_HASH_SIZE or (
            self.ranged.ranges > 1 and desc.size >= self.ranged.threshold
        ):
            # Read as a stream, or written to a file by a store that can: in ranges where that
            # pays, else as one stream hashed on a second thread while it is written.
            return RangedBlob(get, desc.digest, desc.size, check, self.ranged)  # type: ignore[return-value]
        stream = BlobStream(lambda offset: get(offset, None), desc.digest, check, desc.size)
        return stream  # type: ignore[return-value]

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
            body = read_limited(
                response, descriptor.MAX_MANIFEST_SIZE, f"manifest {reference}", raw=True
            )
        finally:
            response.close()
        return body, response

    def _fetch_manifest(self, desc: Descriptor) -> bytes:
        """The bytes of the manifest `desc`, asked for with its media type first."""
        return self._get_manifest(desc.digest, _accept(desc.media_type))[0]

    def fetch_reference(
        self, reference: str, accept: Optional[Sequence[str]] = None
    ) -> tuple[Descriptor, bytes]:
        """A manifest by tag or digest: its descriptor and exact bytes (checked against the
        digest asked for, or the one the registry served). `accept` replaces the media types
        asked for (default: every manifest and index type this client reads)."""
        body, response = self._get_manifest(reference, ", ".join(accept or ACCEPTED_MANIFEST_TYPES))
        digest = digest_bytes(body)
        served = response.headers.get("Docker-Content-Digest")
        for expected in (reference if ":" in reference else None, served):
            if expected and _digest_as(body, expected) != expected:
                raise DigestMismatchError(
                    f"manifest {self.name}@{reference} was served as {expected[:80]} but its "
                    f"bytes digest to {_digest_as(body, expected) or digest}"
                )
        media_type = content_type(response) or _declared_type(body)
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
        media_type = content_type(response)
        if ":" in reference and digest and digest != reference:
            raise DigestMismatchError(
                f"{self.name}@{reference} was resolved to {digest[:80]}: not the digest asked for"
            )
        if ":" in reference and size.isdigit():
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
            self._blobs.push(expected, content)

    def push_reference(self, expected: Descriptor, content: BinaryIO, reference: str) -> None:
        self._put_manifest(expected, content, reference)

    def _put_manifest(
        self, expected: Descriptor, content: BinaryIO, reference: str, index_referrer: bool = True
    ) -> None:
        body = read_all(content, expected, limit=descriptor.MAX_MANIFEST_SIZE)
        response = self.put_manifest(body, expected.media_type, reference)
        if response.status_code not in (200, 201, 202):
            raise registry_error(response, f"pushing manifest {self.name}:{reference}")
        check_stored_manifest(response, body)
        if index_referrer:  # a manifest with a `subject` joins the tag-schema index if needed
            self.index_referrer(expected, body, response.headers.get("OCI-Subject"))

    def put_manifest(self, body: bytes, media_type: str, reference: str) -> requests.Response:
        """PUT manifest bytes under a tag or digest; the response, whatever its status."""
        if len(body) > descriptor.MAX_MANIFEST_SIZE:
            raise ProtocolError(f"manifest is over the {descriptor.MAX_MANIFEST_SIZE} byte limit")
        response = self.send(
            self._manifest_url(reference),
            "PUT",
            data=body,
            headers={"Content-Type": media_type},
        )
        response.close()
        return response

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
        return self._blobs.upload_file(path, digest, size, progress, chunk_size)

    def mount(
        self,
        desc: Descriptor,
        from_repository: str,
        get_content: Optional[Callable[[], BinaryIO]] = None,
    ) -> None:
        """Cross-repository mount (POST `?mount=&from=`); a registry that answers with an
        upload session instead gets the content uploaded there, or the session cancelled."""
        self._blobs.mount(desc, from_repository, get_content)

    def tag(self, desc: Descriptor, reference: str) -> None:
        """PUT the manifest's own bytes under the tag."""
        body = read_all(self.fetch(desc), desc)
        # Re-tagging a referrer never touches the tag-schema index.
        self._put_manifest(desc, io.BytesIO(body), reference, index_referrer=False)

    def delete(self, desc: Descriptor) -> None:
        """Delete a blob or a manifest; a manifest with a `subject` also leaves the subject's
        tag-schema index when the repository has no referrers API."""
        subject = self._referrers.subject_to_unindex(desc)
        url = self._manifest_url(desc.digest) if is_manifest(desc) else self._blob_url(desc.digest)
        response = self.send(url, "DELETE")
        response.close()
        if response.status_code not in (200, 202):
            raise registry_error(response, f"deleting {self.name}@{desc.digest}")
        if subject is not None:
            self._referrers.unindex(subject, desc.digest)

    # -- referrers (see oras.remote.referrers) ---------------------------------------------------
    def referrers_api(self) -> Optional[bool]:
        """Whether the repository has the referrers API: forced, detected, or None (unknown)."""
        return self._referrers.referrers_api()

    def predecessors(self, desc: Descriptor) -> list[Descriptor]:
        """The referrers of `desc` (a registry knows of no other predecessors)."""
        return self.referrers(desc)

    def referrers(self, desc: Descriptor, artifact_type: Optional[str] = None) -> list[Descriptor]:
        """The manifests whose `subject` is `desc`, of `artifact_type` when given: from the
        referrers API (every `Link` page, at most MAX_PAGES; filtered here unless the
        registry says `OCI-Filters-Applied: artifactType`), else from the tag-schema index,
        whose entries are kept only when their manifest names `desc` as its subject."""
        return self._referrers.referrers(desc, artifact_type)

    def index_referrer(self, desc: Descriptor, body: bytes, oci_subject: Optional[str]) -> None:
        """After a manifest PUT (`oci_subject`: the response's `OCI-Subject` header): a
        manifest with a subject is added to the subject's tag-schema index unless the
        registry indexes it itself (`OCI-Subject`, or a referrers API found before or now)."""
        self._referrers.index_referrer(desc, body, oci_subject)

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
    headers; at most `oras.remote.response.MAX_PAGES` pages, none twice, none elsewhere."""
    params = {"n": str(page_size)} if page_size is not None else {}
    if last:
        params["last"] = last
    if params:
        url = with_query(url, **params)
    seen: set[str] = set()
    for _ in range(answers.MAX_PAGES):
        response = send(url, "GET", stream=True)
        if response.status_code != 200:
            raise registry_error(response, f"listing {what}")
        page = json_object(response, what, MAX_LIST_SIZE).get(key) or []
        if not isinstance(page, list):
            raise ProtocolError(f"the list of {what} is not a list")
        yield from (str(name) for name in page)
        link = next_page(response, seen, what)
        if not link or not page:
            return
        url = link
    raise ProtocolError(f"more than {answers.MAX_PAGES} pages listing {what}")


def _digest_as(body: bytes, expected: str) -> Optional[str]:
    """The digest of `body` in the algorithm of `expected`; None when `expected` is not a
    digest this client can compute (then it cannot be checked, and is not trusted either)."""
    from oras.digest import Hasher

    try:
        hasher = Hasher.for_digest(expected)
    except ValueError:
        return None
    hasher.update(body)
    return hasher.digest()


def _accept(media_type: str) -> str:
    types = [media_type] if media_type else []
    types += [t for t in ACCEPTED_MANIFEST_TYPES if t != media_type]
    return ", ".join(types)


def _declared_type(body: bytes) -> str:
    from oras.descriptor import parse_manifest

    declared = parse_manifest(body, "").get("mediaType")
    return declared if isinstance(declared, str) else ""
