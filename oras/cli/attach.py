"""`oras-py attach`: push files as a referrer of a manifest (a signature, an SBOM, ...)."""

from __future__ import annotations

import argparse
import sys

from oras.cli import options
from oras.cli.console import UsageError, say
from oras.cli.output import add_format, json_mode, print_json
from oras.cli.progress import add_transfer_flags, make_renderer
from oras.cli.push import add_annotation_flags
from oras.cli.referrers import add_distribution_spec
from oras.concurrency import PUSH_CONCURRENCY


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="<registry>/<repository>(:<tag>|@<digest>): the subject")
    parser.add_argument(
        "files", nargs="*", metavar="file[:mediatype]", help="files to attach (none: empty)"
    )
    parser.add_argument(
        "--artifact-type", required=True, metavar="TYPE", help="the referrer's artifact type"
    )
    parser.add_argument(
        "--config", dest="manifest_config", metavar="path[:mediatype]", help="manifest config"
    )
    add_annotation_flags(parser)
    parser.add_argument(
        "--export-manifest", metavar="PATH", help="also write the pushed manifest to PATH"
    )
    parser.add_argument("--platform", help="os/arch[/variant]: attach to this entry of an index")
    parser.add_argument(
        "--disable-path-validation",
        action="store_true",
        help="allow files outside the current directory",
    )
    add_distribution_spec(parser)
    add_format(parser)
    add_transfer_flags(parser, PUSH_CONCURRENCY)
    options.add_remote(parser)
    options.add_common(parser)


def run(args: argparse.Namespace) -> int:
    from oras.cli.push import add_created, check_annotation_keys, read_annotations
    from oras.utils import split_path_and_content

    as_json = json_mode(args)
    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    annotations, annotation_file = read_annotations(args)
    if args.annotation_file:
        paths = [split_path_and_content(f).path for f in args.files]
        check_annotation_keys(args.annotation_file, annotation_file, paths)
    annotations = add_created(annotations, annotation_file)
    client = options.make_client(args, args.target)
    container = client.get_container(args.target)
    ref = container.to_reference()
    renderer = None if as_json else make_renderer(args.no_tty or args.debug, args.quiet)
    try:
        desc = client.attach(
            container,
            args.artifact_type,
            files=args.files,
            manifest_config=args.manifest_config,
            annotation_file=annotation_file,
            manifest_annotations=annotations,
            disable_path_validation=args.disable_path_validation,
            platform=args.platform,
            concurrency=args.concurrency,
            progress=renderer,
            distribution_spec=args.distribution_spec,
        )
    finally:
        if renderer is not None:
            renderer.close()
    if not args.files and not args.quiet and not as_json:
        sys.stderr.write("Uploaded empty artifact\n")
    if args.export_manifest:
        from oras.cli.push import _export
        from oras.content.reader import read_all
        from oras.descriptor import Descriptor

        pushed = Descriptor.from_dict(desc)
        _export(args.export_manifest, read_all(client.repository(container).fetch(pushed), pushed))
    name = f"{ref.registry}/{ref.repository}"
    if as_json:
        print_json({"reference": f"{name}@{desc['digest']}", **desc})
        return 0
    say(f"Attached to [registry] {args.target}")
    say(f"Digest: {desc['digest']}")
    return 0
