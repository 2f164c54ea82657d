"""Library push and pull against the real Distribution registry: bytes, layout, safety."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from unittest import mock

import pytest
import requests

import oras.client
import oras.oci
import oras.provider
from oras.errors import DigestMismatchError, NotFoundError, PathTraversalError

GUIDE_MANIFEST_DIGEST = "sha256:0fdf365d865b6c2e2a3e3b034f1acf522c95a2daa593fa596fe43a22cfe185fd"
MANIFEST_TYPES = ", ".join(oras.defaults.default_manifest_accepted_media_types)


def _manifest(registry, repo: str, ref: str) -> tuple[dict, requests.Response]:
    r = requests.get(
        f"{registry.url}/v2/{repo}/manifests/{ref}", headers={"Accept": MANIFEST_TYPES}
    )
    r.raise_for_status()
    return r.json(), r


@pytest.fixture
def client() -> oras.client.OrasClient:
    return oras.client.OrasClient(insecure=True)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_push_matches_oras_py_bytes_and_pull_round_trips(registry, client, workdir, unique_repo):
    (workdir / "artifact.txt").write_text("hello dinosaur\n")
    target = f"{registry.host}/{unique_repo}:v1"
    response = client.push(files=["artifact.txt"], target=target)
    assert isinstance(response, requests.Response)
    assert response.status_code == 201
    assert response.headers["Docker-Content-Digest"] == GUIDE_MANIFEST_DIGEST
    manifest, raw = _manifest(registry, unique_repo, "v1")
    assert len(raw.content) == 494
    assert manifest["layers"][0]["annotations"] == {
        "org.opencontainers.image.title": "artifact.txt"
    }

    out = workdir / "out"
    files = client.pull(target=target, outdir=str(out))
    assert files == [str(out / "artifact.txt")]
    assert (out / "artifact.txt").read_text() == "hello dinosaur\n"
    # nothing but the file: no temp or partial files left behind
    assert sorted(os.listdir(out)) == ["artifact.txt"]


def test_pull_by_digest_and_default_temp_outdir(registry, client, workdir, unique_repo):
    (workdir / "a.bin").write_bytes(os.urandom(1000))
    target = f"{registry.host}/{unique_repo}:t"
    digest = client.push(files=["a.bin"], target=target).headers["Docker-Content-Digest"]
    files = client.pull(target=f"{registry.host}/{unique_repo}@{digest}")
    assert len(files) == 1 and os.path.basename(os.path.dirname(files[0])).startswith("oras-tmp.")
    assert Path(files[0]).read_bytes() == (workdir / "a.bin").read_bytes()


def test_media_types_config_annotations_and_subject(registry, client, workdir, unique_repo):
    (workdir / "data.json").write_text('{"a": 1}')
    (workdir / "config.json").write_text('{"kind": "rocket"}')
    (workdir / "dir").mkdir()
    (workdir / "dir" / "inner.txt").write_text("inner")
    annotations = {
        "$manifest": {"m": "1"},
        "$config": {"c": "2"},
        "data.json": {"f": "3"},
        "dir/": {"d": "4"},
    }
    base = client.push(files=["data.json"], target=f"{registry.host}/{unique_repo}:base")
    base_manifest, base_raw = _manifest(registry, unique_repo, "base")
    subject = oras.oci.Subject.from_bytes(base_raw.content, base_manifest["mediaType"])
    assert subject.digest == base.headers["Docker-Content-Digest"]

    client.push(
        files=["data.json:application/vnd.test.data+json", "dir/"],
        target=f"{registry.host}/{unique_repo}:full",
        manifest_config="config.json:application/vnd.test.config",
        annotation_file=annotations,
        manifest_annotations={"extra": "5"},
        subject=subject,
    )
    manifest, _ = _manifest(registry, unique_repo, "full")
    assert list(manifest) == [
        "schemaVersion",
        "mediaType",
        "config",
        "layers",
        "annotations",
        "subject",
    ]
    assert manifest["config"]["mediaType"] == "application/vnd.test.config"
    assert manifest["config"]["annotations"] == {"c": "2"}
    assert manifest["annotations"] == {"m": "1", "extra": "5"}
    data, directory = manifest["layers"]
    assert data["mediaType"] == "application/vnd.test.data+json"
    assert data["annotations"]["f"] == "3"
    assert directory["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert directory["annotations"]["org.opencontainers.image.title"] == "dir"
    assert directory["annotations"]["d"] == "4"
    assert manifest["subject"]["digest"] == subject.digest

    out = workdir / "out"
    client.pull(target=f"{registry.host}/{unique_repo}:full", outdir=str(out))
    assert (out / "dir" / "inner.txt").read_text() == "inner"
    assert json.loads((out / "data.json").read_text()) == {"a": 1}


def test_directory_layer_is_reproducible(registry, client, workdir, unique_repo):
    tree = workdir / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "x").write_text("x")
    (tree / "y").write_text("y")
    first = client.push(files=["tree"], target=f"{registry.host}/{unique_repo}:a")
    os.utime(tree / "y", (1, 1))  # mtimes must not matter
    second = client.push(files=["tree"], target=f"{registry.host}/{unique_repo}:b")
    assert first.headers["Docker-Content-Digest"] == second.headers["Docker-Content-Digest"]


def test_chunked_upload_round_trips(registry, client, workdir, unique_repo):
    payload = os.urandom(300_000)
    (workdir / "big.bin").write_bytes(payload)
    target = f"{registry.host}/{unique_repo}:chunked"
    client.push(files=["big.bin"], target=target, do_chunked=True, chunk_size=65536)
    out = workdir / "out"
    client.pull(target=target, outdir=str(out))
    assert (out / "big.bin").read_bytes() == payload


def test_keep_old_files(registry, client, workdir, unique_repo):
    (workdir / "f.txt").write_text("new")
    target = f"{registry.host}/{unique_repo}:k"
    client.push(files=["f.txt"], target=target)
    out = workdir / "out"
    out.mkdir()
    (out / "f.txt").write_text("old")
    assert client.pull(target=target, outdir=str(out), overwrite=False) == []
    assert (out / "f.txt").read_text() == "old"
    client.pull(target=target, outdir=str(out), overwrite=True)
    assert (out / "f.txt").read_text() == "new"


def test_push_refuses_missing_and_outside_files(registry, client, workdir, tmp_path_factory):
    with pytest.raises(FileNotFoundError, match="nope.txt does not exist."):
        client.push(files=["nope.txt"], target=f"{registry.host}/x/y:1")
    outside = tmp_path_factory.mktemp("outside") / "o.txt"
    outside.write_text("o")
    with pytest.raises(ValueError, match="is not in the present working directory context"):
        client.push(files=[str(outside)], target=f"{registry.host}/x/y:1")


def _push_raw_manifest(client, registry, repo: str, layers: list[tuple[bytes, dict]]) -> str:
    """Push blobs and a manifest by hand, so tests can serve hostile content."""
    container = client.get_container(f"{registry.host}/{repo}:evil")
    descs = []
    for blob, extra in layers:
        desc = {
            "mediaType": extra.pop("mediaType", "application/octet-stream"),
            "size": len(blob),
            "digest": "sha256:" + hashlib.sha256(blob).hexdigest(),
            **extra,
        }
        path = Path(f"blob-{len(descs)}")
        path.write_bytes(blob)
        client.upload_blob(str(path), container, desc)
        descs.append(desc)
    with oras.provider.temporary_empty_config() as empty:
        config = {"mediaType": "application/vnd.unknown.config.v1+json", "size": 2}
        config["digest"] = oras.defaults.blank_config_hash
        client.upload_blob(empty, container, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": descs,
        "annotations": {},
    }
    client.upload_manifest(manifest, container)
    return str(container)


def test_pull_refuses_titles_escaping_outdir(registry, client, workdir, unique_repo):
    target = _push_raw_manifest(
        client,
        registry,
        unique_repo,
        [(b"evil", {"annotations": {"org.opencontainers.image.title": "../escaped.txt"}})],
    )
    out = workdir / "out"
    with pytest.raises(Exception, match="not in"):
        client.pull(target=target, outdir=str(out))
    assert not (workdir / "escaped.txt").exists()


def _targz(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_pull_refuses_tar_members_escaping_outdir(registry, client, workdir, unique_repo, kind):
    if kind == "symlink":
        link = tarfile.TarInfo("pkg/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../outside"
        members = [(link, b"")]
    else:
        name = "pkg/../../escaped.txt" if kind == "dotdot" else "/tmp/oras-escaped.txt"
        members = [(tarfile.TarInfo(name), b"evil")]
    blob = _targz(members)
    target = _push_raw_manifest(
        client,
        registry,
        unique_repo,
        [
            (
                blob,
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "annotations": {"org.opencontainers.image.title": "pkg"},
                },
            )
        ],
    )
    out = workdir / "out"
    with pytest.raises(PathTraversalError):
        client.pull(target=target, outdir=str(out))
    assert not (workdir / "escaped.txt").exists()
    assert not Path("/tmp/oras-escaped.txt").exists()
    assert not (out / "pkg" / "link").exists()


def test_corrupt_blob_is_detected_and_nothing_is_written(registry, client, workdir, unique_repo):
    payload = b"precious bytes " * 100
    (workdir / "p.bin").write_bytes(payload)
    target = f"{registry.host}/{unique_repo}:c"
    client.push(files=["p.bin"], target=target)
    digest = "sha256:" + hashlib.sha256(payload).hexdigest()
    data = registry.blob_path(digest)
    data.write_bytes(payload.replace(b"precious", b"tampered"))
    out = workdir / "out"
    with pytest.raises(DigestMismatchError):
        client.pull(target=target, outdir=str(out))
    assert list(out.iterdir()) == []
    data.write_bytes(payload)  # leave the shared registry consistent


def test_registry_errors_are_typed_with_oci_codes(registry, client, unique_repo):
    with pytest.raises(NotFoundError) as info:
        client.get_manifest(f"{registry.host}/{unique_repo}:missing")
    assert isinstance(info.value, ValueError)
    assert info.value.status == 404
    assert "MANIFEST_UNKNOWN" in info.value.codes or "NAME_UNKNOWN" in info.value.codes
    assert "404" in str(info.value)


def test_tags_blobs_and_delete(registry, client, workdir, unique_repo):
    (workdir / "t.txt").write_text("t")
    for tag in ("one", "two", "three"):
        client.push(files=["t.txt"], target=f"{registry.host}/{unique_repo}:{tag}")
    name = f"{registry.host}/{unique_repo}"
    assert sorted(client.get_tags(name)) == ["one", "three", "two"]
    assert len(client.get_tags(name, N=2)) == 2

    layer = _manifest(registry, unique_repo, "one")[0]["layers"][0]
    assert client.blob_exists(layer, name)
    blob = client.get_blob(name, layer["digest"])
    assert blob.status_code == 200 and blob.content == b"t"

    # one manifest carries all three tags: deleting it removes every tag
    assert client.delete_tags(name, "one") == ["one"]
    assert client.get_tags(name) == []
    assert client.delete_tag(name, "two") is False


def test_delete_tags_takes_oras_py_keywords(registry, client, workdir, unique_repo):
    (workdir / "t.txt").write_text("t")
    (workdir / "u.txt").write_text("u")
    client.push(files=["t.txt"], target=f"{registry.host}/{unique_repo}:one")
    client.push(files=["u.txt"], target=f"{registry.host}/{unique_repo}:two")
    name = f"{registry.host}/{unique_repo}"
    assert client.delete_tags(name=name, tags=["one", "missing"]) == ["one"]
    assert client.get_tags(name) == ["two"]


def test_completion_messages_go_through_oras_provider_logger(
    registry, client, workdir, unique_repo, monkeypatch, capsys
):
    """oras-py logs "Successfully pushed/pulled" through `oras.provider.logger`; never printed."""
    (workdir / "a.txt").write_text("a")
    target = f"{registry.host}/{unique_repo}:v1"
    info = mock.Mock()
    monkeypatch.setattr(oras.provider.logger, "info", info)

    client.push(files=["a.txt"], target=target)
    info.assert_called_once_with(f"Successfully pushed {client.get_container(target)}")
    info.reset_mock()
    client.push(files=["a.txt"], target=target, quiet=True)
    info.assert_not_called()

    files = client.pull(target=target, outdir=str(workdir / "out"))
    info.assert_called_once_with(f"Successfully pulled {files[0]}.")
    assert capsys.readouterr().out == ""


def test_index_pull_selects_platform_or_explains(registry, client, workdir, unique_repo):
    (workdir / "amd.txt").write_text("amd64")
    (workdir / "arm.txt").write_text("arm64")
    name = f"{registry.host}/{unique_repo}"
    entries = []
    for arch, f in (("amd64", "amd.txt"), ("arm64", "arm.txt")):
        r = client.push(files=[f], target=f"{name}:{arch}")
        entries.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": r.headers["Docker-Content-Digest"],
                "size": len(_manifest(registry, unique_repo, arch)[1].content),
                "platform": {"os": "linux", "architecture": arch},
            }
        )
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    }
    r = requests.put(
        f"{registry.url}/v2/{unique_repo}/manifests/multi",
        data=json.dumps(index),
        headers={"Content-Type": "application/vnd.oci.image.index.v1+json"},
    )
    assert r.status_code == 201
    import platform as _platform

    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(_platform.machine().lower())
    out = workdir / "out"
    if machine:
        files = client.pull(target=f"{name}:multi", outdir=str(out))
        assert [os.path.basename(f) for f in files] == [f"{machine[:3]}.txt"]
    index["manifests"] = [
        dict(e, platform={"os": "plan9", "architecture": "mips"}) for e in entries
    ]
    requests.put(
        f"{registry.url}/v2/{unique_repo}/manifests/odd",
        data=json.dumps(index),
        headers={"Content-Type": "application/vnd.oci.image.index.v1+json"},
    ).raise_for_status()
    with pytest.raises(ValueError, match="plan9/mips"):
        client.pull(target=f"{name}:odd", outdir=str(out))


def test_pagination_follows_link_headers(registry, client, workdir, unique_repo):
    """Distribution's tag list sends no Link, but `_catalog?n=` does: follow it to the end."""
    (workdir / "p.txt").write_text("p")
    for i in range(5):
        client.push(files=["p.txt"], target=f"{registry.host}/{unique_repo}-{i}:v1")
    seen: list[str] = []
    pages: list[int] = []

    def collect(response: requests.Response) -> bool:
        page = response.json().get("repositories") or []
        seen.extend(page)
        pages.append(len(page))
        return not page

    client._do_paginated_request(f"http://{registry.host}/v2/_catalog?n=2", collect)
    assert {f"{unique_repo}-{i}" for i in range(5)} <= set(seen)
    assert len(pages) >= 3 and max(pages) <= 2
    assert len(seen) == len(set(seen))


