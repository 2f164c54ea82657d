"""Raw output of the `blob` and `manifest` commands: content and descriptors as Go `oras`
writes them (`--descriptor`, `--pretty`, `-o <path>|-`), status lines and the delete prompt."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable

from oras.cli import options
from oras.cli.console import UsageError, say
from oras.cli.target import node_name, short_digest


def add_descriptor(parser: argparse.ArgumentParser, pretty: bool = True) -> None:
    parser.add_argument(
        "--descriptor", action="store_true", help="print the descriptor instead of the content"
    )
    if pretty:
        parser.add_argument(
            "--pretty", action="store_true", help="prettify JSON objects printed to stdout"
        )


def add_output(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-o", "--output", metavar="PATH", help=f"file to write the {what} to, - for stdout"
    )


def add_force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--force", action="store_true", help="ignore nonexistent references, never prompt"
    )


def write_stdout_bytes(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def prettify(data: bytes) -> bytes:
    """JSON indented by two spaces (key order kept), with a final newline, as `--pretty`
    writes it; UsageError when it is not JSON."""
    try:
        document = json.loads(data, object_pairs_hook=dict)
    except ValueError:
        raise UsageError("--pretty: the content is not JSON") from None
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def print_json_bytes(data: bytes, pretty: bool) -> None:
    """JSON bytes to stdout: as they are, or prettified."""
    write_stdout_bytes(prettify(data) if pretty else data)


def print_descriptor(desc: Any, pretty: bool) -> None:
    """A descriptor as Go `oras` prints it: compact JSON without a newline, or `--pretty`."""
    from oras.operations import compact_json, go_descriptor

    print_json_bytes(compact_json(go_descriptor(desc)), pretty)


def write_file(path: str, data: bytes) -> None:
    """`data` to `path`, replacing it whole (a temporary file renamed into place)."""
    from oras.utils.fileio import write_file as write_atomically

    write_atomically(path, data, mode="wb")


def status(prompt: str, desc: Any) -> None:
    """`<prompt> <short digest> <title or media type>` on stdout."""
    say(f"{prompt} {short_digest(desc.digest)} {node_name(desc)}")


def confirm(question: str, force: bool) -> bool:
    """Ask `question [y/N] ` on stdout and read the answer from stdin (as Go `oras` does, a
    pipe answers too); anything but `y` or `yes` prints `Operation cancelled.`."""
    if force:
        return True
    sys.stdout.write(f"{question} [y/N] ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer in ("y", "yes"):
        return True
    say("Operation cancelled.")
    return False


def require_reference(opened: Any, text: str) -> str:
    """The tag or digest a reference names; UsageError when it names none (a registry
    reference without one would otherwise mean `latest`)."""
    reference = opened.reference
    if opened.kind == "registry":
        from oras.reference import parse_reference

        parsed = parse_reference(text, require_registry=True)
        if not parsed.tag and not parsed.digest:
            reference = ""
    if not reference:
        raise UsageError(f"{text}: no tag or digest specified")
    return reference


def with_prefix(error: BaseException, prefix: str) -> BaseException:
    """`error` with `prefix` before its message (same type, status and hint)."""
    if error.args and isinstance(error.args[0], str):
        error.args = (f"{prefix}{error.args[0]}", *error.args[1:])
    return error


def read_input(path: str, limit: int) -> bytes:
    """A file's bytes, or stdin's for `-`; UsageError over `limit` bytes."""
    if path == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        if not os.path.isfile(path):
            raise UsageError(f"{path}: no such file")
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"{path}: over the {limit} byte limit of a manifest")
    return data


def stdin_conflict(args: argparse.Namespace) -> None:
    if getattr(args, "password_stdin", False) or getattr(args, "identity_token_stdin", False):
        raise UsageError("the content and the credential cannot both be read from stdin")


def add_delete_parser(
    subparsers: argparse._SubParsersAction,
    what: str,
    description: str,
    target_help: str,
    more_flags: Callable[[argparse.ArgumentParser], None] = lambda parser: None,
) -> argparse.ArgumentParser:
    """The `delete` (`rm`, `remove`) command of `blob` and `manifest`: the target, -f, the
    command's `more_flags`, --descriptor, then the remote and common flags (--help's order)."""
    parser = subparsers.add_parser(
        "delete",
        aliases=["rm", "remove"],
        help=f"delete a {what} from a registry",
        description=description,
    )
    parser.add_argument("target", help=target_help)
    add_force(parser)
    more_flags(parser)
    add_descriptor(parser)
    options.add_remote(parser)
    options.add_common(parser)
    return parser


def run_delete(
    args: argparse.Namespace,
    what: str,
    find: Callable[[Any], Any],
    question: Callable[[Any], str],
) -> int:
    """`blob delete` and `manifest delete`: `find(opened)` names the descriptor (NotFoundError
    when there is none), `question(desc)` is the confirmation asked unless `--force`."""
    from oras.cli import target
    from oras.errors import NotFoundError

    if args.descriptor and not args.force:
        raise UsageError(
            "must apply --force to confirm the deletion if the descriptor is outputted"
        )
    with target.open_target(args, args.target, write=True) as opened:
        try:
            desc = find(opened)
        except NotFoundError as e:
            if args.force and not args.descriptor:
                say(f"Missing {args.target}")
                return 0
            raise NotFoundError(
                f"{args.target}: the specified {what} does not exist", status=404, url=e.url
            ) from e
        if not confirm(question(desc), args.force):
            return 0
        try:
            opened.store.delete(desc)
        except Exception as e:
            raise with_prefix(e, f"failed to delete {args.target}: ")
    if args.descriptor:
        print_descriptor(desc, args.pretty)
    else:
        say(f"Deleted {opened.label}")
    return 0
