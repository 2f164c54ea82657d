"""Entry point of `oras-py`: parse the command line, run one command, render errors in one line."""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import signal
import sys
import threading
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from oras.cli.console import UsageError, error_line

#: Command -> (one-line help, aliases). Each is the module `oras.cli.<command>` with
#: `add_arguments(parser)` and `run(args)`; its parser is built only when it runs (or for
#: `completion` and the docs, every parser), so that `--help` and a usage error stay quick.
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "version": ("show the version", ()),
    "login": ("log in to a registry", ()),
    "logout": ("log out of a registry", ()),
    "push": ("push files to a registry", ()),
    "pull": ("pull files from a registry or an OCI layout", ()),
    "tag": ("tag a manifest in a registry or an OCI layout", ()),
    "resolve": ("[Preview] print the digest of a reference", ("digest",)),
    "cp": ("copy an artifact between registries and OCI layouts", ("copy",)),
    "backup": ("[Experimental] back up a repository's tags into an OCI layout", ()),
    "restore": ("[Experimental] restore an OCI layout's tags into a repository", ()),
    "attach": ("attach files to a manifest as a referrer", ()),
    "discover": ("[Preview] list the referrers of a manifest", ()),
    "blob": ("blob operations", ()),
    "manifest": ("manifest operations", ()),
    "repo": ("repository operations", ("repository",)),
    "completion": ("print a shell completion script", ()),
}


def _usage_error(message: str, prog: str) -> int:
    """A mistake on the command line: the error, then where the usage is; exit status 2."""
    error_line(f"Error: {message}")
    sys.stderr.write(f"Run '{prog} --help' for usage.\n")
    return 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as argparse but without usage spam
        sys.exit(_usage_error(message, self.prog))


#: Every word that names a command (its name or an alias) -> the command.
_BY_WORD = {word: name for name, (_, aliases) in COMMANDS.items() for word in (name, *aliases)}


def command_named(word: Optional[str]) -> Optional[str]:
    """The command `word` names (a command or one of its aliases), or None."""
    return _BY_WORD.get(word) if word is not None else None


def _command_word(argv: list[str]) -> Optional[str]:
    """The word of `argv` that names the command: the first that is not an option (the
    top-level options take no value)."""
    return next((a for a in argv if not a.startswith("-")), None)


def _unknown_command(word: str) -> str:
    close = difflib.get_close_matches(word, list(_BY_WORD), n=1)
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    return f'unknown command "{word}" for "oras-py"{hint}'


def build_parser(argv: Optional[list[str]] = None) -> argparse.ArgumentParser:
    """The command line's parser. With `argv`, only the command it names gets its arguments
    (the first word that is not an option: the top-level options take no value); the others
    are listed with their help, which is all `oras-py --help` and a wrong name need."""
    parser = _Parser(prog="oras-py", description="OCI Registry as Storage Python client")
    parser.add_argument("--quiet", action="store_true", help="suppress info messages")
    parser.add_argument("--version", action="store_true", help="show the version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    wanted = None
    if argv is not None:
        wanted = command_named(_command_word(argv)) or ""
    for name, (summary, aliases) in COMMANDS.items():
        command = subparsers.add_parser(
            name, aliases=list(aliases), help=summary, description=summary
        )
        command.set_defaults(command=name)
        if wanted is None or wanted == name:
            importlib.import_module(f"oras.cli.{name}").add_arguments(command)
    return parser


def _is_file_arg(arg: str) -> bool:
    """A positional file: not an option; `-` and `-:mediatype` mean standard input."""
    return not arg.startswith("-") or arg == "-" or arg.startswith("-:")


def _describe(error: BaseException) -> str:
    """One line for an error: the message, then what to do about it when we know."""
    import requests

    from oras.errors import OrasError

    if isinstance(error, requests.exceptions.RequestException):
        request = getattr(error, "request", None)
        host = (
            urlsplit(request.url).netloc if request is not None and request.url else "the registry"
        )
    if isinstance(error, requests.exceptions.SSLError):
        return (
            f"TLS failure talking to {host}: {_root_cause(error)} "
            "(use --ca-file with the registry's CA, --insecure, or --plain-http for an HTTP registry)"
        )
    if isinstance(error, requests.exceptions.ConnectionError):
        plain = request is not None and str(request.url).startswith("http://")
        hint = (
            "is the registry running?"
            if plain
            else ("is the registry running, and does it speak HTTPS? use --plain-http for HTTP")
        )
        return f"cannot connect to {host}: {_root_cause(error)} ({hint})"
    if isinstance(error, requests.exceptions.Timeout) and not isinstance(error, OrasError):
        from oras.remote.timeouts import TIMEOUT_HINT

        return f"{host} did not answer in time ({TIMEOUT_HINT})"
    message = str(error) or type(error).__name__
    if isinstance(error, KeyError):
        message = f"missing field {message}"
    hint = getattr(error, "hint", None) if isinstance(error, OrasError) else None
    return f"{message} ({hint})" if hint else message


def _root_cause(error: BaseException) -> str:
    seen = error
    while seen.__context__ is not None and seen.__context__ is not seen:
        seen = seen.__context__
    text = str(getattr(seen, "reason", "") or seen)
    return text.splitlines()[0][:300] if text else type(error).__name__


#: The signals that stop a command, what they are called, and the exit status they give.
_STOP_SIGNALS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


def _trap_stop_signals(received: list[int]) -> Callable[[], None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread (noting which one came in
    `received`), so that transfers stop and remove their partial files; a second signal while
    that happens exits at once. Returns what puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum: int, frame: Any) -> None:
        if received:  # already stopping: the user insists
            _leave(128 + received[0])
        received.append(signum)
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, stop) for signum in _STOP_SIGNALS}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


