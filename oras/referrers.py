"""Referrers: the manifests whose `subject` names a given manifest (signatures, SBOMs,
attestations), found in any store that answers `predecessors` or `referrers`.

A registry answers through its referrers API or the tag-schema fallback (an image index under
the tag `<alg>-<hex>`, see `oras.remote.referrers`); memory stores and OCI layouts answer from
the manifests they hold. Whatever the source, a referrer is listed only when its own manifest
names the subject, and its descriptor carries the manifest's `artifactType` (else the config's
media type) and annotations, as the referrers API lists it.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Optional

from oras import defaults, descriptor
from oras.content.reader import read_all
from oras.descriptor import Descriptor, parse_manifest
from oras.errors import NotFoundError, ProtocolError
from oras.manifest import is_manifest

__all__ = [
    "REFERRERS_API",
    "REFERRERS_TAG",
    "DISTRIBUTION_SPECS",
    "filter_artifact_type",
    "find_referrers",
    "index_bytes",
    "is_referrers_tag",
    "referrer_descriptor",
    "referrers_tag",
    "subject_of",
]

log = logging.getLogger(__name__)

#: `--distribution-spec` values: use the registry's referrers API, or the tag schema.
REFERRERS_API = "v1.1-referrers-api"
REFERRERS_TAG = "v1.1-referrers-tag"
DISTRIBUTION_SPECS = (REFERRERS_API, REFERRERS_TAG)

_NOT_IN_TAG = re.compile(r"[^a-zA-Z0-9._-]")


def referrers_tag(digest: str) -> str:
    """The tag-schema tag of a subject: `<alg>-<encoded>`, the algorithm cut to 32 characters
    and the encoded part to 64, any character a tag cannot hold turned into `-`."""
    algorithm, _, encoded = digest.partition(":")
    return _NOT_IN_TAG.sub("-", f"{algorithm[:32]}-{encoded[:64]}")


_REFERRERS_TAG = re.compile(r"[a-z0-9]{1,32}-[a-zA-Z0-9_-]{64}")


def is_referrers_tag(tag: str) -> bool:
    """Whether `tag` has the shape of a tag-schema referrers tag (`sha256-<64 hex>`)."""
    return _REFERRERS_TAG.fullmatch(tag) is not None


def subject_of(content: bytes) -> Optional[Descriptor]:
    """The `subject` of a manifest or index (None when it has none or is not JSON)."""
    try:
        document = json.loads(content)
    except ValueError:
        return None
    subject = document.get("subject") if isinstance(document, dict) else None
    if not isinstance(subject, dict):
        return None
    try:
        return Descriptor.from_dict(subject)
    except ProtocolError:
        return None


def referrer_descriptor(
    desc: Descriptor, content: bytes, subject_digest: str
) -> Optional[Descriptor]:
    """`desc` as a referrers listing shows it (media type, digest, size, `artifactType`,
    annotations), or None when its manifest does not name `subject_digest` as its subject."""
    subject = subject_of(content)
    if subject is None or subject.digest != subject_digest:
        return None
    document = parse_manifest(content, desc.digest)
    artifact_type = document.get("artifactType")
    if not isinstance(artifact_type, str) or not artifact_type:
        config = document.get("config")
        artifact_type = config.get("mediaType") if isinstance(config, dict) else None
    annotations = document.get("annotations")
    media_type = desc.media_type or str(document.get("mediaType") or "")
    return Descriptor(
        media_type=media_type,
        digest=desc.digest,
        size=desc.size,
        artifact_type=artifact_type if isinstance(artifact_type, str) and artifact_type else None,
        annotations=dict(annotations) if isinstance(annotations, dict) and annotations else None,
    )


def filter_artifact_type(found: list[Descriptor], artifact_type: Optional[str]) -> list[Descriptor]:
    """The referrers of that artifact type (all of them without one)."""
    if not artifact_type:
        return list(found)
    return [d for d in found if d.artifact_type == artifact_type]


def index_bytes(entries: list[dict[str, Any]]) -> bytes:
    """A referrers tag-schema index holding `entries`."""
    index = {
        "schemaVersion": 2,
        "mediaType": defaults.default_index_media_type,
        "manifests": entries,
    }
    return json.dumps(index).encode("utf-8")


def find_referrers(
    store: Any, desc: Descriptor, artifact_type: Optional[str] = None
) -> list[Descriptor]:
    """The referrers of `desc` in `store`: a store with its own `referrers` (a registry)
    answers itself; any other PredecessorFinder's manifests are read and kept when they name
    `desc` as their subject. Sorted by digest for a stable listing order."""
    own = getattr(store, "referrers", None)
    if callable(own):
        return own(desc, artifact_type)
    found: list[Descriptor] = []
    for candidate in store.predecessors(desc):
        if not is_manifest(candidate) or candidate.size > descriptor.MAX_MANIFEST_SIZE:
            continue
        try:
            content = read_all(store.fetch(candidate), candidate)
        except NotFoundError:
            continue
        referrer = referrer_descriptor(candidate, content, desc.digest)
        if referrer is not None:
            found.append(referrer)
    return sorted(filter_artifact_type(found, artifact_type), key=lambda d: d.digest)
