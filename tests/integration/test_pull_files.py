"""How an artifact's layers become files, and back: titles, unpacking, conflicts, modes, stdout.

Library (`Registry.push`/`pull`) and CLI (`oras-py push`/`pull`) against the real registry.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import requests

import oras.client
import oras.defaults
import oras.provider
from oras.errors import (
    ArchiveError,
    DuplicateTitleError,
    InvalidFileNameError,
    OutputConflictError,
)
from tests.conftest import CliRunner

TITLE = "org.opencontainers.image.title"
MANIFEST_TYPES = ", ".join(oras.defaults.default_manifest_accepted_media_types)


@pytest.fixture
def client() -> oras.client.OrasClient:
    return oras.client.OrasClient(insecure=True)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _tags(registry, repo: str) -> list[str]:
    response = requests.get(f"{registry.url}/v2/{repo}/tags/list")
    return (response.json().get("tags") or []) if response.status_code == 200 else []


def _push_layers(client, registry, repo: str, layers: list[tuple[bytes, dict]]) -> str:
    """Push blobs and a manifest by hand (titles and media types as given); returns the ref."""
    container = client.get_container(f"{registry.host}/{repo}:hand")
    descriptors = []
    for i, (blob, fields) in enumerate(layers):
        descriptor = {
            "mediaType": "application/octet-stream",
            "size": len(blob),
            "digest": "sha256:" + hashlib.sha256(blob).hexdigest(),
            **fields,
        }
        path = Path(f".blob-{i}")
        path.write_bytes(blob)
        client.upload_blob(str(path), container, descriptor)
        path.unlink()
        descriptors.append(descriptor)
    with oras.provider.temporary_empty_config() as empty:
        config = {
            "mediaType": "application/vnd.unknown.config.v1+json",
            "size": 2,
            "digest": oras.defaults.blank_config_hash,
        }
        client.upload_blob(empty, container, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": descriptors,
        "annotations": {},
    }
    client.upload_manifest(manifest, container)
    return str(container)


# -- two layers, one title -------------------------------------------------------------------------


def test_push_refuses_two_files_with_one_title(registry, client, workdir, unique_repo):
    (workdir / "hello.txt").write_text("top\n")
    (workdir / "x").mkdir()
    (workdir / "x" / "hello.txt").write_text("nested\n")
    target = f"{registry.host}/{unique_repo}:v1"
    with pytest.raises(DuplicateTitleError, match="hello.txt") as info:
        client.push(target=target, files=["hello.txt", "x/hello.txt"])
    assert isinstance(info.value, ValueError)
    # Refused before anything was uploaded: no manifest, no tag.
    assert _tags(registry, unique_repo) == []

    # An annotation-file title tells them apart.
    annotations = {"x/hello.txt": {TITLE: "nested.txt"}}
    client.push(target=target, files=["hello.txt", "x/hello.txt"], annotation_file=annotations)
    assert _tags(registry, unique_repo) == ["v1"]


def test_cli_push_refuses_two_files_with_one_title(
    registry, oras_cli: CliRunner, tmp_path, unique_repo
):
    (tmp_path / "hello.txt").write_text("top\n")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "hello.txt").write_text("nested\n")
    result = oras_cli(
        "push", f"localhost:{registry.port}/{unique_repo}:v1", "hello.txt", "x/hello.txt"
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "hello.txt and x/hello.txt would both be pushed with the title 'hello.txt'" in lines[0]
    assert "Traceback" not in result.stderr
    assert _tags(registry, unique_repo) == []


def test_pull_refuses_two_layers_with_one_title_before_writing(
    registry, client, workdir, unique_repo
):
    target = _push_layers(
        client,
        registry,
        unique_repo,
        [
            (b"first\n", {"annotations": {TITLE: "hello.txt"}}),
            (b"other\n", {"annotations": {TITLE: "other.txt"}}),
            (b"second\n", {"annotations": {TITLE: "./hello.txt"}}),
        ],
    )
    out = workdir / "out"
    with pytest.raises(DuplicateTitleError, match="two layers of the artifact have one title"):
        client.pull(target=target, outdir=str(out))
    assert not out.exists()


def test_pull_writes_a_repeated_identical_layer_once(registry, client, workdir, unique_repo):
    layer = (b"same\n", {"annotations": {TITLE: "same.txt"}})
    target = _push_layers(client, registry, unique_repo, [layer, layer])
    out = workdir / "out"
    assert client.pull(target=target, outdir=str(out)) == [str(out / "same.txt")]
    assert (out / "same.txt").read_bytes() == b"same\n"


UNSAFE_TITLES = [
    "",
    ".",
    "..",
    "sub/..",
    "nul\x00byte",
    "\x1b]0;PWNED\x07",
    "a\nSuccessfully pulled",
]


@pytest.mark.parametrize("title", UNSAFE_TITLES)
def test_pull_refuses_unsafe_titles_before_writing(registry, client, workdir, unique_repo, title):
    target = _push_layers(
        client,
        registry,
        unique_repo,
        [
            (b"fine\n", {"annotations": {TITLE: "fine.txt"}}),
            (b"evil\n", {"annotations": {TITLE: title}}),
        ],
    )
    out = workdir / "out"
    with pytest.raises(InvalidFileNameError) as info:
        client.pull(target=target, outdir=str(out))
    assert isinstance(info.value, ValueError)
    assert "\x1b" not in str(info.value) and "\n" not in str(info.value)
    assert not out.exists()


@pytest.mark.parametrize("title", [".", "\x1b]0;PWNED\x07"])
def test_cli_pull_refuses_unsafe_titles_in_one_line(
    registry, client, workdir, unique_repo, oras_cli: CliRunner, title
):
    _push_layers(client, registry, unique_repo, [(b"evil\n", {"annotations": {TITLE: title}})])
    result = oras_cli("pull", f"localhost:{registry.port}/{unique_repo}:hand", "-o", "out")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: layer title "), result.stderr
    assert "\x1b" not in result.stderr and "Errno" not in result.stderr
    assert not (workdir / "out").exists()


# -- what is unpacked, what is skipped -------------------------------------------------------------

TARGZ = "application/vnd.oci.image.layer.v1.tar+gzip"
UNPACK = "io.deis.oras.content.unpack"
TAR_DIGEST = "io.deis.oras.content.digest"


def _manifest(registry, repo: str, ref: str) -> dict:
    response = requests.get(
        f"{registry.url}/v2/{repo}/manifests/{ref}", headers={"Accept": MANIFEST_TYPES}
    )
    response.raise_for_status()
    return response.json()


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "inner.txt").write_text("inner\n")
    (root / "top.txt").write_text("top\n")
    return root


def test_directory_layers_carry_the_go_unpack_annotations(registry, client, workdir, unique_repo):
    _tree(workdir / "tree")
    (workdir / "plain.txt").write_text("plain\n")
    client.push(target=f"{registry.host}/{unique_repo}:v1", files=["tree", "plain.txt"])
    directory, plain = _manifest(registry, unique_repo, "v1")["layers"]
    assert directory["mediaType"] == TARGZ
    assert directory["annotations"][UNPACK] == "true"
    blob = requests.get(f"{registry.url}/v2/{unique_repo}/blobs/{directory['digest']}").content
    tar_digest = "sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest()
    assert directory["annotations"][TAR_DIGEST] == tar_digest
    # A file's layer keeps oras-py's annotations: the title only.
    assert plain["annotations"] == {TITLE: "plain.txt"}


def test_cli_pull_writes_an_unmarked_targz_layer_as_the_file(
    registry, client, workdir, unique_repo, oras_cli: CliRunner
):
    _tree(workdir / "bundle")
    with tarfile.open(workdir / "bundle.tar.gz", "w:gz") as tar:
        tar.add(workdir / "bundle", arcname="bundle")
    tarball = (workdir / "bundle.tar.gz").read_bytes()
    target = f"localhost:{registry.port}/{unique_repo}:v1"
    pushed = oras_cli("push", target, f"bundle.tar.gz:{TARGZ}")
    assert pushed.returncode == 0, pushed.stderr

    pulled = oras_cli("pull", target, "-o", "cli")
    assert pulled.returncode == 0, pulled.stderr
    assert sorted(p.name for p in (workdir / "cli").iterdir()) == ["bundle.tar.gz"]
    assert (workdir / "cli" / "bundle.tar.gz").read_bytes() == tarball

    # The library keeps oras-py's rule: every tar+gzip layer is unpacked.
    client.pull(target=target, outdir=str(workdir / "lib"))
    assert (workdir / "lib" / "bundle" / "sub" / "inner.txt").read_text() == "inner\n"


@pytest.mark.parametrize("pusher", ["cli", "library"])
def test_cli_pull_unpacks_pushed_directories(
    registry, client, workdir, unique_repo, oras_cli: CliRunner, pusher
):
    _tree(workdir / "tree")
    target = f"localhost:{registry.port}/{unique_repo}:v1"
    if pusher == "cli":
        assert oras_cli("push", target, "tree").returncode == 0
    else:
        client.push(target=f"{registry.host}/{unique_repo}:v1", files=["tree"])
    pulled = oras_cli("pull", target, "-o", "out")
    assert pulled.returncode == 0, pulled.stderr
    assert (workdir / "out" / "tree" / "sub" / "inner.txt").read_text() == "inner\n"
    assert (workdir / "out" / "tree" / "top.txt").read_text() == "top\n"
    assert sorted(p.name for p in (workdir / "out").iterdir()) == ["tree"]


def test_cli_pull_skips_untitled_layers(
    registry, client, workdir, unique_repo, oras_cli: CliRunner
):
    untitled = b"no title\n"
    blank = b"blank title\n"
    target = _push_layers(
        client,
        registry,
        unique_repo,
        [
            (b"titled\n", {"annotations": {TITLE: "titled.txt"}}),
            (untitled, {"mediaType": "application/x-untitled"}),
            (blank, {"mediaType": "application/x-blank", "annotations": {TITLE: ""}}),
        ],
    )
    pulled = oras_cli("pull", "--no-tty", target, "-o", "out")
    assert pulled.returncode == 0, pulled.stderr
    assert sorted(p.name for p in (workdir / "out").iterdir()) == ["titled.txt"]
    for data, media_type in ((untitled, "application/x-untitled"), (blank, "application/x-blank")):
        short = hashlib.sha256(data).hexdigest()[:12]
        assert f"Skipped     {short} {media_type}" in pulled.stderr.splitlines()

    # The library names an untitled layer after its digest, as oras-py does.
    digest = "sha256:" + hashlib.sha256(untitled).hexdigest()
    lib = workdir / "lib"
    target_without_blank = _push_layers(
        client, registry, unique_repo, [(untitled, {"mediaType": "application/x-untitled"})]
    )
    assert client.pull(target=target_without_blank, outdir=str(lib)) == [str(lib / digest)]


# -- a file never silently replaces a directory, nor the reverse -----------------------------------


def test_pull_refuses_to_replace_a_file_by_a_directory(
    registry, client, workdir, unique_repo, oras_cli: CliRunner
):
    _tree(workdir / "d")
    target = f"{registry.host}/{unique_repo}:v1"
    client.push(target=target, files=["d"])
    out = workdir / "out"
    out.mkdir()
    (out / "d").write_text("precious\n")
    with pytest.raises(OutputConflictError, match=r"replace the file .*out/d by a directory"):
        client.pull(target=target, outdir=str(out))
    assert (out / "d").read_text() == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == ["d"]

    result = oras_cli("pull", f"localhost:{registry.port}/{unique_repo}:v1", "-o", "out")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: refusing to replace the file "), result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "d").read_text() == "precious\n"


def test_pull_refuses_to_replace_a_directory_by_a_file_before_writing(
    registry, client, workdir, unique_repo
):
    target = _push_layers(
        client,
        registry,
        unique_repo,
        [
            (b"first\n", {"annotations": {TITLE: "first.txt"}}),
            (b"file\n", {"annotations": {TITLE: "d"}}),
        ],
    )
    out = workdir / "out"
    (out / "d").mkdir(parents=True)
    (out / "d" / "mine.txt").write_text("precious\n")
    with pytest.raises(OutputConflictError, match=r"replace the directory .*out/d by a file"):
        client.pull(target=target, outdir=str(out))
    assert sorted(p.name for p in out.iterdir()) == ["d"]
    assert (out / "d" / "mine.txt").read_text() == "precious\n"


def test_pull_refuses_a_title_below_an_existing_file(registry, client, workdir, unique_repo):
    target = _push_layers(
        client, registry, unique_repo, [(b"x\n", {"annotations": {TITLE: "a/b.txt"}})]
    )
    out = workdir / "out"
    out.mkdir()
    (out / "a").write_text("precious\n")
    with pytest.raises(OutputConflictError, match=r"replace the file .*out/a by a directory"):
        client.pull(target=target, outdir=str(out))
    assert (out / "a").read_text() == "precious\n"


def test_pull_into_a_file_is_a_one_line_error(
    registry, client, workdir, unique_repo, oras_cli: CliRunner
):
    (workdir / "hello.txt").write_text("hello\n")
    target = f"{registry.host}/{unique_repo}:v1"
    client.push(target=target, files=["hello.txt"])
    (workdir / "taken").write_text("precious\n")
    with pytest.raises(OutputConflictError, match="it is a file, not a directory") as info:
        client.pull(target=target, outdir=str(workdir / "taken"))
    assert isinstance(info.value, FileExistsError)
    with pytest.raises(OutputConflictError, match="is below .*taken, which is a file"):
        client.pull(target=target, outdir=str(workdir / "taken" / "deeper"))

    result = oras_cli("pull", f"localhost:{registry.port}/{unique_repo}:v1", "-o", "taken")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot pull into {workdir / 'taken'}: it is a file, not a directory "
        "(move it away, or pull into another directory)"
    ]
    assert (workdir / "taken").read_text() == "precious\n"


# -- modes -----------------------------------------------------------------------------------------


@pytest.fixture
def umask():
    """Set the process umask for the test (CLI children inherit it); restored afterwards."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077], ids=oct)
