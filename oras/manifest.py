"""Manifests and indexes as graph nodes: which descriptors a node points at (its successors),
and which entry of an index matches a platform."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Optional

from oras.descriptor import (
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    Descriptor,
    descriptor_problem,
    parse_manifest,
)
from oras.digest import digest_problem
from oras.errors import ArgumentError, InvalidDigestError, InvalidManifestError, ProtocolError

#: The OCI artifact manifest of image-spec 1.1's release candidates (read, never written).
ARTIFACT_MANIFEST_MEDIA_TYPE = "application/vnd.oci.artifact.manifest.v1+json"
#: Media types whose content is a manifest or an index (a node with successors).
GRAPH_MEDIA_TYPES = MANIFEST_MEDIA_TYPES | INDEX_MEDIA_TYPES | {ARTIFACT_MANIFEST_MEDIA_TYPE}


def is_manifest(desc: Descriptor) -> bool:
    """Whether `desc` is a manifest or an index (its content names other content)."""
    return desc.media_type in GRAPH_MEDIA_TYPES


def is_index(desc_or_type: Any) -> bool:
    media_type = desc_or_type.media_type if isinstance(desc_or_type, Descriptor) else desc_or_type
    return media_type in INDEX_MEDIA_TYPES


def _descriptor(value: Any, where: str) -> Descriptor:
    """`value` as a Descriptor, if its fields are what the spec says (a well-formed digest, a
    non-negative integer size, string annotations): a graph walk builds URLs and file names
    from them. InvalidDigestError for a digest that is not one, InvalidManifestError (a
    ProtocolError) for the other fields, naming the field."""
    digest = value.get("digest") if isinstance(value, dict) else None
    if isinstance(digest, str) and digest_problem(digest):
        raise InvalidDigestError(f"{where} has an invalid digest ({digest_problem(digest)})")
    problem = descriptor_problem(value)
    if problem:
        raise InvalidManifestError(f"{where} {problem}")
    return Descriptor.from_dict(value)


def _list(document: dict[str, Any], key: str, what: str) -> list[Any]:
    value = document.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProtocolError(f"manifest {what}: `{key}` is not a list")
    return value


def successors(desc: Descriptor, content: bytes) -> list[Descriptor]:
    """What a node points at, in the order a copy should send them: for a manifest its
    subject, config and layers; for an index its subject and manifests; nothing for a blob."""
    if not is_manifest(desc):
        return []
    document = parse_manifest(content, desc.digest)
    found: list[Descriptor] = []
    subject = document.get("subject")
    if subject is not None:
        found.append(_descriptor(subject, f"manifest {desc.digest} subject"))
    if is_index(desc):
        for i, entry in enumerate(_list(document, "manifests", desc.digest)):
            found.append(_descriptor(entry, f"manifest {desc.digest} manifests[{i}]"))
        return found
    config = document.get("config")
    if config is not None:
        found.append(_descriptor(config, f"manifest {desc.digest} config"))
    for key in ("layers", "blobs"):  # `blobs`: the withdrawn OCI artifact manifest
        for i, entry in enumerate(_list(document, key, desc.digest)):
            found.append(_descriptor(entry, f"manifest {desc.digest} {key}[{i}]"))
    return found


@dataclass(frozen=True)
class Platform:
    """`os/arch[/variant]`, as given to `--platform`."""

    os: str
    architecture: str
    variant: Optional[str] = None
    os_version: Optional[str] = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """`linux/amd64`, `linux/arm/v7`, `windows/amd64:10.0.17763`; ArgumentError (a
        ValueError) otherwise."""
        spec, _, os_version = text.partition(":")
        parts = spec.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ArgumentError(
                f"invalid platform {text!r}: expected os/arch[/variant][:os_version], "
                "e.g. linux/amd64"
            )
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None, os_version or None)

    @classmethod
    def current(cls) -> Platform:
        """The platform of this machine, in OCI's names."""
        import platform  # imported on use: it costs start-up time for every command

        machine = platform.machine().lower()
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
        os_name = "linux" if sys.platform.startswith("linux") else sys.platform
        return cls(os_name, arch)

    def matches(self, spec: Any) -> bool:
        """Whether an index entry's `platform` object satisfies this platform."""
        if not isinstance(spec, dict):
            return False
        if spec.get("os") != self.os or spec.get("architecture") != self.architecture:
            return False
        if self.variant and spec.get("variant") != self.variant:
            return False
        return not (self.os_version and spec.get("os.version") != self.os_version)

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        if self.variant:
            text += f"/{self.variant}"
        if self.os_version:
            text += f":{self.os_version}"
        return text


def describe_platform(spec: Any) -> str:
    if not isinstance(spec, dict):
        return "?"
    return "/".join(str(spec[k]) for k in ("os", "architecture", "variant") if spec.get(k))


def select_platform(index_desc: Descriptor, content: bytes, want: Platform) -> Descriptor:
    """The first entry of an index whose platform matches `want`; NotFoundError naming the
    platforms the index has otherwise."""
    document = parse_manifest(content, index_desc.digest)
    entries = [
        _descriptor(entry, f"manifest {index_desc.digest} manifests[{i}]")
        for i, entry in enumerate(_list(document, "manifests", index_desc.digest))
        if isinstance(entry, dict)
    ]
    return pick_platform(entries, want, index_desc.digest)


def pick_platform(entries: list[Descriptor], want: Platform, what: str) -> Descriptor:
    """The first of an index's `entries` whose platform matches `want`; NotFoundError naming
    the index (`what`) and the platforms it has otherwise."""
    from oras.errors import NotFoundError

    for entry in entries:
        if want.matches(entry.platform):
            return entry
    have = ", ".join(describe_platform(e.platform) for e in entries) or "none"
    raise NotFoundError(
        f"{what} has no manifest for platform {want} (it has: {have})",
        status=404,
        hint="choose one of the platforms it has with --platform",
    )
