"""`--format json` on push and pull: one JSON document on stdout (Go `oras`'s shapes), checked
field by field against what Distribution holds; nothing else on stdout, no progress."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from oras.provider import Registry
from tests.conftest import CliRunner
from tests.harness.registry import RegistryServer
from tests.integration.test_pull_sources import _platform_index

TITLE = "org.opencontainers.image.title"


def _stored(registry: RegistryServer, ref: str) -> tuple[dict[str, Any], str, int]:
    client = Registry(hostname=registry.host, insecure=True)
    body, _, digest = client.fetch_manifest(ref)
    return json.loads(body), digest, len(body)


def _document(result: Any) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # the whole of stdout is the document
    assert isinstance(document, dict)
    return document


def test_push_json_describes_the_pushed_manifest(
    oras_cli: CliRunner, registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "b.txt").write_text("b\n")
    ref = registry.ref(unique_repo, "v1,v2,stable")
    pushed = oras_cli("push", "--format", "json", "-a", "k=v", ref, "a.txt", "dir")
    document = _document(pushed)
    assert "Uploading" not in pushed.stderr and "Uploaded" not in pushed.stderr
    manifest, digest, size = _stored(registry, registry.ref(unique_repo, "v1"))
    name = f"{registry.host}/{unique_repo}"
    assert list(document) == [
        "reference",
        "mediaType",
        "digest",
        "size",
        "annotations",
        "artifactType",
        "referenceAsTags",
    ]
    assert document["reference"] == f"{name}@{digest}"
    assert document["mediaType"] == manifest["mediaType"]
    assert document["digest"] == digest and document["size"] == size
    assert document["annotations"] == manifest["annotations"]
    assert document["annotations"]["k"] == "v"
    assert document["artifactType"] == (
        manifest.get("artifactType") or manifest["config"]["mediaType"]
    )
    assert document["referenceAsTags"] == [f"{name}:stable", f"{name}:v1", f"{name}:v2"]
    for tag in ("v2", "stable"):
        assert _stored(registry, registry.ref(unique_repo, tag))[1] == digest

    # the text mode is unchanged
    text = oras_cli("push", registry.ref(unique_repo, "v3"), "a.txt")
    assert text.stdout == f"Successfully pushed {registry.ref(unique_repo, 'v3')}\n"


def test_pull_json_lists_the_files_written(
    oras_cli: CliRunner, registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "b.txt").write_text("b\n")
    (tmp_path / "config.json").write_text("{}")
    ref = registry.ref(unique_repo, "v1")
    push = oras_cli("push", "--config", "config.json:application/x.c+json", ref, "a.txt", "dir")
    assert push.returncode == 0, push.stderr
    manifest, digest, _ = _stored(registry, ref)
    name = f"{registry.host}/{unique_repo}"

    pulled = oras_cli("pull", "--format", "json", "--config", "cfg.json", "-o", "out", ref)
    document = _document(pulled)
    assert "Downloading" not in pulled.stderr and "Downloaded" not in pulled.stderr
    assert list(document) == ["reference", "files"]
    assert document["reference"] == f"{name}@{digest}"
    out = (tmp_path / "out").resolve()
    files = {f["path"]: f for f in document["files"]}
    expected = {str(out / "a.txt"), str(out / "dir") + os.sep, str(out / "cfg.json")}
    assert set(files) == expected
    for layer in manifest["layers"]:
        title = layer["annotations"][TITLE]
        path = str(out / title) + (os.sep if title == "dir" else "")
        entry = files[path]
        assert list(entry)[:5] == ["path", "reference", "mediaType", "digest", "size"]
        assert entry["reference"] == f"{name}@{layer['digest']}"
        assert entry["mediaType"] == layer["mediaType"]
        assert entry["digest"] == layer["digest"] and entry["size"] == layer["size"]
        assert entry["annotations"] == layer["annotations"]
    config = files[str(out / "cfg.json")]
    assert config["digest"] == manifest["config"]["digest"]
    assert config["mediaType"] == "application/x.c+json"
    assert config["annotations"][TITLE] == "cfg.json"
    assert (out / "dir" / "b.txt").read_text() == "b\n"

    # the text mode prints nothing on stdout, as before
    text = oras_cli("pull", "-o", "out2", ref)
    assert text.returncode == 0 and text.stdout == ""


def test_pull_json_names_the_platform_manifest(
    oras_cli: CliRunner, registry: RegistryServer, unique_repo: str
) -> None:
    client = Registry(hostname=registry.host, insecure=True)
    digests = _platform_index(client, registry, unique_repo)
    ref = registry.ref(unique_repo, "multi")
    pulled = oras_cli("pull", "--format", "json", "--platform", "linux/arm64", "-o", "o", ref)
    document = _document(pulled)
    assert document["reference"] == f"{registry.host}/{unique_repo}@{digests['arm64']}"
    assert [Path(f["path"]).name for f in document["files"]] == ["bits.txt"]


def test_json_with_a_layout(oras_cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    layout = tmp_path / "layout"
    pushed = oras_cli("push", "--format", "json", "--oci-layout", f"{layout}:v1,v2", "a.txt")
    document = _document(pushed)
    index = json.loads((layout / "index.json").read_text())
    entry = next(
        m
        for m in index["manifests"]
        if m["annotations"].get("org.opencontainers.image.ref.name") == "v1"
    )
    assert document["reference"] == f"{layout}@{entry['digest']}"
    assert document["size"] == entry["size"]
    assert document["referenceAsTags"] == [f"{layout}:v1", f"{layout}:v2"]
    pulled = oras_cli("pull", "--format", "json", "--oci-layout", f"{layout}:v2", "-o", "out")
    document = _document(pulled)
    assert document["reference"] == f"{layout}@{entry['digest']}"
    assert [f["path"] for f in document["files"]] == [str((tmp_path / "out" / "a.txt").resolve())]


def test_format_errors_are_usage_errors(oras_cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    cases = [
        (["pull", "--format", "json", "-o", "-", "127.0.0.1:1/x/y:v1"], "-o -"),
        (
            ["push", "--format", "go-template={{.digest}}", "127.0.0.1:1/x/y:v1", "a.txt"],
            "--format json",
        ),
        (["pull", "--template", "{{.digest}}", "127.0.0.1:1/x/y:v1"], "--format json"),
        (["push", "--format", "yaml", "127.0.0.1:1/x/y:v1", "a.txt"], "text, json"),
    ]
    for args, says in cases:
        result = oras_cli(*args)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("Error: ") and says in result.stderr.splitlines()[0]
        assert result.stdout == "" and "Traceback" not in result.stderr
