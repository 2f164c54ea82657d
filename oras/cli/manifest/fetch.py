"""`oras-py manifest fetch` (`get`, `show`): a manifest's exact bytes, its descriptor, or both
as JSON."""

from __future__ import annotations

import argparse

from oras.cli import options, output, raw, target
from oras.cli.console import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fetch",
        aliases=["get", "show"],
        help="fetch the manifest of an artifact",
        description="Print a manifest as the registry holds it (or write it with -o).",
    )
    parser.add_argument("target", help="<registry>/<repository>{:<tag>|@<digest>}")
    parser.add_argument(
        "--media-type",
        action="append",
        default=[],
        metavar="TYPES",
        help="accepted media types, comma-separated (repeatable)",
    )
    raw.add_output(parser, "manifest")
    raw.add_descriptor(parser)
    parser.add_argument("--platform", help="os/arch[/variant]: fetch this entry of an index")
    output.add_format(parser)
    target.add_target(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.copy import resolve_root
    from oras.manifest import Platform
    from oras.operations import fetch_manifest

    as_json = output.json_mode(args)
    if args.output == "-" and as_json:
        raise UsageError("`--output -` cannot be used with `--format json` at the same time")
    if args.output == "-" and args.descriptor:
        raise UsageError("`--descriptor` cannot be used with `--output -` at the same time")
    if as_json and (args.pretty or args.descriptor):
        flag = "--pretty" if args.pretty else "--descriptor"
        raise UsageError(f"--format and {flag} cannot be used at the same time")
    accept = [t.strip() for value in args.media_type for t in value.split(",") if t.strip()]
    platform = Platform.parse(args.platform) if args.platform else None
    with target.open_target(args, args.target) as opened:
        reference = raw.require_reference(opened, args.target)
        if accept and opened.kind != target.REGISTRY:
            raise UsageError("`--media-type` cannot be used with `--oci-layout` at the same time")
        content = b""
        if args.descriptor and not args.output:
            desc = resolve_root(opened.store, reference, platform)
        else:
            desc, content = fetch_manifest(opened.store, reference, platform, accept or None)
    if args.output and args.output != "-":
        raw.write_file(args.output, content)
    elif not as_json and not args.descriptor or args.output == "-":
        raw.print_json_bytes(content, args.pretty)
    if as_json:
        output.print_json(_fetched(opened.name, desc, content))
    elif args.descriptor:
        raw.print_descriptor(desc, args.pretty)
    return 0


def _fetched(name: str, desc: object, content: bytes) -> dict:
    """Go `oras`'s JSON of a fetched manifest: reference, descriptor fields, content."""
    import json

    try:
        document = json.loads(content)
    except ValueError:
        document = None
    out = {
        "reference": f"{name}@{desc.digest}",  # type: ignore[attr-defined]
        "mediaType": desc.media_type,  # type: ignore[attr-defined]
        "digest": desc.digest,  # type: ignore[attr-defined]
        "size": desc.size,  # type: ignore[attr-defined]
    }
    if desc.annotations:  # type: ignore[attr-defined]
        out["annotations"] = desc.annotations  # type: ignore[attr-defined]
    if desc.artifact_type:  # type: ignore[attr-defined]
        out["artifactType"] = desc.artifact_type  # type: ignore[attr-defined]
    out["content"] = document
    return out
