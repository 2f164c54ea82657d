"""oras-py's utility namespace: file and request helpers, re-exported from their submodules."""

from typing import Any

from oras.utils import fileio
from oras.utils.fileio import (
    copyfile,
    extract_targz,
    get_file_hash,
    get_size,
    get_tmpdir,
    get_tmpfile,
    is_within_directory,
    make_targz,
    mkdir_p,
    print_json,
    read_file,
    read_in_chunks,
    read_json,
    readline,
    recursive_find,
    reset,
    sanitize_path,
    workdir,
    write_file,
    write_json,
)
from oras.utils.request import (
    append_url_params,
    find_docker_config,
    get_docker_client,
    iter_localhosts,
)

__all__ = [
    "PathAndOptionalContent",
    "append_url_params",
    "copyfile",
    "extract_targz",
    "find_docker_config",
    "get_docker_client",
    "get_file_hash",
    "get_size",
    "get_tmpdir",
    "get_tmpfile",
    "is_within_directory",
    "iter_localhosts",
    "make_targz",
    "mkdir_p",
    "print_json",
    "read_file",
    "read_in_chunks",
    "read_json",
    "readline",
    "recursive_find",
    "reset",
    "sanitize_path",
    "split_path_and_content",
    "workdir",
    "write_file",
    "write_json",
]


def __getattr__(name: str) -> Any:
    """`PathAndOptionalContent` and `split_path_and_content`, from `oras.pack` on first use."""
    if name in fileio.FROM_PACK:
        return getattr(fileio, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | fileio.FROM_PACK)
