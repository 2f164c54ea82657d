"""`oras-py manifest fetch-config` (`get-config`): the config blob of an image manifest."""

from __future__ import annotations

import argparse

from oras.cli import options, raw, target
from oras.cli.console import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fetch-config",
        aliases=["get-config"],
        help="fetch the config of a manifest from a registry or an OCI image layout",
        description="Print the config blob of an image manifest (or write it with -o).",
    )
    parser.add_argument("target", help="<registry>/<repository>{:<tag>|@<digest>}")
    raw.add_output(parser, "config")
    raw.add_descriptor(parser)
    parser.add_argument("--platform", help="os/arch[/variant]: use this entry of an index")
    target.add_target(parser)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.manifest import Platform
    from oras.operations import fetch_config, fetch_manifest, manifest_config

    if args.output == "-" and args.descriptor:
        raise UsageError("`--output -` cannot be used with `--descriptor` at the same time")
    platform = Platform.parse(args.platform) if args.platform else None
    with target.open_target(args, args.target) as opened:
        reference = raw.require_reference(opened, args.target)
        if args.descriptor and not args.output:
            config = manifest_config(*fetch_manifest(opened.store, reference, platform))
            content = b""
        else:
            config, content = fetch_config(opened.store, reference, platform)
    if not args.descriptor or args.output:
        if not args.output or args.output == "-":
            raw.print_json_bytes(content, args.pretty)
        else:
            raw.write_file(args.output, content)
    if args.descriptor:
        raw.print_descriptor(config, args.pretty)
    return 0
