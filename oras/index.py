"""Image indexes built from manifests of one store: create one from tags and digests, or update
one (add manifests, merge other indexes, remove entries, change the artifact type), as Go
`oras manifest index create` and `update` do.

Each entry is the manifest's plain descriptor (media type, digest, size) plus, as Go `oras`
adds them, the manifest's `artifactType` and the platform its config describes (when the config
has `os` or `architecture`). The index is written as compact JSON in Go's field order."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from oras import defaults
from oras.content.reader import read_all
from oras.descriptor import MAX_MANIFEST_SIZE, Descriptor, parse_manifest
from oras.digest import digest_bytes, digest_problem
from oras.errors import ArgumentError
from oras.manifest import is_index, is_manifest
from oras.operations import compact_json, fetch_manifest, go_descriptor, push_manifest

#: The image index media type every index built here has.
INDEX_MEDIA_TYPE = defaults.default_index_media_type
#: Largest config read to find a manifest's platform.
MAX_CONFIG_SIZE = MAX_MANIFEST_SIZE

#: RFC 6838 media type, as Go `oras` checks `--artifact-type`.
_MEDIA_TYPE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"
)
_PLATFORM_KEYS = ("architecture", "os", "os.version", "os.features", "variant", "features")


@dataclass
class IndexEvents:
    """Callbacks for each step (all optional): what the CLI prints as `Fetching`, `Fetched`,
    `Added`, `Merged` and `Removed` lines."""

    on_fetching: Optional[Callable[[str], None]] = None
    on_fetched: Optional[Callable[[str, Descriptor], None]] = None
    on_added: Optional[Callable[[str, Descriptor], None]] = None
    on_merged: Optional[Callable[[str, Descriptor], None]] = None
    on_removed: Optional[Callable[[str], None]] = None


def check_media_type(media_type: str) -> str:
    """`media_type` if it is a well-formed `type/subtype`; ArgumentError otherwise."""
    if not _MEDIA_TYPE.match(media_type):
        raise ArgumentError(f"{media_type}: invalid media type")
    return media_type


def _fetch(store: Any, reference: str, events: IndexEvents) -> tuple[Descriptor, bytes]:
    if events.on_fetching:
        events.on_fetching(reference)
    desc, content = fetch_manifest(store, reference)
    if events.on_fetched:
        events.on_fetched(reference, desc)
    return desc, content


def index_entry(store: Any, desc: Descriptor, content: bytes) -> Descriptor:
    """The entry of an index for the manifest `desc` (with its bytes `content`)."""
    entry = Descriptor(media_type=desc.media_type, digest=desc.digest, size=desc.size)
    document = parse_manifest(content, desc.digest)
    artifact_type = document.get("artifactType")
    if isinstance(artifact_type, str) and artifact_type:
        entry.artifact_type = artifact_type
    if is_index(desc):
        return entry
    config = document.get("config")
    if isinstance(config, dict):
        entry.platform = _config_platform(store, Descriptor.from_dict(config))
    return entry


def _config_platform(store: Any, config: Descriptor) -> Optional[dict[str, Any]]:
    if config.size > MAX_CONFIG_SIZE:
        raise ArgumentError(f"config {config.digest} is over the {MAX_CONFIG_SIZE} byte limit")
    data = read_all(store.fetch(config), config, limit=MAX_CONFIG_SIZE)
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if not isinstance(document, dict) or not (document.get("os") or document.get("architecture")):
        return None
    return {k: document[k] for k in _PLATFORM_KEYS if document.get(k)}


def _manifest_entry(store: Any, reference: str, events: IndexEvents) -> Descriptor:
    try:
        desc, content = _fetch(store, reference, events)
    except ValueError as e:
        raise type(e)(f"could not find the manifest {reference}: {e}") from e
    if not is_manifest(desc):
        raise ArgumentError(f"{reference} is not a manifest")
    return index_entry(store, desc, content)


def _index_bytes(document: dict[str, Any]) -> tuple[Descriptor, bytes]:
    content = compact_json(document)
    desc = Descriptor(media_type=INDEX_MEDIA_TYPE, digest=digest_bytes(content), size=len(content))
    return desc, content


def create_index(
    store: Any,
    sources: Sequence[str],
    artifact_type: Optional[str] = None,
    annotations: Optional[dict[str, str]] = None,
    events: Optional[IndexEvents] = None,
) -> tuple[Descriptor, bytes]:
    """An image index of the manifests `sources` (tags or digests of `store`) name, in that
    order; its descriptor and bytes (not pushed: see `push_index`)."""
    events = events or IndexEvents()
    if artifact_type:
        check_media_type(artifact_type)
    entries = [_manifest_entry(store, source, events) for source in sources]
    document: dict[str, Any] = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE}
    if artifact_type:
        document["artifactType"] = artifact_type
    document["manifests"] = [go_descriptor(e) for e in entries]
    if annotations:
        document["annotations"] = dict(annotations)
    return _index_bytes(document)


def update_index(
    store: Any,
    reference: str,
    add: Sequence[str] = (),
    merge: Sequence[str] = (),
    remove: Sequence[str] = (),
    artifact_type: Optional[str] = None,
    events: Optional[IndexEvents] = None,
) -> tuple[Descriptor, bytes]:
    """The index `reference` names, changed: entries whose digest is in `remove` taken out
    (each must be there), the manifests `add` names appended, the entries of the indexes
    `merge` names appended, and its artifact type set to `artifact_type` ("" removes it, None
    keeps it). Its descriptor and bytes (not pushed: see `push_index`)."""
    events = events or IndexEvents()
    for digest in remove:
        if digest_problem(digest):
            raise ArgumentError(f"remove: {digest} is not a digest")
    if artifact_type:
        check_media_type(artifact_type)
    try:
        desc, content = _fetch(store, reference, events)
    except ValueError as e:
        raise type(e)(f"could not find the index {reference}: {e}") from e
    if not is_index(desc):
        raise ArgumentError(f"{reference} is not an index")
    document = parse_manifest(content, reference)
    if artifact_type is not None:
        document.pop("artifactType", None)
        if artifact_type:
            document = _insert_after(document, "mediaType", "artifactType", artifact_type)
    manifests = [m for m in document.get("manifests") or [] if isinstance(m, dict)]
    unwanted = set(remove)
    kept = [m for m in manifests if m.get("digest") not in unwanted]
    found = {m.get("digest") for m in manifests}
    for digest in dict.fromkeys(remove):
        if digest not in found:
            raise ArgumentError(f"{digest} does not exist in the index {reference}")
        if events.on_removed:
            events.on_removed(digest)
    for source in add:
        entry = _manifest_entry(store, source, events)
        kept.append(go_descriptor(entry))
        if events.on_added:
            events.on_added(source, entry)
    for source in merge:
        try:
            other, other_content = _fetch(store, source, events)
        except ValueError as e:
            raise type(e)(f"could not find the index {source}: {e}") from e
        if not is_index(other):
            raise ArgumentError(f"{source} is not an index")
        entries = parse_manifest(other_content, source).get("manifests") or []
        kept.extend(m for m in entries if isinstance(m, dict))
        if events.on_merged:
            events.on_merged(source, other)
    document["manifests"] = kept
    document.setdefault("mediaType", INDEX_MEDIA_TYPE)
    content = compact_json(document)
    media_type = document.get("mediaType") or INDEX_MEDIA_TYPE
    return Descriptor(media_type, digest_bytes(content), len(content)), content


def _insert_after(document: dict[str, Any], after: str, key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in document.items():
        out[k] = v
        if k == after:
            out[key] = value
    if key not in out:
        out[key] = value
    return out


def push_index(
    store: Any,
    content: bytes,
    reference: str = "",
    tags: Sequence[str] = (),
    on_tagged: Optional[Callable[[str], None]] = None,
) -> Descriptor:
    """Push an index built here under `reference` (a tag; "" or a digest: by digest only),
    then tag it with each of `tags`."""
    if ":" in reference:  # a digest: the index is new, so it is pushed by its own digest
        reference = ""
    desc, _ = push_manifest(store, content, reference, INDEX_MEDIA_TYPE, tags, on_tagged)
    return desc