def _leave(status: int) -> None:
    """Remove the library's temporary files, then end the process now with `status`."""
    from oras import scratch

    scratch.remove_all()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _stopped(received: list[int]) -> int:
    """After an interrupt: one line, every temporary file removed, exit status 128 + signal.
    A worker thread still blocked (on a silent connection, say) is not waited for."""
    signum = received[0] if received else signal.SIGINT
    error_line(f"Error: {_STOP_SIGNALS.get(signal.Signals(signum), 'interrupted')}")
    status = 128 + signum
    if any(
        t.is_alive() and not t.daemon
        for t in threading.enumerate()
        if t is not threading.current_thread()
    ):
        _leave(status)  # the interpreter would wait for them at exit
    from oras import scratch

    scratch.remove_all()
    return status


def main(argv: Optional[list[str]] = None) -> int:
    from oras.cli.options import normalize_bool_flags

    argv = normalize_bool_flags(list(sys.argv[1:] if argv is None else argv))
    word = _command_word(argv)
    if word is not None and command_named(word) is None:
        return _usage_error(_unknown_command(word), "oras-py")
    parser = build_parser(argv)
    args, extras = parser.parse_known_args(argv)
    if extras:
        # Options and positionals may be interleaved (`push REF --insecure ./file`): argparse
        # leaves positionals that follow an option over; they are more files.
        if hasattr(args, "files") and all(_is_file_arg(e) for e in extras):
            args.files.extend(extras)
        else:
            prog = f"{parser.prog} {args.command}" if args.command else parser.prog
            return _usage_error(f"unrecognized arguments: {' '.join(extras)}", prog)
    if args.version and not args.command:
        args.command = "version"
    if not args.command:
        parser.print_usage(sys.stderr)
        error_line("Error: a command is required")
        return 2
    from oras.cli.console import setup_logging

    setup_logging(quiet=args.quiet, debug=getattr(args, "debug", False))
    from oras.cli.options import warn_deprecated

    warn_deprecated(args)
    module = importlib.import_module(f"oras.cli.{args.command}")
    received: list[int] = []
    restore_signals = _trap_stop_signals(received)
    try:
        return int(module.run(args) or 0)
    except UsageError as e:
        return _usage_error(str(e), f"{parser.prog} {args.command}")
    except KeyboardInterrupt:
        return _stopped(received)
    except Exception as e:  # every failure is one line; --debug shows the traceback
        if getattr(args, "debug", False):
            import traceback

            from oras.cli.console import printable

            for line in traceback.format_exc().splitlines():
                print(printable(line), file=sys.stderr)
        error_line(f"Error: {_describe(e)}")
        return 1
    finally:
        restore_signals()


if __name__ == "__main__":
    sys.exit(main())
