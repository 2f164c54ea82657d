"""`oras-py discover`: list the referrers of a manifest, as a tree or as JSON."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Optional

from oras.cli import options, target
from oras.cli.console import UsageError, say
from oras.cli.output import JSON, add_format, output_format, print_json
from oras.cli.referrers import add_distribution_spec

if TYPE_CHECKING:  # the CLI imports the library only when a command runs
    from oras.descriptor import Descriptor

TREE = "tree"
#: The group of referrers without an artifact type.
UNKNOWN = "<unknown>"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        help="<registry>/<repository>(:<tag>|@<digest>); with --oci-layout "
        "<dir|file.tar>[:<tag>|@<digest>]",
    )
    parser.add_argument("--artifact-type", metavar="TYPE", help="only referrers of this type")
    parser.add_argument(
        "--depth",
        type=int,
        metavar="N",
        help="[Experimental] levels of referrers to list, at least 1 (default: all)",
    )
    parser.add_argument("--platform", help="os/arch[/variant]: the referrers of this entry")
    add_distribution_spec(parser)
    add_format(parser, (TREE, JSON), default=TREE)
    target.add_target(parser)
    options.add_remote(parser)
    options.add_common(parser)


class Node:
    """A manifest and its referrers, as far down as they were listed."""

    def __init__(self, desc: Descriptor, referrers: list[Node]) -> None:
        self.desc = desc
        self.referrers = referrers


def discover(
    store: Any,
    desc: Descriptor,
    artifact_type: Optional[str],
    depth: Optional[int],
    seen: Optional[set[str]] = None,
) -> list[Node]:
    """The referrers of `desc` and theirs, `depth` levels down (None: all); the artifact type
    filters every level. A referrer met twice (a cycle) is listed once."""
    from oras.referrers import find_referrers

    if depth is not None and depth < 1:
        return []
    seen = seen if seen is not None else {desc.digest}
    nodes = []
    for found in find_referrers(store, desc, artifact_type):
        if found.digest in seen:
            continue
        seen.add(found.digest)
        below = discover(store, found, artifact_type, None if depth is None else depth - 1, seen)
        nodes.append(Node(found, below))
    return nodes


def to_json(node: Node, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": f"{name}@{node.desc.digest}"}
    d = node.desc
    out.update({"mediaType": d.media_type, "digest": d.digest, "size": d.size})
    if d.annotations:
        out["annotations"] = dict(d.annotations)
    if d.artifact_type:
        out["artifactType"] = d.artifact_type
    out["referrers"] = [to_json(child, name) for child in node.referrers]
    return out


def tree_lines(nodes: list[Node]) -> list[str]:
    """The referrers under a root line: grouped by artifact type, then each digest, its
    `[annotations]` and its own referrers, drawn with box characters."""
    lines: list[str] = []

    def branch(items: list[tuple[str, Any]], prefix: str) -> None:
        for i, (label, children) in enumerate(items):
            last = i == len(items) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{label}")
            branch(children, prefix + ("    " if last else "│   "))

    def groups(level: list[Node]) -> list[tuple[str, Any]]:
        by_type: dict[str, list[Node]] = {}
        for node in level:
            by_type.setdefault(node.desc.artifact_type or UNKNOWN, []).append(node)
        return [(kind, [entry(n) for n in members]) for kind, members in by_type.items()]

    def entry(node: Node) -> tuple[str, Any]:
        children: list[tuple[str, Any]] = []
        if node.desc.annotations:
            pairs = sorted(node.desc.annotations.items())
            children.append(("[annotations]", [(f"{k}: {v}", []) for k, v in pairs]))
        children += groups(node.referrers)
        return node.desc.digest, children

    branch(groups(nodes), "")
    return lines


def run(args: argparse.Namespace) -> int:
    from oras.copy import resolve_root
    from oras.manifest import Platform

    fmt = output_format(args)
    if args.depth is not None and args.depth < 1:
        raise UsageError("--depth must be at least 1")
    platform = Platform.parse(args.platform) if args.platform else None
    with target.open_target(args, args.target) as opened:
        root = resolve_root(opened.store, opened.reference or "latest", platform)
        nodes = discover(opened.store, root, args.artifact_type, args.depth)
    name = opened.name
    if fmt == JSON:
        print_json(to_json(Node(root, nodes), name))
        return 0
    say(f"{name}@{root.digest}")
    for line in tree_lines(nodes):
        say(line)
    return 0
