"""`oras-py push`: upload files as an artifact."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Optional

from oras import defaults
from oras.cli import options
from oras.cli.console import UsageError, say
from oras.cli.output import add_format, descriptor_json, json_mode, print_json
from oras.cli.progress import add_transfer_flags, make_renderer
from oras.concurrency import PUSH_CONCURRENCY
from oras.defaults import default_blob_media_type
from oras.defaults import default_chunksize as DEFAULT_CHUNK

if TYPE_CHECKING:
    from oras.pack import StreamEntry

#: `org.opencontainers.image.created`, added to every manifest the command line pushes.
ANNOTATION_CREATED = "org.opencontainers.image.created"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        help="<registry>/<repository>[:<tag>[,<tag>...]|@<digest>] (more tags: each added)",
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="file[:mediatype]",
        help="files to push; a directory is packed as tar+gzip, its symbolic links stored as "
        "links: a link with an absolute target or leading outside the directory is refused "
        "(not followed)",
    )
    parser.add_argument(
        "--manifest-config",
        "--config",
        dest="manifest_config",
        metavar="path[:mediatype]",
        help="manifest config file (/dev/null for an empty one)",
    )
    parser.add_argument(
        "--artifact-type",
        metavar="TYPE",
        help="the artifact's type (image-spec v1.1 `artifactType`; default: "
        "application/vnd.unknown.artifact.v1 unless --config is given)",
    )
    parser.add_argument(
        "--image-spec",
        choices=("v1.1", "v1.0"),
        help="pack for image-spec v1.1 (default; v1.0 when --config is given without "
        "--artifact-type) or v1.0",
    )
    add_annotation_flags(parser)
    parser.add_argument(
        "--disable-path-validation",
        action="store_true",
        help="allow files outside the current directory",
    )
    parser.add_argument(
        "--stdin-name", default="stdin", metavar="NAME", help="title of the blob read from '-'"
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        metavar="BYTES",
        help="upload in chunks of this size, at least 1 (default: one request per blob up to "
        "4 GiB)",
    )
    parser.add_argument(
        "--export-manifest", metavar="PATH", help="also write the pushed manifest to PATH"
    )
    add_transfer_flags(parser, PUSH_CONCURRENCY)
    add_format(parser)
    from oras.cli.target import add_target

    add_target(parser)
    options.add_remote(parser, insecure_aliases=("-k", "-i"))
    options.add_common(parser)


def parse_annotations(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        if "=" not in value:
            raise ValueError(f"Annotation {value} invalid format, needs to be key=value pair.")
        key, _, val = value.partition("=")
        key = key.strip()
        if not key:
            raise ValueError(f"Annotation {value} invalid format, the key before = is empty.")
        if key in out:
            raise ValueError(f"duplicate annotation key {key}")
        out[key] = val.strip()
    return out


def load_annotation_file(path: str) -> dict:
    from oras.errors import InvalidAnnotationsError

    if not os.path.exists(path):
        raise FileNotFoundError(f"Annotation file {path} does not exist.")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (ValueError, RecursionError) as e:  # not JSON, not UTF-8, nested too deep
        reason = str(e).splitlines()[0][:200] if str(e) else "nested too deeply"
        raise InvalidAnnotationsError(
            f"annotation file {path} is not valid JSON: {reason}"
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InvalidAnnotationsError(
            f"annotation file {path} must map $manifest, $config or file paths to objects "
            "of string values"
        )
    from oras.oci import check_annotations  # lazily: every command imports this module

    for section, values in data.items():
        check_annotations(values, f"annotation file {path}, {section!r}")
    return data


def check_annotation_keys(path: str, data: dict, files: list[str]) -> None:
    """Refuse an annotation file whose file keys do not all name a pushed file (a typo would
    otherwise leave the layer without its annotations, silently)."""
    from oras.oci import Annotations

    unmatched = Annotations(data).unmatched(files)
    if unmatched:
        names = ", ".join(repr(name) for name in unmatched[:3])
        more = f" and {len(unmatched) - 3} more" if len(unmatched) > 3 else ""
        verb = "matches" if len(unmatched) == 1 else "match"
        raise ValueError(
            f"annotation file {path}: {names}{more} {verb} no pushed file "
            "(keys are $manifest, $config or a file as given on the command line)"
        )


def add_annotation_flags(parser: argparse.ArgumentParser) -> None:
    """`--annotation-file` and `-a/--annotation`, as push and attach take them."""
    parser.add_argument(
        "--annotation-file",
        help="JSON file of annotations ($manifest, $config, files); every file key must name "
        "a pushed file, every value must be a string",
    )
    parser.add_argument(
        "-a",
        "--annotation",
        action="append",
        default=[],
        metavar="key=value",
        help="manifest annotation (repeatable)",
    )


def read_annotations(args: argparse.Namespace) -> tuple[dict[str, str], Optional[dict]]:
    """The `-a/--annotation` values and the `--annotation-file` contents (None without one),
    refusing manifest annotations given both ways."""
    annotations = parse_annotations(args.annotation)
    annotation_file = None
    if args.annotation_file:
        annotation_file = load_annotation_file(args.annotation_file)
        if annotations and annotation_file.get("$manifest"):
            raise ValueError(
                "`--annotation` and `--annotation-file` with $manifest cannot be both specified."
            )
    return annotations, annotation_file


def choose_packing(args: argparse.Namespace) -> tuple[str, str]:
    """(artifact type or "", image spec) by Go oras's push rules: image-spec v1.1 unless
    `--config` comes without `--artifact-type` (then v1.0, as oras-py always packed); v1.1
    without an artifact type or a config takes application/vnd.unknown.artifact.v1."""
    config = getattr(args, "manifest_config", None)
    artifact_type = args.artifact_type or ""
    image_spec = args.image_spec or ("v1.0" if config and not artifact_type else "v1.1")
    if image_spec == "v1.1" and not artifact_type:
        if config:
            raise UsageError(
                "missing artifact type for an OCI image-spec v1.1 artifact with a config: "
                "set an artifact type via `--artifact-type`"
            )
        artifact_type = defaults.unknown_artifact_type
    if image_spec == "v1.0" and artifact_type and config:
        raise UsageError("--artifact-type and --config cannot both be given with --image-spec v1.0")
    return artifact_type, image_spec


def add_created(annotations: dict[str, str], annotation_file: Any) -> dict[str, str]:
    """The manifest annotations with `org.opencontainers.image.created` (now, RFC 3339 UTC,
    in seconds) unless supplied; a supplied value must be an RFC 3339 time."""
    from datetime import datetime, timezone

    supplied = annotations.get(ANNOTATION_CREATED)
    if supplied is None and annotation_file:
        supplied = (annotation_file.get("$manifest") or {}).get(ANNOTATION_CREATED)
    if supplied is not None:
        try:
            datetime.fromisoformat(supplied.replace("z", "Z"))
        except ValueError:
            raise ValueError(
                f"invalid {ANNOTATION_CREATED} annotation {supplied!r}: not an RFC 3339 time"
            ) from None
        return annotations
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {**annotations, ANNOTATION_CREATED: now}


def run(args: argparse.Namespace) -> int:
    as_json = json_mode(args)  # a bad --format is refused before anything is read or sent
    artifact_type, image_spec = choose_packing(args)
    if not args.files and image_spec == "v1.0":
        raise UsageError("push needs at least one file (or image-spec v1.1: an empty artifact)")
    annotations, annotation_file = read_annotations(args)
    annotations = add_created(annotations, annotation_file)
    if args.manifest_config:
        from oras.utils import split_path_and_content

        path = split_path_and_content(args.manifest_config).path
        if not os.path.exists(path):
            raise FileNotFoundError(f"manifest config {path} does not exist.")
    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise UsageError("--chunk-size must be at least 1 byte")
    files = [
        _stdin_entry(f, args.stdin_name) if f.split(":", 1)[0] == "-" else f for f in args.files
    ]
    if annotation_file:
        from oras.utils import split_path_and_content

        paths = [split_path_and_content(f).path for f in files if isinstance(f, str)]
        check_annotation_keys(args.annotation_file, annotation_file, paths)
    from oras.reference import split_tags

    if not files and not args.quiet:
        sys.stderr.write("Uploading empty artifact\n")
    if args.oci_layout or args.oci_layout_path:
        return _push_to_layout(
            args, files, annotation_file, annotations, artifact_type, image_spec, as_json
        )
    target, tags = split_tags(args.target)  # `repo:v1,latest`: push v1, then tag the rest
    client = options.make_client(args, target)
    container = client.get_container(target)
    # JSON mode: the document alone on stdout, no progress at all.
    renderer = make_renderer(args.no_tty or args.debug, args.quiet or as_json)
    try:
        response = client.push(
            target=target,
            files=files,
            manifest_config=args.manifest_config,
            annotation_file=annotation_file,
            manifest_annotations=annotations or None,
            disable_path_validation=args.disable_path_validation,
            quiet=True,
            concurrency=args.concurrency,
            progress=renderer,
            do_chunked=args.chunk_size is not None,
            chunk_size=args.chunk_size or DEFAULT_CHUNK,
            artifact_type=artifact_type or None,
            image_spec=image_spec,
        )
    finally:
        if renderer is not None:
            renderer.close()
    body = response.request.body if response.request is not None else None
    if args.export_manifest and isinstance(body, (bytes, bytearray)):
        _export(args.export_manifest, bytes(body))
    if not isinstance(body, (bytes, bytearray)):  # a client that sent it as a stream
        body = client.fetch_manifest(container)[0]
    if tags[1:]:
        concurrency = args.concurrency or PUSH_CONCURRENCY
        _tag_more(client, container, bytes(body), tags[1:], concurrency, not as_json)
    if as_json:
        ref = container.to_reference()
        pushed = [] if container.digest and not tags else [container.tag, *tags[1:]]
        print_json(push_json(f"{ref.registry}/{ref.repository}", bytes(body), pushed))
    else:
        say(f"Successfully pushed {container}")
    return 0


def push_json(name: str, manifest: bytes, tags: list[str]) -> dict[str, Any]:
    """Go `oras push --format json`: the manifest's descriptor with its reference
    (`<name>@<digest>`), and `referenceAsTags` (`<name>:<tag>`, sorted)."""
    from oras.descriptor import parse_manifest
    from oras.digest import digest_bytes

    content = parse_manifest(manifest, name)
    config = content.get("config") if isinstance(content.get("config"), dict) else {}
    desc = {
        "mediaType": content.get("mediaType"),
        "digest": digest_bytes(manifest),
        "size": len(manifest),
        "annotations": content.get("annotations"),
        # as Go packs it: the manifest's artifactType, else (image-spec v1.0) its config's type
        "artifactType": content.get("artifactType") or config.get("mediaType"),
    }
    return {
        **descriptor_json(name, desc),
        "referenceAsTags": [f"{name}:{tag}" for tag in sorted(set(tags))],
    }


def _push_to_layout(
    args: argparse.Namespace,
    files: list[Any],
    annotation_file: Any,
    annotations: dict,
    artifact_type: str,
    image_spec: str,
    as_json: bool = False,
) -> int:
    """`--oci-layout`: the same push, into an OCI image layout (a directory or a .tar)."""
    from oras.cli.target import open_target
    from oras.push import ConfigSpec, Packing, PushOptions, prepare_entries, push_files
    from oras.utils import split_path_and_content

    path_and_tags = args.target.lstrip("@") if args.oci_layout_path else args.target
    reference_text, _, more = path_and_tags.partition(",")
    tags = [t for t in more.split(",") if t] if more else []
    with open_target(args, reference_text, write=True) as opened:
        annotset, entries = prepare_entries(
            files,
            annotation_file,
            args.disable_path_validation,
            annotations or None,
            args.chunk_size or DEFAULT_CHUNK,
        )
        packing = Packing.choose(artifact_type or None, image_spec, bool(args.manifest_config))
        config = ConfigSpec(
            media_type=packing.config_media_type,
            annotations=annotset.get_annotations("$config"),
        )
        if args.manifest_config:
            spec = split_path_and_content(args.manifest_config)
            config.path = spec.path
            config.media_type = spec.content or config.media_type
        manifest_annots = {**annotset.get_annotations("$manifest"), **annotations}
        renderer = make_renderer(args.no_tty or args.debug, args.quiet or as_json)
        try:
            root = push_files(
                entries,
                opened.store,
                config,
                manifest_annots,
                reference=opened.reference or "latest",
                options=PushOptions(concurrency=args.concurrency, progress=renderer),
                artifact_type=packing.artifact_type,
            )
        finally:
            if renderer is not None:
                renderer.close()
        manifest = opened.store.fetch(root).read()
        for tag in tags:
            opened.store.tag(root, tag)
            if not as_json:
                say(f"Tagged {tag}")
        if args.export_manifest:
            _export(args.export_manifest, manifest)
    if as_json:
        first = opened.reference or "latest"
        pushed = tags if ":" in first else [first, *tags]  # a digest is no tag
        print_json(push_json(opened.name, manifest, pushed))
    else:
        say(f"Successfully pushed {opened.label}")
    return 0


def _export(path: str, manifest: bytes) -> None:
    """`--export-manifest`: the exact manifest bytes pushed, written whole or not at all."""
    from oras.utils.fileio import write_file

    write_file(path, manifest, mode="wb")


def _tag_more(
    client: Any,
    container: Any,
    manifest: bytes,
    tags: list[str],
    concurrency: int,
    report: bool = True,
) -> None:
    """The other tags of `repo:t1,t2,...`, each a PUT of the same manifest bytes, concurrently."""
    import io

    from oras.concurrency import map_concurrently
    from oras.descriptor import Descriptor, parse_manifest
    from oras.digest import digest_bytes

    media_type = str(parse_manifest(manifest, str(container)).get("mediaType") or "")
    desc = Descriptor(media_type=media_type, digest=digest_bytes(manifest), size=len(manifest))
    repository = client.repository(container, push=True)

    def tag_one(tag: str) -> None:
        repository.push_reference(desc, io.BytesIO(manifest), tag)
        if report:
            say(f"Tagged {tag}")

    map_concurrently(tag_one, tags, concurrency)


def _stdin_entry(spec: str, title: str) -> StreamEntry:
    """`-` or `-:mediatype`: the blob is read from standard input as it is uploaded."""
    from oras.pack import StreamEntry

    _, _, media_type = spec.partition(":")
    return StreamEntry(sys.stdin.buffer, title, media_type or default_blob_media_type)
