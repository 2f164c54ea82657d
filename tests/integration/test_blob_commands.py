"""`blob fetch`, `blob push` and `blob delete` against a real Distribution registry (and an OCI
layout), every success output parsed and every error path named in the issue."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

from tests.conftest import CLI_TIMEOUT, PROJECT_ROOT
from tests.harness.pty import answer_on_pty

LAYER = "application/vnd.oci.image.layer.v1.tar"
UNSUPPORTED = json.dumps(
    {"errors": [{"code": "UNSUPPORTED", "message": "The operation is unsupported."}]}
).encode()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def run_bytes(
    *args: str, input: bytes = b"", cwd: Optional[Path] = None
) -> subprocess.CompletedProcess:
    """The CLI with binary stdin and stdout."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "oras.cli", *args],
        input=input,
        capture_output=True,
        env=env,
        cwd=cwd,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def push_blob(oras_cli, ref: str, path: Path, data: bytes) -> str:
    path.write_bytes(data)
    done = oras_cli("blob", "push", ref, str(path))
    assert done.returncode == 0, done.stderr
    return sha256(data)


def test_blob_push_prints_status_and_closing_lines_then_exists(
    oras_cli, registry, unique_repo, tmp_path
):
    data = b"hello blob\n"
    (tmp_path / "hi.txt").write_bytes(data)
    ref = registry.ref(unique_repo)
    short = sha256(data)[7:19]
    done = oras_cli("blob", "push", ref, "hi.txt")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"Uploading {short} {LAYER}",
        f"Uploaded  {short} {LAYER}",
        f"Pushed: [registry] {ref}",
        f"Digest: {sha256(data)}",
    ]
    again = oras_cli("blob", "push", f"{ref}@{sha256(data)}", "hi.txt")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == f"Exists    {short} {LAYER}"
    assert again.stdout.splitlines()[1] == f"Pushed: [registry] {ref}@{sha256(data)}"


def test_blob_push_descriptor_and_media_type(oras_cli, registry, unique_repo, tmp_path):
    data = b'{"config": true}'
    (tmp_path / "c.json").write_bytes(data)
    ref = registry.ref(unique_repo)
    done = oras_cli("blob", "push", "--descriptor", ref, "c.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f'{{"mediaType":"{LAYER}","digest":"{sha256(data)}","size":{len(data)}}}'
    )
    typed = oras_cli(
        "blob", "push", "--descriptor", "--pretty", "--media-type", "application/x.c", ref, "c.json"
    )
    assert typed.returncode == 0, typed.stderr
    assert typed.stdout.endswith("}\n") and "\n  " in typed.stdout
    assert json.loads(typed.stdout) == {
        "mediaType": "application/x.c",
        "digest": sha256(data),
        "size": len(data),
    }


def test_blob_push_from_stdin_needs_a_size_that_matches(registry, unique_repo, tmp_path):
    data = b"from stdin\n"
    ref = registry.ref(unique_repo)
    done = run_bytes("blob", "push", "--size", str(len(data)), ref, "-", input=data)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines()[-1] == f"Digest: {sha256(data)}"
    by_digest = run_bytes(
        "blob", "push", "--size", str(len(data)), f"{ref}@{sha256(data)}", "-", input=data
    )
    assert by_digest.returncode == 0, by_digest.stderr
    assert by_digest.stdout.decode().startswith("Exists ")

    missing = run_bytes("blob", "push", ref, "-", input=data)
    assert missing.returncode == 2
    assert missing.stderr.decode().splitlines()[0] == (
        "Error: `--size` must be provided if the blob is read from stdin"
    )
    for size in (len(data) - 1, len(data) + 1):
        bad = run_bytes("blob", "push", "--size", str(size), ref, "-", input=data)
        assert bad.returncode == 1, bad.stdout
        error = bad.stderr.decode()
        assert error.startswith("Error: ") and len(error.splitlines()) == 1
        assert f"{size}" in error and "Traceback" not in error
    negative = run_bytes("blob", "push", "--size", "-3", ref, "-", input=data)
    assert negative.returncode == 2 and "--size" in negative.stderr.decode()
    (tmp_path / "f").write_bytes(data)
    wrong_file_size = run_bytes("blob", "push", "--size", "3", ref, str(tmp_path / "f"))
    assert wrong_file_size.returncode == 1
    assert "not the 3 given as its size" in wrong_file_size.stderr.decode()


def test_blob_push_with_a_wrong_digest_is_refused(oras_cli, registry, unique_repo, tmp_path):
    (tmp_path / "x").write_bytes(b"x content")
    wrong = sha256(b"something else")
    done = oras_cli("blob", "push", f"{registry.ref(unique_repo)}@{wrong}", "x")
    assert done.returncode == 1
    assert done.stderr.startswith("Error: ") and len(done.stderr.splitlines()) == 1
    gone = oras_cli("blob", "fetch", "--descriptor", f"{registry.ref(unique_repo)}@{wrong}")
    assert gone.returncode == 1


def test_blob_fetch_to_a_file_stdout_and_descriptor(oras_cli, registry, unique_repo, tmp_path):
    data = bytes(range(256)) * 40
    ref = registry.ref(unique_repo)
    digest = push_blob(oras_cli, ref, tmp_path / "bin", data)
    out = tmp_path / "out.bin"
    done = oras_cli("blob", "fetch", "-o", str(out), f"{ref}@{digest}")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and out.read_bytes() == data
    raw = run_bytes("blob", "get", "--output", "-", f"{ref}@{digest}")
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout == data
    both = oras_cli("blob", "fetch", "-o", str(tmp_path / "2"), "--descriptor", f"{ref}@{digest}")
    assert both.returncode == 0, both.stderr
    assert json.loads(both.stdout) == {
        "mediaType": "application/octet-stream",
        "digest": digest,
        "size": len(data),
    }
    assert (tmp_path / "2").read_bytes() == data


