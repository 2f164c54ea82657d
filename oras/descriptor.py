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

    def identity(self) -> Descriptor:
        """This descriptor as stores keep it: media type, digest, size, artifact type and
        annotations (no platform, URLs or embedded data)."""
        return Descriptor(
            media_type=self.media_type,
            digest=self.digest,
            size=self.size,
            artifact_type=self.artifact_type,
            annotations=self.annotations,
        )

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
        from oras.errors import ProtocolError

        if not isinstance(d, dict):
            raise ProtocolError(f"malformed descriptor: {_kind(d)}, not an object")
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
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            # OverflowError: a size of 1e999 (JSON's Infinity) has no int.
            shown = repr(d)
            shown = shown if len(shown) <= 200 else shown[:200] + "..."
            raise ProtocolError(f"malformed descriptor {shown}: {e}") from None


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
    except RecursionError:
        raise ProtocolError(f"{what} is nested too deeply to read") from None
    if not isinstance(document, dict):
        raise ProtocolError(f"{what} is not a JSON object")
    return document


def parse_manifest(raw: bytes, what: str) -> dict[str, Any]:
    """A manifest or index's JSON object (`what` names it in errors)."""
    return parse_json_object(raw, f"manifest {what}")


def _kind(value: Any) -> str:
    """A JSON value's type, as JSON names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def descriptor_problem(d: Any) -> Optional[str]:
    """What is wrong with a descriptor's fields, or None."""
    from oras.digest import digest_problem

    if not isinstance(d, dict):
        return f"is {_kind(d)}, not an object"
    if not isinstance(d.get("mediaType", ""), str):
        return f"has a mediaType that is {_kind(d['mediaType'])}, not a string"
    if "digest" not in d:
        return "has no digest"
    problem = digest_problem(d["digest"])
    if problem:
        return f"has an invalid digest ({problem})"
    size = d.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return f"has a size that is {_kind(size)}, not a non-negative integer"
    annotations = d.get("annotations")
    if annotations is None:
        return None
    if not isinstance(annotations, dict):
        return f"has annotations that are {_kind(annotations)}, not an object"
    for key, value in annotations.items():
        if not isinstance(value, str):
            return f"has annotation {key!r} that is {_kind(value)}, not a string"
    return None


def check_manifest(manifest: dict[str, Any], what: str) -> dict[str, Any]:
    """`manifest` if the fields a pull reads have the types the OCI spec gives them (an
    index's `manifests`, an image manifest's `config` and `layers`); InvalidManifestError
    naming the first one that does not, instead of a Python error later."""
    from oras.errors import InvalidManifestError

    def fail(where: str, problem: str) -> InvalidManifestError:
        return InvalidManifestError(f"manifest {what} is malformed: {where} {problem}")

    if not isinstance(manifest, dict):
        raise fail("it", f"is {_kind(manifest)}, not an object")
    media_type = manifest.get("mediaType")
    if media_type is not None and not isinstance(media_type, str):
        raise fail("mediaType", f"is {_kind(media_type)}, not a string")
    is_index = media_type in INDEX_MEDIA_TYPES or "manifests" in manifest
    field = "manifests" if is_index else "layers"
    entries = manifest.get(field)
    if entries is not None and not isinstance(entries, list):
        raise fail(field, f"is {_kind(entries)}, not an array")
    for i, entry in enumerate(entries or []):
        problem = descriptor_problem(entry)
        if problem:
            raise fail(f"{field}[{i}]", problem)
        platform = entry.get("platform")
        if is_index and platform is not None and not isinstance(platform, dict):
            raise fail(f"{field}[{i}].platform", f"is {_kind(platform)}, not an object")
    config = manifest.get("config")
    if not is_index and config is not None:
        problem = descriptor_problem(config)
        if problem:
            raise fail("config", problem)
    return manifest