def test_pulled_files_get_the_mode_of_a_new_file(
    registry, client, workdir, unique_repo, oras_cli: CliRunner, umask, mask
):
    (workdir / "data.txt").write_text("data\n")
    (workdir / "empty.txt").write_bytes(b"")
    target = f"{registry.host}/{unique_repo}:v1"
    client.push(target=target, files=["data.txt", "empty.txt"])
    umask(mask)
    client.pull(target=target, outdir=str(workdir / "lib"))
    result = oras_cli("pull", f"localhost:{registry.port}/{unique_repo}:v1", "-o", "cli")
    assert result.returncode == 0, result.stderr
    for out in ("lib", "cli"):
        for name in ("data.txt", "empty.txt"):
            mode = stat.S_IMODE((workdir / out / name).stat().st_mode)
            assert mode == 0o666 & ~mask, (out, name, oct(mode))


# -- `-o -`: nothing unverified reaches stdout -----------------------------------------------------


def _blob_data(registry, payload: bytes) -> Path:
    return registry.blob_path("sha256:" + hashlib.sha256(payload).hexdigest())


@pytest.mark.parametrize("size", [5000, 17 * 1024 * 1024], ids=["in-memory", "spooled-to-disk"])
def test_pull_to_stdout_writes_only_verified_bytes(
    registry, client, workdir, unique_repo, tmp_path_factory, size
):
    payload = os.urandom(size)
    (workdir / "blob.bin").write_bytes(payload)
    client.push(target=f"{registry.host}/{unique_repo}:v1", files=["blob.bin"])
    target = f"localhost:{registry.port}/{unique_repo}:v1"
    spool_dir = tmp_path_factory.mktemp("spool")
    env = {**os.environ, "TMPDIR": str(spool_dir)}

    good = run_cli_bytes(["pull", target, "-o", "-"], workdir, env)
    assert good.returncode == 0, good.stderr
    assert good.stdout == payload

    data = _blob_data(registry, payload)
    data.write_bytes(b"EVIL!" + payload[5:])
    try:
        bad = run_cli_bytes(["pull", target, "-o", "-"], workdir, env)
    finally:
        data.write_bytes(payload)  # leave the shared registry consistent
    assert bad.returncode == 1
    assert bad.stdout == b""
    lines = bad.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: digest mismatch: "), bad.stderr
    assert list(spool_dir.iterdir()) == []  # the spool file is gone
    assert sorted(p.name for p in workdir.iterdir()) == ["blob.bin"]