def test_blob_fetch_errors(oras_cli, registry, unique_repo, tmp_path):
    ref = registry.ref(unique_repo)
    digest = push_blob(oras_cli, ref, tmp_path / "a", b"a")
    neither = oras_cli("blob", "fetch", f"{ref}@{digest}")
    assert neither.returncode == 2
    assert "either `--output` or `--descriptor` must be provided" in neither.stderr
    both = oras_cli("blob", "fetch", "-o", "-", "--descriptor", f"{ref}@{digest}")
    assert both.returncode == 2
    by_tag = oras_cli("blob", "fetch", "--descriptor", f"{ref}:v1")
    assert by_tag.returncode == 2 and "by digest" in by_tag.stderr
    missing = sha256(b"never pushed")
    gone = oras_cli("blob", "fetch", "-o", str(tmp_path / "m"), f"{ref}@{missing}")
    assert gone.returncode == 1
    assert gone.stderr == f"Error: {ref}@{missing}: blob not found\n"
    assert not (tmp_path / "m").exists()
    nowhere = oras_cli("blob", "fetch", "-o", str(tmp_path / "no" / "f"), f"{ref}@{digest}")
    assert nowhere.returncode == 1
    assert nowhere.stderr == f"Error: {tmp_path / 'no'}: no such directory\n"


def test_blob_fetch_verifies_and_leaves_nothing_on_failure(
    oras_cli, registry, fault_proxy, unique_repo, tmp_path
):
    data = b"verified content\n" * 100
    digest = push_blob(oras_cli, registry.ref(unique_repo), tmp_path / "v", data)
    fault_proxy.corrupt_response("GET", rf"^/v2/{unique_repo}/blobs/{digest}$", offset=10)
    outdir = tmp_path / "out"
    outdir.mkdir()
    done = oras_cli(
        "blob", "fetch", "-o", str(outdir / "f"), f"{fault_proxy.host}/{unique_repo}@{digest}"
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Error: ") and digest in done.stderr
    assert list(outdir.iterdir()) == []  # neither the file nor a partial one


def test_blob_delete_force_missing_and_descriptor(oras_cli, registry, unique_repo, tmp_path):
    ref = registry.ref(unique_repo)
    digest = push_blob(oras_cli, ref, tmp_path / "d", b"to delete")
    target = f"{ref}@{digest}"
    needs_force = oras_cli("blob", "delete", "--descriptor", target)
    assert needs_force.returncode == 2
    assert "must apply --force" in needs_force.stderr
    done = oras_cli("blob", "rm", "-f", "--descriptor", target)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["digest"] == digest
    missing = oras_cli("blob", "remove", "--force", target)
    assert missing.returncode == 0, missing.stderr
    assert missing.stdout == f"Missing {target}\n"
    refused = oras_cli("blob", "delete", target, input="y\n")
    assert refused.returncode == 1
    assert refused.stderr == f"Error: {target}: the specified blob does not exist\n"


def test_blob_delete_refused_by_the_registry(
    oras_cli, registry, fault_proxy, unique_repo, tmp_path
):
    digest = push_blob(oras_cli, registry.ref(unique_repo), tmp_path / "r", b"kept")
    fault_proxy.fail(
        "DELETE",
        rf"^/v2/{unique_repo}/blobs/{digest}$",
        405,
        headers={"Content-Type": "application/json"},
        body=UNSUPPORTED,
    )
    target = f"{fault_proxy.host}/{unique_repo}@{digest}"
    done = oras_cli("blob", "delete", "-f", target)
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: failed to delete {target}: ")
    assert "UNSUPPORTED" in done.stderr and len(done.stderr.splitlines()) == 1
    kept = oras_cli("blob", "fetch", "--descriptor", f"{registry.ref(unique_repo)}@{digest}")
    assert kept.returncode == 0


def test_blob_delete_asks_on_a_terminal(registry, oras_cli, unique_repo, tmp_path):
    ref = registry.ref(unique_repo)
    digest = push_blob(oras_cli, ref, tmp_path / "p", b"prompted")
    target = f"{ref}@{digest}"
    question = f'Are you sure you want to delete the blob "{digest}"? [y/N] '
    status, shown = answer_on_pty(["blob", "delete", target], "n", tmp_path)
    assert status == 0
    assert question in shown and "Operation cancelled." in shown and "Deleted" not in shown
    status, shown = answer_on_pty(["blob", "delete", target], "yes", tmp_path)
    assert status == 0
    assert question in shown and f"Deleted [registry] {target}" in shown
    gone = oras_cli("blob", "fetch", "--descriptor", target)
    assert gone.returncode == 1
    piped = oras_cli("blob", "delete", target)  # stdin ends: no answer is a no
    assert piped.returncode == 1  # the blob is gone: not found before the question


def test_blob_commands_on_an_oci_layout(oras_cli, tmp_path):
    data = b"in a layout\n"
    (tmp_path / "l.txt").write_bytes(data)
    layout = tmp_path / "layout"
    pushed = oras_cli("blob", "push", "--oci-layout", str(layout), "l.txt")
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.splitlines()[-2] == f"Pushed: [oci-layout] {layout}"
    raw = run_bytes("blob", "fetch", "--oci-layout", "-o", "-", f"{layout}@{sha256(data)}")
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout == data
