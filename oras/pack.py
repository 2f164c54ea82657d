"""Turn files and directories into blobs and an image manifest, byte for byte as oras-py does."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import pathlib
import re
import tempfile
from dataclasses import dataclass
from typing import IO, Any, NamedTuple, Optional, Union

from oras import defaults, scratch
from oras.descriptor import Descriptor
from oras.errors import DuplicateTitleError
from oras.filenames import check_path

PathLike = Union[str, "os.PathLike[str]"]

#: oras-py's empty manifest, in its key order (the order is part of the manifest's bytes).
EMPTY_MANIFEST: dict[str, Any] = {
    "schemaVersion": 2,
    "mediaType": defaults.default_manifest_media_type,
    "config": {},
    "layers": [],
    "annotations": {},
}


@dataclass
class PackedBlob:
    """A blob ready to upload: where its bytes are, its descriptor, and whether to delete the file."""

    path: str
    descriptor: Descriptor
    temporary: bool = False

    def cleanup(self) -> None:
        if self.temporary and os.path.exists(self.path):
            os.unlink(self.path)
        if self.temporary:
            scratch.untrack(self.path)


class PathAndOptionalContent(NamedTuple):
    """A `path[:mediatype]` argument split in two; `content` is None without a media type."""

    path: str
    content: Optional[str] = None


def split_path_and_content(ref: str) -> PathAndOptionalContent:
    """Split `path[:mediatype]` (oras-py rules: existing path wins, Windows drives, last colon)."""
    ref = os.fspath(ref)
    if ":" not in ref or os.path.exists(ref):
        return PathAndOptionalContent(ref, None)
    if _has_windows_drive(ref):
        # C:\file[:type]: the first colon belongs to the drive; the type may contain colons.
        parts = ref.split(":", 2)
        if len(parts) < 3:
            return PathAndOptionalContent(ref, None)
        path, content = f"{parts[0]}:{parts[1]}", parts[2]
    else:
        path, content = ref.rsplit(":", 1)
    # A trailing colon (`name:with:colons:`) asks for the default media type, as in Go oras.
    return PathAndOptionalContent(path, content or None)


def _has_windows_drive(ref: str) -> bool:
    if os.name == "nt":
        drive = pathlib.PureWindowsPath(ref).drive
        return len(drive) == 2 and drive[1] == ":"
    # Elsewhere only an unmistakable `X:\` or `X:/` counts: no media type starts with a slash.
    return re.match(r"[A-Za-z]:[\\/]", ref) is not None


def title_for(path: str) -> str:
    """The title of a pushed path: its basename, trailing slashes ignored."""
    return os.path.basename(os.path.normpath(path))


def check_inside_cwd(path: str) -> None:
    """Refuse a path that resolves outside the current directory (oras-py's default guard)."""
    cwd = os.path.realpath(os.getcwd())
    real = os.path.realpath(path)
    if os.path.commonpath([cwd, real]) != cwd:
        raise ValueError(f"Blob {path} is not in the present working directory context.")


@dataclass
class StreamEntry:
    """A blob read from a stream of unknown size (e.g. stdin), uploaded in chunks as it is read."""

    stream: IO[bytes]
    title: str
    media_type: str = defaults.default_blob_media_type


def resolve_entry(entry: PathLike, disable_path_validation: bool = False) -> tuple[str, str]:
    """`path[:mediatype]` -> (path, media type or ""), checking that the path exists (and,
    unless disabled, that it lies inside the current directory), and that a directory holds
    no symbolic link leading outside it."""
    spec = split_path_and_content(check_path(entry, "file"))
    path, media_type = spec.path, spec.content or ""
    if not path or not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist.")
    if not disable_path_validation:
        check_inside_cwd(path)
    if os.path.isdir(path):
        from oras.archive import check_links_inside

        check_links_inside(path)
    return path, media_type


def check_unique_titles(entries: list[Any]) -> None:
    """Refuse two entries with one title: a pull would write both to one file.

    `entries` are StreamEntry objects or `(path, media type, annotations)` tuples, whose
    title is the annotations' title (from an annotation file) or else the path's basename.
    """
    seen: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, StreamEntry):
            title, source = entry.title, "standard input"
        else:
            path, _, annotations = entry
            title = (annotations or {}).get(defaults.annotation_title) or title_for(path)
            source = path
        if title in seen:
            raise DuplicateTitleError(
                f"{seen[title]} and {source} would both be pushed with the title {title!r}",
                hint="rename one of them, or give one another title in the annotation file",
            )
        seen[title] = source


def pack_path(
    path: str, media_type: str = "", annotations: Optional[dict[str, str]] = None
) -> PackedBlob:
    """Describe one file (hashing it) or pack a directory as a reproducible tar+gzip.

    A directory's layer carries Go oras's annotations as well as its title: the digest of the
    uncompressed tar and `unpack: "true"`, so that every client unpacks it (Go oras unpacks
    only layers marked so) and can check what it unpacked.
    """
    from oras.archive import make_targz
    from oras.digest import digest_file

    blob_annotations = {defaults.annotation_title: title_for(path)}
    if os.path.isdir(path):
        fd, tarball = tempfile.mkstemp(prefix="oras-", suffix=".tar.gz")
        os.close(fd)
        scratch.track(tarball)
        try:
            info = make_targz(path, tarball)
        except BaseException:
            # make_targz may have removed it already: a second unlink must not replace the
            # real error (a file it could not read) with "No such file" for the tarball.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tarball)
            raise
        blob_annotations[defaults.annotation_digest] = info.tar_digest
        blob_annotations[defaults.annotation_unpack] = "true"
        blob_annotations.update(annotations or {})
        desc = Descriptor(
            media_type=media_type or defaults.default_blob_dir_media_type,
            digest=info.digest,
            size=info.size,
            annotations=blob_annotations,
        )
        return PackedBlob(tarball, desc, temporary=True)
    blob_annotations.update(annotations or {})
    digest, size = digest_file(path)
    desc = Descriptor(
        media_type=media_type or defaults.default_blob_media_type,
        digest=digest,
        size=size,
        annotations=blob_annotations,
    )
    return PackedBlob(path, desc)


def build_manifest(
    config: dict[str, Any],
    layers: list[dict[str, Any]],
    annotations: Optional[dict[str, str]] = None,
    subject: Optional[Any] = None,
    artifact_type: Optional[str] = None,
) -> dict[str, Any]:
    """An OCI image manifest in oras-py's key order; `subject` (dataclass or dict) comes last,
    `artifactType` (image-spec 1.1, only when given) right after `mediaType`."""
    manifest = copy.deepcopy(EMPTY_MANIFEST)
    if artifact_type:
        manifest = {
            "schemaVersion": manifest["schemaVersion"],
            "mediaType": manifest["mediaType"],
            "artifactType": artifact_type,
            **manifest,
        }
    manifest["config"] = config
    manifest["layers"] = layers
    manifest["annotations"] = dict(annotations or {})
    if subject is not None:
        if isinstance(subject, Descriptor):
            subject = subject.to_dict()
        elif dataclasses.is_dataclass(subject) and not isinstance(subject, type):
            subject = dataclasses.asdict(subject)
        manifest["subject"] = dict(subject)
    return manifest


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The exact bytes pushed for a manifest: `json.dumps` defaults, as oras-py (and requests) do."""
    return json.dumps(manifest).encode("utf-8")