def test_pull_help_says_stdout_is_written_after_verification(oras_cli: CliRunner):
    result = oras_cli("pull", "--help")
    assert result.returncode == 0
    assert "only once it is verified" in " ".join(result.stdout.split())


def run_cli_bytes(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI with bytes on stdout (the `oras_cli` fixture speaks text)."""
    env = dict(env)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "oras.cli", *args],
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_pull_to_stdout_stops_a_blob_that_outgrows_its_size(registry, client, workdir, unique_repo):
    payload = b"small\n"
    (workdir / "small.txt").write_bytes(payload)
    client.push(target=f"{registry.host}/{unique_repo}:v1", files=["small.txt"])
    data = _blob_data(registry, payload)
    data.write_bytes(payload + b"x" * 3_000_000)
    try:
        result = run_cli_bytes(
            ["pull", f"localhost:{registry.port}/{unique_repo}:v1", "-o", "-"], workdir, os.environ
        )
    finally:
        data.write_bytes(payload)
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"is larger than the 6 bytes its descriptor says" in result.stderr


# -- a layer to unpack that is no archive ----------------------------------------------------------


def test_pull_of_a_marked_layer_that_is_not_targz_is_a_typed_error(
    registry, client, workdir, unique_repo, oras_cli: CliRunner
):
    target = _push_layers(
        client,
        registry,
        unique_repo,
        [
            (
                b"hello, not gzip\n",
                {"mediaType": TARGZ, "annotations": {TITLE: "pkg", UNPACK: "true"}},
            )
        ],
    )
    out = workdir / "out"
    with pytest.raises(ArchiveError, match=r"cannot unpack layer 'pkg' \(sha256:.*not a tar\+gzip"):
        client.pull(target=target, outdir=str(out))
    assert list(out.iterdir()) == []  # neither the download nor a staging directory is left

    result = oras_cli("pull", "--no-tty", target, "-o", "cli")
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("Error: cannot unpack layer 'pkg' (sha256:"), result.stderr
    assert "Not a gzipped file" in error and "Traceback" not in result.stderr
    assert list((workdir / "cli").iterdir()) == []
