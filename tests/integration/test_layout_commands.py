"""`backup`, `restore`, and `cp`/`tag`/`resolve` with OCI layouts (directory and tar), against
real registries; skopeo reads what `backup` writes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oras.content.layout import open_layout


def _push(oras_cli, ref: str, tmp_path: Path, name: str) -> str:
    (tmp_path / name).write_text(f"content of {name}\n")
    done = oras_cli("push", ref, name)
    assert done.returncode == 0, done.stderr
    return oras_cli("resolve", ref).stdout.strip()


@pytest.mark.parametrize("kind", ["dir", "tar"])
def test_backup_then_restore_into_an_empty_registry_keeps_every_digest(
    oras_cli, registry, second_registry, unique_repo, tmp_path, kind
):
    digests = {
        tag: _push(oras_cli, registry.ref(unique_repo, tag), tmp_path, f"{tag}.txt")
        for tag in ("v1", "v2", "v3")
    }
    output = tmp_path / ("backup.tar" if kind == "tar" else "backup")
    backed = oras_cli("backup", "-o", str(output), registry.ref(unique_repo))
    assert backed.returncode == 0, backed.stderr
    assert backed.stdout.splitlines()[-1] == f"Saved 3 tag(s) to [oci-layout] {output}"
    assert output.is_file() if kind == "tar" else (output / "index.json").is_file()
    with open_layout(output) as layout:
        assert sorted(layout.tags()) == ["v1", "v2", "v3"]
    dry = oras_cli(
        "restore", "--dry-run", "--input", str(output), f"{second_registry.host}/{unique_repo}"
    )
    assert dry.returncode == 0 and len(dry.stdout.splitlines()) == 3
    assert oras_cli("resolve", f"{second_registry.host}/{unique_repo}:v1").returncode == 1
    restored = oras_cli("restore", "--input", str(output), f"{second_registry.host}/{unique_repo}")
    assert restored.returncode == 0, restored.stderr
    for tag, digest in digests.items():
        assert (
            oras_cli("resolve", f"{second_registry.host}/{unique_repo}:{tag}").stdout.strip()
            == digest
        )
    # Only the tags asked for.
    some = tmp_path / ("some.tar" if kind == "tar" else "some")
    one = oras_cli("backup", "-o", str(some), registry.ref(unique_repo, "v2,v3"))
    assert one.returncode == 0, one.stderr
    with open_layout(some) as layout:
        assert sorted(layout.tags()) == ["v2", "v3"]


def test_skopeo_reads_what_backup_writes(oras_cli, registry, unique_repo, tmp_path):
    digest = _push(oras_cli, registry.ref(unique_repo, "v1"), tmp_path, "a.txt")
    for name, transport in (("layout", "oci"), ("layout.tar", "oci-archive")):
        assert (
            oras_cli(
                "backup", "-o", str(tmp_path / name), registry.ref(unique_repo, "v1")
            ).returncode
            == 0
        )
        raw = subprocess.run(
            ["skopeo", "inspect", "--raw", f"{transport}:{tmp_path / name}:v1"],
            capture_output=True,
            check=True,
        ).stdout
        import hashlib

        assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == digest


@pytest.mark.parametrize("suffix", ["", ".tar"])
def test_cp_registry_to_layout_and_back(
    oras_cli, registry, second_registry, unique_repo, tmp_path, suffix
):
    digest = _push(oras_cli, registry.ref(unique_repo, "v1"), tmp_path, "a.txt")
    layout = tmp_path / f"out{suffix}"
    down = oras_cli("cp", "--to-oci-layout", registry.ref(unique_repo, "v1"), f"{layout}:saved")
    assert down.returncode == 0, down.stderr
    assert (
        down.stdout.splitlines()[-2]
        == f"Copied [registry] {registry.ref(unique_repo, 'v1')} => [oci-layout] {layout}:saved"
    )
    assert oras_cli("resolve", "--oci-layout", f"{layout}:saved").stdout.strip() == digest
    if not suffix:  # a tar layout is read-only once written; a directory can be tagged
        tagged = oras_cli("tag", "--oci-layout", f"{layout}:saved", "again")
        assert tagged.returncode == 0, tagged.stderr
        assert tagged.stdout.splitlines()[0] == f"Tagging [oci-layout] {layout}:saved"
        assert oras_cli("resolve", "--oci-layout", f"{layout}:again").stdout.strip() == digest
    up = oras_cli(
        "cp",
        "--from-oci-layout",
        f"{layout}:saved",
        f"{second_registry.host}/{unique_repo}:restored",
    )
    assert up.returncode == 0, up.stderr
    assert (
        oras_cli("resolve", f"{second_registry.host}/{unique_repo}:restored").stdout.strip()
        == digest
    )
    # --oci-layout-path keeps the path out of the reference
    path_form = oras_cli("resolve", "--oci-layout-path", str(layout), "saved")
    assert path_form.stdout.strip() == digest


def test_failed_copy_into_a_tar_leaves_no_tar(oras_cli, registry, unique_repo, tmp_path):
    target = tmp_path / "never.tar"
    done = oras_cli("cp", "--to-oci-layout", registry.ref(unique_repo, "missing"), f"{target}:x")
    assert done.returncode == 1 and "not found" in done.stderr
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".oras")] == []


def test_layout_written_by_skopeo_is_copied_to_a_registry(
    oras_cli, registry, second_registry, unique_repo, tmp_path
):
    digest = _push(oras_cli, registry.ref(unique_repo, "v1"), tmp_path, "a.txt")
    mine = tmp_path / "mine"
    assert (
        oras_cli("cp", "--to-oci-layout", registry.ref(unique_repo, "v1"), f"{mine}:v1").returncode
        == 0
    )
    theirs = tmp_path / "theirs"
    subprocess.run(
        ["skopeo", "copy", "--preserve-digests", f"oci:{mine}:v1", f"oci:{theirs}:v1"],
        capture_output=True,
        check=True,
    )
    up = oras_cli(
        "cp", "--from-oci-layout", f"{theirs}:v1", f"{second_registry.host}/{unique_repo}:skopeo"
    )
    assert up.returncode == 0, up.stderr
    assert (
        oras_cli("resolve", f"{second_registry.host}/{unique_repo}:skopeo").stdout.strip() == digest
    )


@pytest.mark.parametrize("name", ["pushed", "pushed.tar"])
def test_push_into_a_layout_that_skopeo_reads_and_cp_sends_on(
    oras_cli, registry, unique_repo, tmp_path, name
):
    (tmp_path / "a.txt").write_text("into a layout\n")
    layout = tmp_path / name
    done = oras_cli(
        "push", "--oci-layout", f"{layout}:v1,latest", "a.txt", "--export-manifest", "m.json"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Tagged latest",
        f"Successfully pushed [oci-layout] {layout}:v1",
    ]
    import hashlib

    short = hashlib.sha256(b"into a layout\n").hexdigest()[:12]
    # Each blob is reported as a registry push reports it.
    assert f"Uploading {short} a.txt" in done.stderr.splitlines()
    assert f"Uploaded  {short} a.txt" in done.stderr.splitlines()
    digest = f"sha256:{hashlib.sha256((tmp_path / 'm.json').read_bytes()).hexdigest()}"
    transport = "oci-archive" if name.endswith(".tar") else "oci"
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", f"{transport}:{layout}:latest"],
        capture_output=True,
        check=True,
    ).stdout
    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == digest
    up = oras_cli("cp", "--from-oci-layout", f"{layout}:v1", registry.ref(unique_repo, "v1"))
    assert up.returncode == 0, up.stderr
    out = tmp_path / "out"
    assert oras_cli("pull", registry.ref(unique_repo, "v1"), "-o", str(out)).returncode == 0
    assert (out / "a.txt").read_text() == "into a layout\n"