def test_two_pushes_and_pulls_on_one_client_from_two_threads_keep_their_own_progress(
    registry, client, workdir, unique_repo, tmp_path
):
    """Progress belongs to the call: nothing on the client is swapped while a transfer runs."""
    import threading

    from oras.progress import ProgressEvent

    names = {"left": "left.bin", "right": "right.bin"}
    for side, name in names.items():
        (workdir / name).write_bytes(side.encode() * 300_000)
    seen: dict[str, list[ProgressEvent]] = {"left": [], "right": []}
    errors: list[BaseException] = []

    def run(side: str) -> None:
        try:
            target = f"{registry.host}/{unique_repo}-{side}:v1"
            client.push(files=[names[side]], target=target, progress=seen[side].append)
            client.pull(target=target, outdir=str(tmp_path / side), progress=seen[side].append)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(side,)) for side in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for side, name in names.items():
        titles = {e.name for e in seen[side] if e.name.endswith(".bin")}
        assert titles == {name}, (side, titles)
        actions = {(e.action, e.status) for e in seen[side] if e.name == name}
        assert ("upload", "done") in actions and ("download", "done") in actions
    assert client.progress is None


def test_a_push_and_pull_of_valid_manifests_never_import_jsonschema(
    registry, unique_repo, tmp_path
):
    """The manifest a push builds is validated against `oras.schemas.manifest` without loading
    jsonschema (0.05-0.1 s of start-up); an invalid one still raises jsonschema's error."""
    import subprocess
    import sys

    from tests.conftest import PROJECT_ROOT

    (tmp_path / "a.txt").write_text("a\n")
    script = (
        "import sys, oras.client\n"
        "client = oras.client.OrasClient(insecure=True)\n"
        "client.push(files=['a.txt'], target=sys.argv[1], manifest_annotations={'k': 'v'})\n"
        "client.pull(target=sys.argv[1], outdir='out')\n"
        "print('jsonschema' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, f"{registry.host}/{unique_repo}:v1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]
    assert (tmp_path / "out" / "a.txt").read_text() == "a\n"

    import jsonschema

    client = oras.provider.Registry(insecure=True)
    bad = {"schemaVersion": 2, "config": {}, "layers": [{"size": "1"}]}
    with pytest.raises(jsonschema.ValidationError):
        client.upload_manifest(bad, client.get_container(f"{registry.host}/{unique_repo}:bad"))
