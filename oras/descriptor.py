"""Descriptors (media type, digest, size): the unit of identity for every piece of content."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from oras import defaults

EMPTY_JSON = b"{}"

MANIFEST_MEDIA_TYPES = frozenset(
    {defaults.default_manifest_media_type, defaults.docker_manifest_media_type}
)
INDEX_MEDIA_TYPES = frozenset(
    {defaults.default_index_media_type, defaults.docker_manifest_list_media_type}
)
#: Every manifest type this client reads, in preference order, for `Accept`.
ACCEPTED_MANIFEST_TYPES: tuple[str, ...] = tuple(defaults.default_manifest_accepted_media_types)

#: Largest manifest we read or write (what registries accept in practice).
MAX_MANIFEST_SIZE = 4 * 1024 * 1024


@dataclass
class Descriptor:
    """An OCI content descriptor; `to_dict` keeps oras-py's key order (mediaType, size, digest)."""

    media_type: str
    digest: str
    size: int
    annotations: Optional[dict[str, str]] = None
    artifact_type: Optional[str] = None
    platform: Optional[dict[str, Any]] = None
    urls: Optional[list[str]] = None
    data: Optional[str] = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> Optional[str]:
        return (self.annotations or {}).get(defaults.annotation_title)

    @property
    def is_manifest(self) -> bool:
        return self.media_type in MANIFEST_MEDIA_TYPES or self.media_type in INDEX_MEDIA_TYPES

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "size": self.size,
            "digest": self.digest,
        }
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.urls:
            out["urls"] = list(self.urls)
        if self.data is not None:
            out["data"] = self.data
        if self.platform:
            out["platform"] = dict(self.platform)
        if self.annotations is not None:
            out["annotations"] = dict(self.annotations)
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Descriptor:
        known = {"mediaType", "digest", "size", "annotations", "artifactType", "platform", "urls"}
        known.add("data")
        try:
            return cls(
                media_type=str(d.get("mediaType") or ""),
                digest=str(d["digest"]),
                size=int(d["size"]),
                annotations=d.get("annotations"),
                artifact_type=d.get("artifactType"),
                platform=d.get("platform"),
                urls=d.get("urls"),
                data=d.get("data"),
                extra={k: v for k, v in d.items() if k not in known},
            )
        except (KeyError, TypeError, ValueError) as e:
            from oras.errors import ProtocolError

            raise ProtocolError(f"malformed descriptor {d!r}: {e}") from None


def empty_descriptor(media_type: str = defaults.empty_media_type) -> Descriptor:
    """The descriptor of the 2-byte `{}` blob, under the given media type."""
    return Descriptor(media_type=media_type, digest=defaults.blank_config_hash, size=2)


def parse_json_object(raw: bytes, what: str) -> dict[str, Any]:
    """`raw` as a JSON object; ProtocolError (a ValueError) naming `what` otherwise."""
    from oras.errors import ProtocolError

    try:
        document = json.loads(raw)
    except ValueError:
        raise ProtocolError(f"{what} is not valid JSON (not JSON at all)") from None
    if not isinstance(document, dict):
        raise ProtocolError(f"{what} is not a JSON object")
    return document


def parse_manifest(raw: bytes, what: str) -> dict[str, Any]:
    """A manifest or index's JSON object (`what` names it in errors)."""
    return parse_json_object(raw, f"manifest {what}")
