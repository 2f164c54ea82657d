"""The referrers of one registry repository, for `oras.remote.repository.Repository`, which
delegates to it: whether the repository has the referrers API (forced by `distribution_spec`,
else detected and remembered per repository), listing referrers from the API (every page,
filtered by artifact type) or from the tag-schema index, and keeping that index up to date
when a manifest with a `subject` is pushed or deleted (read, change, write and check again,
with `If-Match` and one lock per index in this process).
"""

from __future__ import annotations

import logging
import random
import time
from typing import TYPE_CHECKING, Any, Optional

from oras import defaults, descriptor
from oras.concurrency import KeyedLocks
from oras.descriptor import Descriptor, parse_manifest
from oras.digest import digest_bytes, validate_digest
from oras.errors import NotFoundError, ProtocolError
from oras.manifest import is_index, is_manifest
from oras.referrers import (
    DISTRIBUTION_SPECS,
    REFERRERS_API,
    filter_artifact_type,
    index_bytes,
    referrer_descriptor,
    referrers_tag,
    subject_of,
)
from oras.remote import response as answers
from oras.remote.response import (
    content_type,
    json_object,
    next_page,
    read_limited,
    registry_error,
    with_query,
)

if TYPE_CHECKING:
    from oras.remote.repository import Repository

log = logging.getLogger(__name__)

#: Times a tag-schema referrers index is read, changed and written back before giving up
#: (another client changing it at the same moment makes a round start over).
MAX_INDEX_ATTEMPTS = 20

_INDEX_TYPES = f"{defaults.default_index_media_type}, {defaults.docker_manifest_list_media_type}"
#: One lock per tag-schema index this process updates: attaches from threads of one process
#: take turns, so none of them overwrites another's entry (a lock lives while it is used).
_index_locks = KeyedLocks()


