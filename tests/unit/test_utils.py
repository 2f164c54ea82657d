"""Unit tests for oras.utils: path splitting and checks, temp paths, atomic writes, request helpers."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import tarfile
import types
from pathlib import Path

import pytest

import oras.utils
from oras.errors import InvalidPathError, PathTraversalError
from oras.utils import fileio, request

ARTIFACT = b"hello dinosaur\n"
ARTIFACT_SHA256 = "07f469745bff59a6956b1394bfb4c77196c9dbc9950ff1a9e6143798edf9856f"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_every_compat_name_is_exported() -> None:
    names = """copyfile extract_targz get_file_hash get_size get_tmpdir get_tmpfile make_targz
    mkdir_p print_json read_file read_in_chunks read_json readline recursive_find sanitize_path
    split_path_and_content workdir write_file write_json append_url_params find_docker_config
    get_docker_client iter_localhosts""".split()
    for name in names:
        assert callable(getattr(oras.utils, name)), name
    for name in ("PathAndOptionalContent", "reset", "is_within_directory"):
        assert hasattr(fileio, name)


# --- split_path_and_content (compat 11.3) ---------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "path", "content"),
    [
        ("artifact.txt", "artifact.txt", None),
        (
            "path/to/config:application/vnd.oci.image.config.v1+json",
            "path/to/config",
            "application/vnd.oci.image.config.v1+json",
        ),
        (
            "/dev/null:application/vnd.acme.rocket.config",
            "/dev/null",
            "application/vnd.acme.rocket.config",
        ),
        ("/dev/null", "/dev/null", None),
        (":somefile:text/plain", ":somefile", "text/plain"),
        ("does:not:exists:text/plain", "does:not:exists", "text/plain"),
        ("name:", "name", None),
        ("name:with:colons:", "name:with:colons", None),
        (
            "C:\\myconfig:application/vnd.oci.image.config.v1+json",
            "C:\\myconfig",
            "application/vnd.oci.image.config.v1+json",
        ),
        ("C:\\myconfig", "C:\\myconfig", None),
        (
            "C:\\test.tar:application/vnd.oci.image.layer.v1.tar:somethingelse",
            "C:\\test.tar",
            "application/vnd.oci.image.layer.v1.tar:somethingelse",
        ),
        ("C:/test.tar:text/plain", "C:/test.tar", "text/plain"),
    ],
)
def test_split_path_and_content(ref: str, path: str, content: str | None) -> None:
    result = oras.utils.split_path_and_content(ref)
    assert (result.path, result.content) == (path, content)
    assert tuple(result) == (path, content)


def test_split_keeps_an_existing_path_with_colons_whole(tmp_path: Path) -> None:
    weird = tmp_path / "odd:name:text"
    weird.write_text("x")
    assert oras.utils.split_path_and_content(str(weird)) == (str(weird), None)
    assert oras.utils.split_path_and_content(f"{weird}:text/plain") == (str(weird), "text/plain")


# --- sanitize_path / is_within_directory ----------------------------------------------------


def test_sanitize_path_accepts_children_and_the_directory_itself(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert oras.utils.sanitize_path(out, out / "a" / "b.txt") == str(out.resolve() / "a" / "b.txt")
    assert oras.utils.sanitize_path(str(out), str(out)) == str(out.resolve())
    assert oras.utils.sanitize_path(out, out / "x" / ".." / "y") == str(out.resolve() / "y")


@pytest.mark.parametrize("name", ["../escape.txt", "../out2/x", "/etc/passwd", "a/../../b"])
def test_sanitize_path_refuses_escapes(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PathTraversalError) as info:
        oras.utils.sanitize_path(out, os.path.join(out, name))
    assert isinstance(info.value, Exception)
    message = str(info.value)
    assert message.startswith("Filename ") and message.endswith(
        f" is not in {out.resolve()} directory"
    )


def test_sanitize_path_follows_symlinks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(tmp_path)
    with pytest.raises(PathTraversalError):
        oras.utils.sanitize_path(out, out / "link" / "secret")


def test_paths_with_a_nul_byte_are_named(tmp_path: Path) -> None:
    """Python says only `embedded null byte`, without the path."""
    bad = str(tmp_path / "a\x00b")
    with pytest.raises(InvalidPathError) as info:
        fileio.sanitize_path(tmp_path, bad)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == f"path {bad!r} contains a NUL byte, which no file name can hold"
    with pytest.raises(InvalidPathError, match=r"^directory 'o\\x00ut' contains a NUL byte"):
        oras.utils.mkdir_p("o\x00ut")
    assert fileio.check_path(tmp_path / "fine") == str(tmp_path / "fine")


def test_is_within_directory_is_not_a_string_prefix_test(tmp_path: Path) -> None:
    assert fileio.is_within_directory(tmp_path / "out", tmp_path / "out" / "file")
    assert fileio.is_within_directory(tmp_path / "out", tmp_path / "out")
    assert not fileio.is_within_directory(tmp_path / "out", tmp_path / "out2" / "file")
    assert not fileio.is_within_directory(tmp_path / "out", tmp_path / "out" / ".." / "x")


# --- hashing, sizes, temp paths -------------------------------------------------------------


def test_get_file_hash_and_size(tmp_path: Path) -> None:
    artifact = tmp_path / "artifact.txt"
    artifact.write_bytes(ARTIFACT)
    assert oras.utils.get_file_hash(artifact) == ARTIFACT_SHA256
    assert oras.utils.get_file_hash(str(artifact), "sha256") == ARTIFACT_SHA256
    assert oras.utils.get_size(artifact) == 15
    assert oras.utils.get_file_hash("/dev/null") == EMPTY_SHA256
    assert oras.utils.get_size("/dev/null") == 0


def test_get_file_hash_other_algorithms(tmp_path: Path) -> None:
    import hashlib

    artifact = tmp_path / "artifact.txt"
    artifact.write_bytes(ARTIFACT)
    assert oras.utils.get_file_hash(artifact, "sha512") == hashlib.sha512(ARTIFACT).hexdigest()
    assert oras.utils.get_file_hash(artifact, "md5") == hashlib.md5(ARTIFACT).hexdigest()
    with pytest.raises(ValueError):
        oras.utils.get_file_hash(artifact, "no-such-hash")


def test_get_file_hash_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        oras.utils.get_file_hash(tmp_path / "missing")


def test_get_tmpdir(tmp_path: Path) -> None:
    made = oras.utils.get_tmpdir(str(tmp_path))
    assert os.path.isdir(made)
    assert os.path.dirname(made) == str(tmp_path)
    assert os.path.basename(made).startswith("oras-tmp.")
    assert oras.utils.get_tmpdir(str(tmp_path)) != made

    named = oras.utils.get_tmpdir(str(tmp_path), prefix="pull", create=False)
    assert os.path.basename(named).startswith("pull.")
    assert not os.path.exists(named)

    default = oras.utils.get_tmpdir()
    try:
        assert os.path.isdir(default)
    finally:
        os.rmdir(default)


def test_get_tmpfile(tmp_path: Path) -> None:
    made = oras.utils.get_tmpfile(str(tmp_path), suffix=".tar.gz")
    assert os.path.isfile(made) and os.path.getsize(made) == 0
    assert made.endswith(".tar.gz")
    assert os.path.dirname(made) == str(tmp_path)
    prefixed = oras.utils.get_tmpfile(str(tmp_path), prefix="blob-")
    assert os.path.basename(prefixed).startswith("blob-")


def test_mkdir_p(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b" / "c"
    oras.utils.mkdir_p(str(nested))
    oras.utils.mkdir_p(str(nested))  # already there: fine
    assert nested.is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError):
        oras.utils.mkdir_p(str(blocker / "sub"))
    with pytest.raises(ValueError):
        oras.utils.mkdir_p(str(blocker))


# --- reading and writing --------------------------------------------------------------------


def test_print_json_format() -> None:
    text = oras.utils.print_json({"a": [1, 2], "b": {"c": None}})
    assert (
        text
        == '{\n    "a": [\n        1,\n        2\n    ],\n    "b": {\n        "c": null\n    }\n}'
    )


def test_write_and_read_file(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    assert oras.utils.write_file(str(target), "one\ntwo\n") == str(target)
    assert oras.utils.read_file(str(target)) == "one\ntwo\n"
    oras.utils.write_file(target, ["three\n", "four\n"])
    assert target.read_text() == "three\nfour\n"
    oras.utils.write_file(target, "five\n", mode="a")
    assert target.read_text() == "three\nfour\nfive\n"
    oras.utils.write_file(target, b"\x00\x01", mode="wb")
    assert oras.utils.read_file(target, mode="rb") == b"\x00\x01"
    assert sorted(os.listdir(tmp_path)) == ["file.txt"]  # no temp files left behind


def test_write_file_is_atomic_and_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "config.json"
    target.write_text("old")
    os.chmod(target, 0o600)
    oras.utils.write_file(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_write_file_leaves_the_old_content_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("old")

    def lines():
        yield "partial"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        oras.utils.write_file(target, lines())
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["file.txt"]


def test_write_file_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    oras.utils.write_file(link, "updated")
    assert link.is_symlink()
    assert real.read_text() == "updated"


def test_write_file_make_exec(tmp_path: Path) -> None:
    target = tmp_path / "script.sh"
    oras.utils.write_file(target, "#!/bin/sh\n", make_exec=True)
    assert target.stat().st_mode & stat.S_IXUSR


def test_write_and_read_json(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    data = {"auths": {"localhost:5000": {"auth": "dTpw"}}}
    assert oras.utils.write_json(data, str(target)) == str(target)
    assert target.read_text() == oras.utils.print_json(data)
    assert oras.utils.read_json(str(target)) == data


def test_read_in_chunks_is_a_generator() -> None:
    chunks = oras.utils.read_in_chunks(io.BytesIO(b"abcdefg"), chunk_size=3)
    assert isinstance(chunks, types.GeneratorType)
    assert list(chunks) == [b"abc", b"def", b"g"]
    assert list(oras.utils.read_in_chunks(io.StringIO(""))) == []


def test_readline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("  secret-password \nsecond line\n"))
    assert oras.utils.readline() == "secret-password"


def test_recursive_find(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "sub" / "b.json").write_text("b")
    found = list(oras.utils.recursive_find(str(tmp_path)))
    assert sorted(found) == [str(tmp_path / "a.txt"), str(tmp_path / "sub" / "b.json")]
    assert all(os.path.isabs(p) for p in found)
    assert list(oras.utils.recursive_find(str(tmp_path), pattern=r"\.json$")) == [
        str(tmp_path / "sub" / "b.json")
    ]


def test_workdir_restores_the_directory(tmp_path: Path) -> None:
    here = os.getcwd()
    with oras.utils.workdir(str(tmp_path)):
        assert os.getcwd() == str(tmp_path.resolve())
    assert os.getcwd() == here
    with pytest.raises(RuntimeError), oras.utils.workdir(tmp_path):
        raise RuntimeError("inside")
    assert os.getcwd() == here


def test_copyfile(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.write_text("content")
    dest = tmp_path / "dst"
    dest.write_text("old")
    assert oras.utils.copyfile(str(source), str(dest)) == str(dest)
    assert dest.read_text() == "content"


# --- tarballs (delegated to oras.archive) ---------------------------------------------------


def test_reset_zeroes_mtime_only() -> None:
    info = tarfile.TarInfo("x")
    info.mtime, info.uid, info.uname = 12345, 1000, "someone"
    assert fileio.reset(info) is info
    assert (info.mtime, info.uid, info.uname) == (0, 1000, "someone")


def test_make_and_extract_targz(tmp_path: Path) -> None:
    source = tmp_path / "data"
    (source / "nested").mkdir(parents=True)
    (source / "nested" / "file.txt").write_bytes(ARTIFACT)

    archive = oras.utils.make_targz(str(source))
    try:
        assert os.path.isfile(archive) and archive.endswith(".tar.gz")
        again = oras.utils.make_targz(source, str(tmp_path / "again.tar.gz"))
        assert again == str(tmp_path / "again.tar.gz")
        assert Path(archive).read_bytes() == Path(again).read_bytes()  # reproducible

        out = tmp_path / "out"
        out.mkdir()
        oras.utils.extract_targz(archive, str(out))
        assert (out / "data" / "nested" / "file.txt").read_bytes() == ARTIFACT
    finally:
        os.remove(archive)


def test_make_targz_of_a_file(tmp_path: Path) -> None:
    source = tmp_path / "written_file.txt"
    source.write_text("hello!")
    first = oras.utils.make_targz(str(source), str(tmp_path / "test1.tar.gz"))
    second = oras.utils.make_targz(source, str(tmp_path / "test2.tar.gz"))
    assert first == str(tmp_path / "test1.tar.gz")
    assert oras.utils.get_file_hash(first) == oras.utils.get_file_hash(second)
    out = tmp_path / "out"
    out.mkdir()
    oras.utils.extract_targz(first, str(out))
    assert (out / "written_file.txt").read_text() == "hello!"


def test_extract_targz_refuses_traversal(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PathTraversalError):
        oras.utils.extract_targz(str(evil), str(out))
    assert not (tmp_path / "escaped.txt").exists()


# --- request helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("localhost:5000", ["localhost:5000", "127.0.0.1:5000"]),
        ("127.0.0.1:5000", ["127.0.0.1:5000", "localhost:5000"]),
        ("http://localhost/v2/", ["http://localhost/v2/", "http://127.0.0.1/v2/"]),
        ("ghcr.io", ["ghcr.io"]),
        ("mylocalhost:5000", ["mylocalhost:5000"]),
        ("127.0.0.10:5000", ["127.0.0.10:5000"]),
    ],
)
def test_iter_localhosts(name: str, expected: list[str]) -> None:
    assert list(oras.utils.iter_localhosts(name)) == expected


def test_append_url_params() -> None:
    assert oras.utils.append_url_params("https://r.io/v2/x/tags/list", {"n": 10}) == (
        "https://r.io/v2/x/tags/list?n=10"
    )
    url = oras.utils.append_url_params("https://r.io/v2/x/tags/list?last=a&n=1", {"n": 5})
    assert url == "https://r.io/v2/x/tags/list?last=a&n=5"


def test_find_docker_config_prefers_docker_config_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    env_dir = tmp_path / "env"
    (home / ".docker").mkdir(parents=True)
    env_dir.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DOCKER_CONFIG", str(env_dir))
    home_config = home / ".docker" / "config.json"
    env_config = env_dir / "config.json"

    assert oras.utils.find_docker_config() is None
    assert oras.utils.find_docker_config(exists=False) == str(env_config)

    home_config.write_text("{}")
    assert oras.utils.find_docker_config() == str(home_config)

    env_config.write_text("{}")
    assert oras.utils.find_docker_config() == str(env_config)

    monkeypatch.delenv("DOCKER_CONFIG")
    assert oras.utils.find_docker_config() == str(home_config)
    assert oras.utils.find_docker_config(exists=False) == str(home_config)


def test_get_docker_client_without_docker_py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "docker", None)  # makes `import docker` fail
    with pytest.raises(ImportError, match=r"pip install oras\[docker\]"):
        oras.utils.get_docker_client()


def test_get_docker_client_passes_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    fake = types.SimpleNamespace(DockerClient=lambda **kw: calls.append(kw) or "client")
    monkeypatch.setitem(sys.modules, "docker", fake)
    assert request.get_docker_client(tls_verify=False, base_url="unix://x") == "client"
    assert request.get_docker_client(insecure=True) == "client"
    assert calls == [{"tls": False, "base_url": "unix://x"}, {"tls": False}]


def test_print_json_roundtrips() -> None:
    data = {"x": "ü", "n": 1}
    assert json.loads(oras.utils.print_json(data)) == data


# -- what answers GET /v2/ -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "registry"),
    [
        ({"Docker-Distribution-API-Version": "registry/2.0"}, True),
        ({"Docker-Distribution-Api-Version": "registry/2.0", "Content-Type": "text/plain"}, True),
        ({"Content-Type": "application/json; charset=utf-8"}, True),
        ({"Content-Type": "text/html; charset=utf-8"}, False),
        ({}, False),
        ({"Docker-Distribution-API-Version": "nonsense", "Content-Type": "text/html"}, False),
    ],
)
def test_is_registry_ping(headers: dict[str, str], registry: bool) -> None:
    import requests

    from oras.remote.response import is_registry_ping

    response = requests.Response()
    response.status_code = 200
    response.headers.update(headers)
    assert is_registry_ping(response) is registry
