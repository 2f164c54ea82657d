"""Single-node operations on any store (a registry repository or an OCI layout): fetch a blob to
a file or a stream, push one blob, fetch a manifest or its config, push a manifest under tags,
delete by reference. The `blob`, `manifest` and `repo` commands and the matching
`Registry` methods are thin layers over these."""

from __future__ import annotations

import contextlib
import json
import os
import re
from typing import Any, BinaryIO, Callable, Optional, Sequence, Union

from oras import descriptor, scratch
from oras.content.reader import VerifyingReader, copy_stream, open_file, read_all
from oras.descriptor import MAX_MANIFEST_SIZE, Descriptor, parse_manifest
from oras.digest import Hasher, digest_bytes, digest_file, validate_digest
from oras.errors import ArgumentError, DigestMismatchError, NotFoundError, ProtocolError
from oras.manifest import Platform, is_index, is_manifest, select_platform

#: The media type `blob push` reports for a blob when none is given (Go `oras`'s default).
DEFAULT_BLOB_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"
#: Largest manifest config `fetch_config` reads into memory.
MAX_CONFIG_SIZE = MAX_MANIFEST_SIZE


# -- blobs ---------------------------------------------------------------------------------------
def resolve_blob(store: Any, digest: str) -> Descriptor:
    """The descriptor of the blob `digest` in `store` (NotFoundError when it has none)."""
    validate_digest(digest)
    resolver = getattr(store, "resolve_blob", None)
    if callable(resolver):
        return resolver(digest)
    desc = store.resolve(digest)
    return Descriptor(media_type=desc.media_type, digest=desc.digest, size=desc.size)


def fetch_blob(
    store: Any,
    digest: str,
    output: Union[str, os.PathLike[str], BinaryIO],
    on_bytes: Optional[Callable[[int], None]] = None,
) -> Descriptor:
    """Write the blob `digest` of `store` to `output` and return its descriptor.

    `output` is a path or an open binary stream. A path gets the blob only once it is
    verified: the bytes go to a temporary file beside it, renamed into place when size and
    digest match, removed otherwise. A stream receives the bytes as they come, and the
    DigestMismatchError comes at the end (what was written is then not the blob).
    """
    desc = resolve_blob(store, digest)
    with contextlib.closing(VerifyingReader(store.fetch(desc), desc)) as reader:
        if not isinstance(output, (str, os.PathLike)):
            _copy(reader, output, on_bytes)
            reader.verify()
            return desc
        from oras.remote.download import new_partial_file

        path = os.path.abspath(os.fspath(output))
        if not os.path.isdir(os.path.dirname(path)):
            raise FileNotFoundError(f"{os.path.dirname(path)}: no such directory")
        fd, temporary = new_partial_file(os.path.dirname(path))
        scratch.track(temporary)
        try:
            with os.fdopen(fd, "wb") as sink:
                _copy(reader, sink, on_bytes)
            reader.verify()
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        finally:
            scratch.untrack(temporary)
    return desc


def _copy(reader: BinaryIO, sink: Any, on_bytes: Optional[Callable[[int], None]]) -> None:
    if on_bytes is None:
        copy_stream(reader, sink)
        return
    while True:
        chunk = reader.read(1024 * 1024)
        if not chunk:
            return
        sink.write(chunk)
        on_bytes(len(chunk))


def prepare_blob(
    source: Union[str, os.PathLike[str], BinaryIO],
    size: Optional[int] = None,
    digest: Optional[str] = None,
    media_type: str = DEFAULT_BLOB_MEDIA_TYPE,
) -> tuple[Descriptor, BinaryIO]:
    """The descriptor and an open stream of a blob to push, from a file path or a stream.

    A file's size must equal `size` when given, and its digest is computed unless given. A
    stream needs `size`; without `digest` it is spooled to a temporary file while it is hashed
    (the stream returned then removes that file when closed). Short or long content is
    refused (DigestMismatchError) when it is pushed.
    """
    if size is not None and size < 0:
        raise ArgumentError(f"the size of a blob cannot be negative ({size})")
    if digest:
        validate_digest(digest)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        actual = os.path.getsize(path)
        if size is not None and size != actual:
            raise ArgumentError(f"{path} is {actual} bytes, not the {size} given as its size")
        if not digest:
            digest, actual = digest_file(path)
        return Descriptor(media_type, digest, actual), open_file(path)
    if size is None:
        raise ArgumentError("the size of a blob read from a stream must be given")
    if digest:
        return Descriptor(media_type, digest, size), source
    return _spool(source, size, media_type)


