"""OCI image layouts against the real Distribution registry: pull, verify, push back, refuse tampering."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import requests

import oras.client
import oras.defaults as defaults
from oras.errors import DigestMismatchError, NotFoundError
from oras.layout import Layout, NewLayoutFromRegistry

ACCEPT = ", ".join(defaults.default_manifest_accepted_media_types)
REF_NAME = defaults.oci_ref_name_annotation


@pytest.fixture
def client() -> oras.client.OrasClient:
    return oras.client.OrasClient(insecure=True)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # push() only takes files under the working directory.
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _push_artifact(client: Any, workdir: Path, target: str, **files: str) -> str:
    names = []
    for name, content in files.items():
        (workdir / name).write_text(content)
        names.append(name)
    response = client.push(files=names, target=target)
    assert response.status_code == 201
    return response.headers["Docker-Content-Digest"]


def _get_manifest(registry: Any, repo: str, ref: str) -> requests.Response:
    response = requests.get(
        f"{registry.url}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT}, timeout=30
    )
    response.raise_for_status()
    return response


def _assert_every_blob_verifies(root: Path) -> int:
    count = 0
    for path in (root / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, path
        count += 1
    return count


def _index(root: Path) -> dict[str, Any]:
    return json.loads((root / "index.json").read_text())


def test_pull_into_layout_then_push_a_copy(registry, client, workdir, tmp_path, unique_repo):
    target = f"{registry.host}/{unique_repo}:v1"
    digest = _push_artifact(client, workdir, target, **{"a.txt": "alpha\n", "b.txt": "beta\n"})
    layout_dir = tmp_path / "layout"

    layout = NewLayoutFromRegistry(str(layout_dir), client, target, tag="v1")

    assert isinstance(layout, Layout)
    assert Layout(layout_dir).validate() == str(layout_dir.resolve())
    assert json.loads((layout_dir / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    served = _get_manifest(registry, unique_repo, "v1")
    manifest = served.json()
    # Two layers, the empty config, the manifest; every file is named by its content's digest.
    assert _assert_every_blob_verifies(layout_dir) == 4
    assert layout.digest_to_blob_path(digest).read_bytes() == served.content
    index = _index(layout_dir)
    assert index["schemaVersion"] == 2
    expected_entry = {
        "mediaType": defaults.default_manifest_media_type,
        "size": len(served.content),
        "digest": digest,
        "annotations": {REF_NAME: "v1"},
    }
    if manifest.get("artifactType"):
        expected_entry["artifactType"] = manifest["artifactType"]
    assert index["manifests"] == [expected_entry]
    assert layout.get_ordered_blobs("v1") == [
        manifest["layers"][0]["digest"],
        manifest["layers"][1]["digest"],
        manifest["config"]["digest"],
        digest,
    ]

    copy = f"{registry.host}/{unique_repo}-copy:v1"
    response = Layout(layout_dir).push_to_registry(client, copy, tag="v1")

    assert isinstance(response, requests.Response)
    assert response.status_code == 201
    assert response.headers["Docker-Content-Digest"] == digest
    copied = _get_manifest(registry, f"{unique_repo}-copy", "v1")
    assert copied.headers["Docker-Content-Digest"] == digest
    assert copied.content == served.content
    out = tmp_path / "out"
    assert sorted(Path(p).name for p in client.pull(target=copy, outdir=str(out))) == [
        "a.txt",
        "b.txt",
    ]
    assert (out / "a.txt").read_text() == "alpha\n"


def test_index_is_pulled_children_first_and_pushed_back(
    registry, client, workdir, tmp_path, unique_repo
):
    repo = f"{registry.host}/{unique_repo}"
    digest_a = _push_artifact(client, workdir, f"{repo}:a", **{"one.txt": "one\n"})
    digest_b = _push_artifact(client, workdir, f"{repo}:b", **{"two.txt": "two\n"})
    raw_a = _get_manifest(registry, unique_repo, "a").content
    raw_b = _get_manifest(registry, unique_repo, "b").content
    platforms = [("linux", "amd64"), ("linux", "arm64")]
    index = {
        "schemaVersion": 2,
        "mediaType": defaults.default_index_media_type,
        "manifests": [
            {
                "mediaType": defaults.default_manifest_media_type,
                "digest": digest,
                "size": len(raw),
                "platform": {"os": os_name, "architecture": arch},
            }
            for (digest, raw), (os_name, arch) in zip(
                [(digest_a, raw_a), (digest_b, raw_b)], platforms
            )
        ],
    }
    index_bytes = json.dumps(index, indent=2).encode()
    index_digest = "sha256:" + hashlib.sha256(index_bytes).hexdigest()
    client.upload_manifest(
        index_bytes, f"{repo}:multi", media_type=defaults.default_index_media_type
    )
    layout_dir = tmp_path / "layout"

    layout = NewLayoutFromRegistry(layout_dir, client, f"{repo}:multi", tag="multi")

    layout.validate()
    # Index, two manifests, one layer each, one shared empty config.
    assert _assert_every_blob_verifies(layout_dir) == 6
    assert layout.digest_to_blob_path(index_digest).read_bytes() == index_bytes
    assert layout.digest_to_blob_path(digest_a).read_bytes() == raw_a
    entry = _index(layout_dir)["manifests"][0]
    assert (entry["mediaType"], entry["digest"], entry["size"]) == (
        defaults.default_index_media_type,
        index_digest,
        len(index_bytes),
    )
    order = layout.get_ordered_blobs("multi")
    assert order.index(digest_a) < order.index(digest_b) < order.index(index_digest)
    assert order[-1] == index_digest
    assert len(order) == 6

    copy_repo = f"{unique_repo}-copy"
    response = layout.push_to_registry(client, f"{registry.host}/{copy_repo}:multi", tag="multi")

    assert response.headers["Docker-Content-Digest"] == index_digest
    assert _get_manifest(registry, copy_repo, "multi").content == index_bytes
    assert _get_manifest(registry, copy_repo, digest_a).content == raw_a
    assert _get_manifest(registry, copy_repo, digest_b).content == raw_b


def test_pull_by_digest_and_more_tags_in_one_layout(
    registry, client, workdir, tmp_path, unique_repo
):
    repo = f"{registry.host}/{unique_repo}"
    digest_1 = _push_artifact(client, workdir, f"{repo}:v1", **{"f.txt": "first\n"})
    digest_2 = _push_artifact(client, workdir, f"{repo}:v2", **{"f.txt": "second\n"})
    layout_dir = tmp_path / "layout"

    layout = NewLayoutFromRegistry(layout_dir, client, f"{repo}@{digest_1}", tag="pinned")
    layout.pull_from_registry(client, f"{repo}:v2", tag="other")

    tags = {e["annotations"][REF_NAME]: e["digest"] for e in _index(layout_dir)["manifests"]}
    assert tags == {"pinned": digest_1, "other": digest_2}

    # Re-pulling a tag replaces its entry and keeps the others.
    layout.pull_from_registry(client, f"{repo}:v2", tag="pinned")
    entries = _index(layout_dir)["manifests"]
    assert len(entries) == 2
    tags = {e["annotations"][REF_NAME]: e["digest"] for e in entries}
    assert tags == {"pinned": digest_2, "other": digest_2}
    Layout(layout_dir).validate()
    _assert_every_blob_verifies(layout_dir)


def test_tampered_blob_is_refused_before_upload(registry, client, workdir, tmp_path, unique_repo):
    target = f"{registry.host}/{unique_repo}:v1"
    _push_artifact(client, workdir, target, **{"data.txt": "trustworthy\n"})
    layout = NewLayoutFromRegistry(tmp_path / "layout", client, target, tag="v1")
    layer = _get_manifest(registry, unique_repo, "v1").json()["layers"][0]
    path = layout.digest_to_blob_path(layer["digest"])
    path.write_text("untrustable\n")  # same size, different content

    copy_repo = f"{unique_repo}-copy"
    with pytest.raises(DigestMismatchError, match="corrupt"):
        layout.push_to_registry(client, f"{registry.host}/{copy_repo}:v1", tag="v1")
    missing = requests.get(
        f"{registry.url}/v2/{copy_repo}/manifests/v1", headers={"Accept": ACCEPT}, timeout=30
    )
    assert missing.status_code == 404

    # Pulling again checks what is already there and replaces the corrupt blob.
    layout.pull_from_registry(client, target, tag="v1")
    assert path.read_text() == "trustworthy\n"
    _assert_every_blob_verifies(layout.path)


def test_failed_pull_leaves_no_partial_layout(registry, client, tmp_path, unique_repo):
    layout_dir = tmp_path / "layout"
    with pytest.raises(NotFoundError):
        NewLayoutFromRegistry(layout_dir, client, f"{registry.host}/{unique_repo}:absent")
    assert not layout_dir.exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NotFoundError):
        NewLayoutFromRegistry(empty, client, f"{registry.host}/{unique_repo}:absent")
    assert empty.is_dir() and not any(empty.iterdir())