class RepositoryReferrers:
    """The referrers side of one `Repository` (its `send`, URLs and manifest reads)."""

    def __init__(
        self,
        repository: Repository,
        referrers_support: dict[str, bool],
        distribution_spec: Optional[str] = None,
    ) -> None:
        self._repo = repository
        #: Repository name -> whether it has the referrers API (detected, then remembered).
        self.referrers_support = referrers_support
        if distribution_spec is not None and distribution_spec not in DISTRIBUTION_SPECS:
            raise ValueError(
                f"unknown distribution spec {distribution_spec!r}: use one of "
                f"{', '.join(DISTRIBUTION_SPECS)}"
            )
        self._forced_api = None if distribution_spec is None else distribution_spec == REFERRERS_API

    def referrers_api(self) -> Optional[bool]:
        """Whether the repository has the referrers API: forced, detected, or None (unknown)."""
        if self._forced_api is not None:
            return self._forced_api
        return self.referrers_support.get(self._repo.name)

    def _has_referrers_api(self, subject: Descriptor) -> bool:
        """Known, or found out by asking the referrers API about `subject`."""
        known = self.referrers_api()
        if known is None:
            self._referrers_from_api(subject, None)
            known = bool(self.referrers_support.get(self._repo.name))
        return known

    def referrers(self, desc: Descriptor, artifact_type: Optional[str] = None) -> list[Descriptor]:
        """The manifests whose `subject` is `desc`, of `artifact_type` when given: from the
        referrers API (every `Link` page, at most MAX_PAGES; filtered here unless the
        registry says `OCI-Filters-Applied: artifactType`), else from the tag-schema index,
        whose entries are kept only when their manifest names `desc` as its subject."""
        validate_digest(desc.digest)
        if self.referrers_api() is not False:
            found = self._referrers_from_api(desc, artifact_type)
            if found is not None:
                return found
            if self._forced_api:
                raise NotFoundError(
                    f"{self._repo.reference.registry} has no referrers API for {self._repo.name}",
                    status=404,
                    hint=f"leave out --distribution-spec {REFERRERS_API} to use the tag schema",
                )
        return self._referrers_from_tag(desc, artifact_type)

    def _referrers_from_api(
        self, desc: Descriptor, artifact_type: Optional[str]
    ) -> Optional[list[Descriptor]]:
        """The API's answer, or None when the repository turns out to have no API."""
        url = f"{self._repo._base}/referrers/{desc.digest}"
        if artifact_type:
            url = with_query(url, artifactType=artifact_type)
        found: list[Descriptor] = []
        what = f"the referrers of {self._repo.name}@{desc.digest}"
        seen: set[str] = set()
        for page in range(answers.MAX_PAGES):
            response = self._repo.send(url, "GET", headers={"Accept": _INDEX_TYPES}, stream=True)
            if page == 0 and (
                response.status_code == 404
                or (response.status_code == 200 and not is_index(content_type(response)))
            ):
                response.close()
                log.debug("%s has no referrers API: using the tag schema", self._repo.name)
                self.referrers_support[self._repo.name] = False
                return None
            if response.status_code != 200:
                raise registry_error(response, f"listing {what}")
            self.referrers_support[self._repo.name] = True
            document = json_object(response, what)
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
            link = next_page(response, seen, what)
            if not link:
                return found
            url = link
        raise ProtocolError(f"more than {answers.MAX_PAGES} pages listing {what}")

    def _read_index(
        self, tag: str
    ) -> tuple[list[dict[str, Any]], Optional[Descriptor], Optional[str]]:
        """The entries of the tag-schema index `tag` (none when there is no such tag), its
        descriptor and ETag. A tag holding something else than an index is a ProtocolError."""
        response = self._repo.send(
            self._repo._manifest_url(tag), "GET", headers={"Accept": _INDEX_TYPES}, stream=True
        )
        if response.status_code == 404:
            response.close()
            return [], None, None
        if response.status_code != 200:
            raise registry_error(response, f"fetching the referrers index {self._repo.name}:{tag}")
        body = read_limited(
            response, descriptor.MAX_MANIFEST_SIZE, f"referrers index {tag}", raw=True
        )
        document = parse_manifest(body, tag)
        media_type = content_type(response) or str(document.get("mediaType") or "")
        if not is_index(media_type) or not isinstance(document.get("manifests", []), list):
            raise ProtocolError(
                f"{self._repo.name}:{tag} is not a referrers index (it is {media_type or 'untyped'})"
            )
        entries = [e for e in document.get("manifests") or [] if isinstance(e, dict)]
        desc = Descriptor(media_type=media_type, digest=digest_bytes(body), size=len(body))
        return entries, desc, response.headers.get("ETag")

    def _referrers_from_tag(
        self, desc: Descriptor, artifact_type: Optional[str]
    ) -> list[Descriptor]:
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
                content = self._repo._fetch_manifest(candidate)
            except (NotFoundError, ValueError):
                log.info("referrers index %s:%s lists %s, which is gone", self._repo.name,
                         tag, candidate.digest)  # fmt: skip
                continue
            if digest_bytes(content) != candidate.digest:
                continue
            referrer = referrer_descriptor(candidate, content, desc.digest)
            if referrer is None:
                log.info("referrers index %s:%s lists %s, whose subject is not %s: ignored",
                         self._repo.name, tag, candidate.digest, desc.digest)  # fmt: skip
                continue
            found[candidate.digest] = referrer
        return filter_artifact_type(list(found.values()), artifact_type)

    def index_referrer(self, desc: Descriptor, body: bytes, oci_subject: Optional[str]) -> None:
        """After a manifest PUT (`oci_subject`: the response's `OCI-Subject` header): a
        manifest with a subject is added to the subject's tag-schema index unless the
        registry indexes it itself (`OCI-Subject`, or a referrers API found before or now)."""
        if not is_manifest(desc):
            return
        subject = subject_of(body)
        if subject is None:
            return
        if oci_subject and self._forced_api is not False:  # forced: the tag schema anyway
            if self._forced_api is None:
                self.referrers_support[self._repo.name] = True
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
        tag = referrers_tag(subject)
        digest = add.digest if add is not None else remove

        def done(entries: list[dict[str, Any]]) -> bool:
            listed = any(e.get("digest") == digest for e in entries)
            return listed if add is not None else not listed

        with _index_locks.hold(f"{self._repo._base}:{tag}"):
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
                response = self._repo.send(
                    self._repo._manifest_url(tag), "PUT", data=data, headers=headers
                )
                response.close()
                if response.status_code == 412:
                    continue
                if response.status_code not in (200, 201, 202):
                    raise registry_error(
                        response, f"pushing the referrers index {self._repo.name}:{tag}"
                    )
                if done(self._read_index(tag)[0]):
                    if old is not None and old.digest != new.digest:
                        self._delete_superseded(tag, old)
                    return
                log.info("referrers index %s:%s changed while it was written: again",
                         self._repo.name, tag)  # fmt: skip
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise ProtocolError(
            f"the referrers index {self._repo.name}:{tag} kept changing: gave up after "
            f"{MAX_INDEX_ATTEMPTS} attempts"
        )

    def _delete_superseded(self, tag: str, old: Descriptor) -> None:
        """Delete the index `old` that `tag` no longer names ("referrers garbage collection");
        a registry that does not allow deletes keeps it, untagged."""
        current = self._repo.send(
            self._repo._manifest_url(tag), "HEAD", headers={"Accept": _INDEX_TYPES}
        )
        current.close()
        if current.headers.get("Docker-Content-Digest") == old.digest:
            return
        response = self._repo.send(self._repo._manifest_url(old.digest), "DELETE")
        response.close()
        if response.status_code not in (200, 202, 404):
            log.debug(
                "could not delete the superseded referrers index %s@%s (%d): kept",
                self._repo.name,
                old.digest,
                response.status_code,
            )

    def subject_to_unindex(self, desc: Descriptor) -> Optional[Descriptor]:
        """Before `desc` is deleted: its subject, when it is a manifest with one that may be
        listed in a tag-schema index (the repository is not known to have the API)."""
        if not is_manifest(desc) or self.referrers_api() is True:
            return None
        try:
            return subject_of(self._repo._fetch_manifest(desc))
        except NotFoundError:
            return None

    def unindex(self, subject: Descriptor, digest: str) -> None:
        """After the manifest `digest` was deleted: take it out of `subject`'s tag-schema index
        unless the repository has the referrers API."""
        if not self._has_referrers_api(subject):
            self._update_index(subject.digest, remove=digest)


def _entry(value: Any) -> Optional[Descriptor]:
    """An index entry as a descriptor; None for one that is not a descriptor."""
    if not isinstance(value, dict):
        return None
    try:
        desc = Descriptor.from_dict(value)
    except ProtocolError:
        return None
    return desc if desc.digest and desc.size >= 0 else None
