"""`oras-py pull`: download an artifact's files from a registry or an OCI layout."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, Optional

from oras.cli import options, target
from oras.cli.console import UsageError
from oras.cli.output import add_format, descriptor_json, json_mode, print_json
from oras.cli.progress import add_transfer_flags, make_renderer
from oras.concurrency import PULL_CONCURRENCY

if TYPE_CHECKING:  # the CLI imports the library only when a command runs
    from oras.descriptor import Descriptor
    from oras.manifest import Platform
    from oras.pull import PullOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        help="<registry>/<repository>[:<tag>|@<digest>]; with --oci-layout "
        "<dir|file.tar>[:<tag>|@<digest>]",
    )
    parser.add_argument(
        "-o",
        "--output",
        default=".",
        help="output directory (default: .); '-' writes the artifact's only file to stdout, "
        "and only once it is verified: it is held in memory up to 16 MiB, beyond that in a "
        "temporary file, so nothing unverified is ever written",
    )
    parser.add_argument(
        "-k",
        "--keep-old-files",
        action="store_true",
        help="do not overwrite existing files (they are skipped with a warning)",
    )
    parser.add_argument(
        "--allowed-media-type",
        action="append",
        default=[],
        metavar="TYPE",
        help="manifest media type to accept (repeatable)",
    )
    parser.add_argument(
        "--allow-all-media-types", action="store_true", help="accept any manifest media type"
    )
    parser.add_argument(
        "--config",
        "--manifest-config-ref",
        dest="config",
        metavar="PATH[:TYPE]",
        help="also write the manifest's config to PATH (under the output directory), when its "
        "media type is TYPE (any, without one)",
    )
    parser.add_argument(
        "--platform",
        metavar="OS/ARCH[/VARIANT]",
        help="pull this platform's entry of an index (default: this machine's, or the only one)",
    )
    parser.add_argument(
        "--include-subject",
        action="store_true",
        help="[Preview] also pull the artifact's subject, and its subject, recursively",
    )
    add_transfer_flags(parser, PULL_CONCURRENCY)
    options.add_ranges(parser)
    add_format(parser)
    target.add_target(parser)
    options.add_remote(parser, insecure_aliases=("-i",))
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.manifest import Platform
    from oras.pull import PullOptions

    as_json = json_mode(args)
    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    options.check_ranges(args)
    platform = Platform.parse(args.platform) if args.platform else None
    layout = bool(args.oci_layout or args.oci_layout_path)
    if args.output == "-":
        if as_json:
            raise UsageError("--format json cannot be used with -o - (both go to standard output)")
        if args.config:
            raise UsageError("--config cannot be used with -o - (standard output takes one file)")
        return _pull_to_stdout(args, platform, layout)
    config_file, config_media_type = _split_config(args.config) if args.config else (None, None)
    # The cache spares downloads: a layout is read where it is.
    cache = None if layout else _open_cache()
    # JSON mode: the document alone on stdout, no progress at all.
    renderer = make_renderer(args.no_tty or args.debug, args.quiet or as_json)
    pull_options = PullOptions(
        overwrite=not args.keep_old_files,
        # Go oras's rules: untitled layers are skipped, only marked layers are unpacked.
        skip_untitled=True,
        unpack_all_targz=False,
        config_file=config_file,
        config_media_type=config_media_type,
        concurrency=args.concurrency,
        progress=renderer,
        cache=cache,
    )
    try:
        if layout:
            name, root, manifest, written = _pull_from_layout(args, platform, pull_options)
        else:
            client = options.make_client(args, args.target)
            allowed = args.allowed_media_type or None
            reference: Any = args.target
            if as_json:  # the digest pulled, pinned before the files are
                reference = _pinned(client, args.target, allowed)
            container, manifest = client.resolve_manifest(reference, allowed, platform)
            written = client.pull_manifest(container, manifest, args.output, pull_options)
            name, root = f"{container.registry}/{container.api_prefix}", container.digest
            seen, current = {root}, manifest
            while args.include_subject and isinstance(current.get("subject"), dict):
                digest = str(current["subject"].get("digest"))
                if digest in seen:
                    break
                seen.add(digest)
                subject, current = client.resolve_manifest(f"{name}@{digest}", allowed, platform)
                written += client.pull_manifest(subject, current, args.output, pull_options)
    finally:
        if renderer is not None:
            renderer.close()
    if as_json:
        print_json(
            {
                "reference": f"{name}@{root}",
                "files": pulled_files(name, manifest, args.output, written, config_file),
            }
        )
    return 0


def _pinned(client: Any, text: str, allowed: Optional[list[str]]) -> Any:
    """The reference `text` by the digest of the manifest it names now."""
    from oras.container import Container

    container = client.get_container(text)
    if container.digest:
        return container
    _, _, digest = client.fetch_manifest(container, allowed)
    return Container(f"{container.registry}/{container.api_prefix}@{digest}")


def pulled_files(
    name: str,
    manifest: dict[str, Any],
    outdir: str,
    written: list[str],
    config_file: Optional[str],
) -> list[dict[str, Any]]:
    """Go `oras pull --format json`'s `files`: for each file written, its absolute path (a
    directory's ends with a separator) and its layer's descriptor with `<name>@<digest>`."""
    from oras.defaults import annotation_title, annotation_unpack

    def key(path: str) -> str:
        return os.path.realpath(os.path.join(outdir, path))

    by_path: dict[str, tuple[str, dict[str, Any]]] = {}
    for layer in manifest.get("layers") or []:
        title = (layer.get("annotations") or {}).get(annotation_title)
        if title:
            by_path.setdefault(key(title), (title, layer))
    if config_file and isinstance(manifest.get("config"), dict):
        config = manifest["config"]
        titled = {**(config.get("annotations") or {}), annotation_title: config_file}
        by_path.setdefault(key(config_file), (config_file, {**config, "annotations": titled}))
    files = []
    for path in written:
        found = by_path.get(os.path.realpath(path))
        if found is None:
            continue
        title, desc = found
        shown = os.path.abspath(os.path.join(outdir, title))
        if (desc.get("annotations") or {}).get(annotation_unpack) == "true":
            shown = os.path.join(shown, "")
        files.append({"path": shown, **descriptor_json(name, desc)})
    return files


def _split_config(text: str) -> tuple[str, Optional[str]]:
    """`path[:type]`, split at the last colon (a trailing colon: no type)."""
    path, colon, media_type = text.rpartition(":")
    if not colon:
        return text, None
    if not path:
        raise UsageError(f"--config {text!r} names no file")
    return path, media_type or None


def _open_cache() -> Any:
    """The `ORAS_CACHE` content cache (an OCI layout directory, created when missing), if set."""
    path = os.environ.get("ORAS_CACHE")
    if not path:
        return None
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"ORAS_CACHE={path} is not a directory")
    from oras.content.layout import LayoutStore

    return LayoutStore(path)


def _layout_manifest(
    opened: target.Opened, platform: Optional[Platform]
) -> tuple[Descriptor, dict[str, Any]]:
    """The image manifest the layout reference names, by `platform` when it is an index (else
    this machine's entry, or the only one), with its checked content."""
    from oras.content.reader import read_all
    from oras.descriptor import Descriptor, check_manifest, parse_manifest
    from oras.manifest import Platform, is_index, pick_platform

    store, what = opened.store, opened.display
    root = store.resolve(opened.reference or "latest")
    if is_index(root):
        index = check_manifest(parse_manifest(read_all(store.fetch(root), root), what), what)
        entries = [Descriptor.from_dict(entry) for entry in index.get("manifests") or []]
        if platform is None and len(entries) == 1:
            root = entries[0]
        else:
            root = pick_platform(entries, platform or Platform.current(), what)
    manifest = parse_manifest(read_all(store.fetch(root), root), what)
    return root, check_manifest(manifest, what)


def _pull_from_layout(
    args: argparse.Namespace, platform: Optional[Platform], pull_options: PullOptions
) -> tuple[str, str, dict[str, Any], list[str]]:
    """(layout path, manifest digest, manifest, files written)."""
    from oras.pull import pull_files

    with target.open_target(args, args.target) as opened:
        root, manifest = _layout_manifest(opened, platform)
        written = pull_files(opened.store, root, manifest, args.output, pull_options)
        seen, current = {root.digest}, manifest
        while args.include_subject and isinstance(current.get("subject"), dict):
            digest = str(current["subject"].get("digest"))
            if digest in seen:
                break
            seen.add(digest)
            opened.reference = digest
            subject, current = _layout_manifest(opened, platform)
            written += pull_files(opened.store, subject, current, args.output, pull_options)
    return opened.name, root.digest, manifest, written


#: `-o -` holds a blob up to this size in memory until it is verified; a larger one goes to an
#: unnamed temporary file (gone when closed, even if the process is killed).
STDOUT_SPOOL_IN_MEMORY = 16 * 1024 * 1024


def _pull_to_stdout(args: argparse.Namespace, platform: Optional[Platform], layout: bool) -> int:
    """`-o -`: write the artifact's single file to standard output once it is verified."""
    import shutil
    import tempfile

    from oras.content.reader import VerifyingReader, copy_stream
    from oras.defaults import empty_media_type
    from oras.descriptor import Descriptor

    def single(manifest: dict[str, Any]) -> dict[str, Any]:
        layers = [
            layer
            for layer in manifest.get("layers") or []
            if layer.get("mediaType") != empty_media_type
        ]
        if len(layers) != 1:
            raise ValueError(
                f"-o - needs an artifact with exactly one file; {args.target} has {len(layers)} "
                "(pull into a directory instead)"
            )
        return layers[0]

    # Verified first, written after: a blob that fails its digest never reaches the reader.
    with tempfile.SpooledTemporaryFile(max_size=STDOUT_SPOOL_IN_MEMORY) as spool:
        if layout:
            with target.open_target(args, args.target) as opened:
                layer = Descriptor.from_dict(single(_layout_manifest(opened, platform)[1]))
                with VerifyingReader(opened.store.fetch(layer), layer) as stream:
                    copy_stream(stream, spool)  # type: ignore[arg-type]
        else:
            client = options.make_client(args, args.target)
            container, manifest = client.resolve_manifest(
                args.target, args.allowed_media_type or None, platform
            )
            layer = Descriptor.from_dict(single(manifest))
            source = client.repository(container).fetch(layer)
            with VerifyingReader(source, layer) as stream:
                copy_stream(stream, spool)  # type: ignore[arg-type]
        spool.seek(0)
        shutil.copyfileobj(spool, sys.stdout.buffer, 1024 * 1024)
    sys.stdout.buffer.flush()
    return 0