def _spool(stream: BinaryIO, size: int, media_type: str) -> tuple[Descriptor, BinaryIO]:
    """Copy `stream` (which must hold `size` bytes) to a temporary file, hashing it."""
    import tempfile

    from oras.content.reader import VerifiedFile

    fd, path = tempfile.mkstemp(prefix=".oras-blob-")
    scratch.track(path)
    hasher = Hasher()
    try:
        with os.fdopen(fd, "wb") as sink:
            while True:
                chunk = stream.read(1024 * 1024)
                if not chunk:
                    break
                hasher.update(chunk)
                sink.write(chunk)
                if hasher.size > size:
                    raise DigestMismatchError(f"the content is longer than its size, {size}")
        if hasher.size != size:
            raise DigestMismatchError(
                f"the content is {hasher.size} bytes, not the {size} given as its size"
            )
        return Descriptor(media_type, hasher.digest(), size), VerifiedFile(path, hasher.digest())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        scratch.untrack(path)
        raise


def push_blob(store: Any, desc: Descriptor, content: BinaryIO) -> bool:
    """Push `content` as the blob `desc` unless `store` has it; True when it was there."""
    if store.exists(desc):
        return True
    store.push(desc, content)
    return False


def delete_blob(store: Any, digest: str) -> Descriptor:
    """Delete the blob `digest` from `store`; its descriptor (NotFoundError when missing)."""
    desc = resolve_blob(store, digest)
    store.delete(desc)
    return desc


# -- manifests -----------------------------------------------------------------------------------
def fetch_manifest(
    store: Any,
    reference: str,
    platform: Optional[Platform] = None,
    accept: Optional[Sequence[str]] = None,
) -> tuple[Descriptor, bytes]:
    """The manifest a tag or digest names in `store`: its descriptor and exact bytes. With
    `platform`, an index gives its entry for that platform instead; `accept` lists the media
    types to ask a registry for."""
    fetch_reference = getattr(store, "fetch_reference", None)
    if callable(fetch_reference):
        desc, content = fetch_reference(reference, accept) if accept else fetch_reference(reference)
    else:
        desc = store.resolve(reference)
        content = read_all(store.fetch(desc), desc)
    if platform is not None and is_index(desc):
        entry = select_platform(desc, content, platform)
        return fetch_manifest(store, entry.digest, accept=accept)
    return desc, content


def manifest_config(desc: Descriptor, content: bytes) -> Descriptor:
    """The config descriptor of an image manifest (ValueError for anything else)."""
    document = parse_manifest(content, desc.digest)
    declared = document.get("mediaType") or desc.media_type
    if is_index(declared) or "config" not in document:
        raise ArgumentError(
            f"{desc.digest} is not an image manifest and does not have a config",
            hint="choose a manifest of the index with --platform or by digest",
        )
    return Descriptor.from_dict(document["config"])


def fetch_config(
    store: Any, reference: str, platform: Optional[Platform] = None
) -> tuple[Descriptor, bytes]:
    """The config of the image manifest `reference` names (an index's entry for `platform`):
    its descriptor and bytes, verified."""
    desc, content = fetch_manifest(store, reference, platform)
    config = manifest_config(desc, content)
    if config.size > MAX_CONFIG_SIZE:  # refused before it is asked for
        raise ProtocolError(f"config {config.digest} is {config.size} bytes, over the "
                            f"{MAX_CONFIG_SIZE} byte limit")  # fmt: skip
    return config, read_all(store.fetch(config), config, limit=MAX_CONFIG_SIZE)


def manifest_media_type(content: bytes, what: str = "the manifest") -> str:
    """The `mediaType` a manifest declares ("" when it declares none)."""
    declared = parse_manifest(content, what).get("mediaType")
    return declared if isinstance(declared, str) else ""


def manifest_descriptor(content: bytes, media_type: Optional[str] = None) -> Descriptor:
    """The descriptor of manifest bytes: `media_type`, else the `mediaType` the content
    declares (ArgumentError when neither says, or when it is over the size limit)."""
    if len(content) > descriptor.MAX_MANIFEST_SIZE:
        raise ArgumentError(f"the manifest is over the {descriptor.MAX_MANIFEST_SIZE} byte limit")
    media_type = media_type or manifest_media_type(content)
    if not media_type:
        raise ArgumentError(
            "the manifest has no mediaType",
            hint="give one in the manifest's JSON or with --media-type",
        )
    return Descriptor(media_type=media_type, digest=digest_bytes(content), size=len(content))


