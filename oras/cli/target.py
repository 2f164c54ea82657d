"""Where a command reads or writes: a registry repository or an OCI image layout, opened as a
content store from a reference and the target flags (`--oci-layout`, `--oci-layout-path`, and
their `--from-`/`--to-` forms on `cp`)."""

from __future__ import annotations

import argparse
import copy as _copy
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from oras.cli.console import UsageError

REGISTRY = "registry"
LAYOUT = "oci-layout"


def add_target(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """`--oci-layout` and `--oci-layout-path` (with `prefix`: `--from-oci-layout`, ...)."""
    lead = f"{prefix}-" if prefix else ""
    dest = f"{prefix}_" if prefix else ""
    parser.add_argument(
        f"--{lead}oci-layout",
        dest=f"{dest}oci_layout",
        action="store_true",
        help="the reference is an OCI image layout: <dir|file.tar>[:<tag>|@<digest>]",
    )
    parser.add_argument(
        f"--{lead}oci-layout-path",
        dest=f"{dest}oci_layout_path",
        metavar="PATH",
        help="[Experimental] the OCI layout's path; the reference is then only <tag>|@<digest>",
    )


def add_prefixed(
    parser: argparse.ArgumentParser, prefix: str, add: Callable[[argparse.ArgumentParser], None]
) -> None:
    """The flags `add` defines, as `--<prefix>-<flag>` with dest `<prefix>_<dest>` (short
    options dropped): `cp`'s `--from-username`, `--to-plain-http`, ..."""
    scratch = argparse.ArgumentParser(add_help=False)
    add(scratch)
    group = parser.add_argument_group(f"{prefix} side")
    for action in scratch._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if not longs:
            continue
        renamed = _copy.copy(action)
        renamed.option_strings = [f"--{prefix}-{o[2:]}" for o in longs]
        renamed.dest = f"{prefix}_{action.dest}"
        if isinstance(renamed.default, list):
            renamed.default = []
        group._add_action(renamed)


def side(args: argparse.Namespace, prefix: str) -> argparse.Namespace:
    """The flags of one side of `cp`, under their plain names."""
    values = {k: v for k, v in vars(args).items() if not k.startswith(("from_", "to_"))}
    cut = len(prefix) + 1
    values.update({k[cut:]: v for k, v in vars(args).items() if k.startswith(f"{prefix}_")})
    return argparse.Namespace(**values)


@dataclass
class Opened:
    """A target a command works on."""

    store: Any
    #: The tag or digest inside the store ("" when the reference names none).
    reference: str
    #: What the user typed, for closing lines (`[registry] localhost:5000/repo:v1`).
    display: str
    kind: str
    #: The oras-py client (registries only).
    client: Any = None
    #: `registry/repository` for registries, the layout path for layouts.
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"[{self.kind}] {self.display}"

    def close(self) -> None:
        closer = getattr(self.store, "close", None)
        if callable(closer):
            closer()

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # A failed command leaves a layout it was writing as it was (a tar is not rewritten).
        abort = getattr(self.store, "abort", None)
        if exc_type is not None and callable(abort):
            abort()
        else:
            self.close()


def split_layout_reference(text: str) -> tuple[str, str]:
    """`<path>[:<tag>|@<digest>]` -> (path, tag or digest or "")."""
    path, at, digest = text.partition("@")
    if at:
        return path, digest
    slash = max(path.rfind("/"), path.rfind(os.sep))
    colon = path.rfind(":")
    if colon > slash:
        return path[:colon], path[colon + 1 :]
    return path, ""


def open_target(
    args: argparse.Namespace, text: str, write: bool = False, mount_from: Optional[str] = None
) -> Opened:
    """Open the reference `text` for reading (or writing, with `write`) by the flags in `args`."""
    if getattr(args, "oci_layout_path", None):
        path, reference = args.oci_layout_path, text.lstrip("@")
        return _open_layout(path, reference, text, write)
    if getattr(args, "oci_layout", False):
        path, reference = split_layout_reference(text)
        return _open_layout(path, reference, text, write)
    from oras.cli import options

    client = options.make_client(args, text)
    container = client.get_container(text)
    ref = container.to_reference()
    repository = client.repository(
        container,
        push=write,
        mount_from=mount_from,
        distribution_spec=getattr(args, "distribution_spec", None),
    )
    # A reference without a tag means "latest" when read; a destination keeps it empty so
    # that a copy tags it with the source's tag.
    explicit = ref.digest or (ref.tag if getattr(container, "_tag_given", True) else "")
    return Opened(
        store=repository,
        reference=explicit if write else (ref.digest or ref.tag or ""),
        display=text,
        kind=REGISTRY,
        client=client,
        name=f"{ref.registry}/{ref.repository}",
        extra={"registry": ref.registry, "repository": ref.repository, "scheme": client.prefix},
    )


def _open_layout(path: str, reference: str, display: str, write: bool) -> Opened:
    if not path:
        raise UsageError(f"{display!r} names no OCI layout path")
    from oras.content.layout import open_layout

    store = open_layout(path, "w" if write else "r")
    return Opened(store=store, reference=reference, display=display, kind=LAYOUT, name=path)


def short_digest(digest: str) -> str:
    """The first 12 hex characters of a sha256 digest (the whole digest otherwise)."""
    algorithm, _, encoded = digest.partition(":")
    return encoded[:12] if algorithm == "sha256" else digest


def node_name(desc: Any) -> str:
    """A node's name in event lines: its title, else its media type."""
    from oras.cli.console import printable

    return printable(desc.title or desc.media_type)


def repository_and_tags(args: argparse.Namespace, verb: str) -> tuple[str, list[str]]:
    """`backup`/`restore`: the `<registry>/<repository>` and the tags named after it (none:
    every tag), checking `--concurrency`."""
    from oras.reference import split_tags

    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    text, tags = split_tags(args.target)
    if "@" in text:
        raise UsageError(f"{verb} takes tags, not a digest: <registry>/<repository>[:<tags>]")
    return text, tags