def push_manifest(
    store: Any,
    content: bytes,
    reference: str = "",
    media_type: Optional[str] = None,
    tags: Sequence[str] = (),
    on_tagged: Optional[Callable[[str], None]] = None,
) -> tuple[Descriptor, bool]:
    """PUT `content` as it is (a manifest or index) under `reference` (a tag, or "" or a digest
    for none), then tag it with each of `tags`. The media type is `media_type`, else what the
    content declares (ArgumentError when neither says). Returns the descriptor and whether
    `reference` named these very bytes already (then nothing was sent for it)."""
    desc = manifest_descriptor(content, media_type)
    reference = check_manifest_reference(desc, reference)
    existed = names_digest(store, reference, desc.digest)
    if not existed:
        put_manifest(store, desc, content, reference)
    for tag in tags:
        put_manifest(store, desc, content, tag)
        if on_tagged is not None:
            on_tagged(tag)
    return desc, existed


def check_manifest_reference(desc: Descriptor, reference: str) -> str:
    """The reference to push `desc` under: `reference`, or its digest when that is empty;
    DigestMismatchError when `reference` is another digest."""
    if reference and ":" in reference and reference != desc.digest:
        raise DigestMismatchError(
            f"the manifest's digest is {desc.digest}, not the {reference} given in its reference"
        )
    return reference or desc.digest


def names_digest(store: Any, reference: str, digest: str) -> bool:
    """Whether `reference` names `digest` in `store` (False when it names nothing)."""
    try:
        return bool(store.resolve(reference).digest == digest)
    except NotFoundError:
        return False


def put_manifest(store: Any, desc: Descriptor, content: bytes, reference: str) -> None:
    """Store the manifest `desc` (bytes `content`) and point `reference` at it."""
    import io

    push_reference = getattr(store, "push_reference", None)
    if reference != desc.digest and callable(push_reference):
        push_reference(desc, io.BytesIO(content), reference)
        return
    if not store.exists(desc):
        store.push(desc, io.BytesIO(content))
    if reference != desc.digest:
        store.tag(desc, reference)


def delete_manifest(store: Any, reference: str) -> Descriptor:
    """Delete the manifest a tag or digest names (with every tag on it); its descriptor.
    NotFoundError when there is none."""
    desc = store.resolve(reference)
    if not is_manifest(desc):
        raise NotFoundError(f"{reference}: not a manifest", status=404)
    store.delete(desc)
    return desc


# -- listings ------------------------------------------------------------------------------------
def list_tags(
    store: Any, last: Optional[str] = None, exclude_digest_tags: bool = False
) -> list[str]:
    """Every tag of `store` (all pages, in the store's order) after `last`;
    `exclude_digest_tags` leaves out `sha256-...` tags (the referrers tag schema's fallback
    indexes and signatures).

    `last` is sent to the registry and also applied here, as the distribution spec defines
    it (tags lexically after `last`): some registries (Distribution 2.8) ignore it."""
    return [
        tag
        for tag in store.tags(last)
        if not (last and tag <= last) and not (exclude_digest_tags and is_digest_tag(tag))
    ]


_DIGEST_TAG = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*-[a-zA-Z0-9=_-]+")


def is_digest_tag(tag: str) -> bool:
    """Whether a tag is a digest with `-` for `:` (`sha256-<64 hex>`)."""
    from oras.digest import digest_problem

    return bool(_DIGEST_TAG.fullmatch(tag)) and digest_problem(tag.replace("-", ":", 1)) is None


def go_descriptor(desc: Descriptor) -> dict[str, Any]:
    """A descriptor as Go `oras` marshals it (mediaType, digest, size, then the optional fields
    in the OCI struct's order)."""
    out: dict[str, Any] = {"mediaType": desc.media_type, "digest": desc.digest, "size": desc.size}
    if desc.urls:
        out["urls"] = list(desc.urls)
    if desc.annotations:
        out["annotations"] = dict(desc.annotations)
    if desc.data is not None:
        out["data"] = desc.data
    if desc.platform:
        out["platform"] = dict(desc.platform)
    if desc.artifact_type:
        out["artifactType"] = desc.artifact_type
    return out


def compact_json(value: Any) -> bytes:
    """JSON without spaces, as Go's `json.Marshal` writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
