"""Push packs image-spec 1.1 artifacts (issue 11, item 1): `--artifact-type`, `--image-spec`,
`--config`, the empty config descriptor, `org.opencontainers.image.created` and the empty
artifact, on the command line and in `Registry.push(artifact_type=...)`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

import oras.client
from oras import defaults
from tests.harness.registry import RegistryServer

EMPTY = {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "size": 2,
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
}
CREATED = "org.opencontainers.image.created"
UNKNOWN_ARTIFACT = "application/vnd.unknown.artifact.v1"
UNKNOWN_CONFIG = "application/vnd.unknown.config.v1+json"
ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"


def fetch_manifest(registry: RegistryServer, repository: str, reference: str) -> dict[str, Any]:
    """The manifest straight from the registry (not through the code under test)."""
    response = requests.get(
        f"http://{registry.host}/v2/{repository}/manifests/{reference}",
        headers={"Accept": ACCEPT},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def blob_exists(registry: RegistryServer, repository: str, digest: str) -> bool:
    url = f"http://{registry.host}/v2/{repository}/blobs/{digest}"
    return requests.head(url, timeout=30).status_code == 200


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "config.json").write_text('{"x": 1}')
    return tmp_path


def _created_is_rfc3339_utc(value: str) -> bool:
    parsed = datetime.fromisoformat(value)
    return value.endswith("Z") and parsed.utcoffset() is not None and len(value) == 20


def test_cli_default_is_an_image_spec_1_1_artifact_of_unknown_type(
    oras_cli, registry, unique_repo, files
):
    done = oras_cli("push", registry.ref(unique_repo, "v1"), "a.txt")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Successfully pushed {registry.ref(unique_repo, 'v1')}\n"
    manifest = fetch_manifest(registry, unique_repo, "v1")
    assert list(manifest)[:3] == ["schemaVersion", "mediaType", "artifactType"]
    assert manifest["artifactType"] == UNKNOWN_ARTIFACT
    assert manifest["config"] == EMPTY
    assert blob_exists(registry, unique_repo, EMPTY["digest"])
    assert _created_is_rfc3339_utc(manifest["annotations"][CREATED])


def test_cli_artifact_type_with_and_without_a_config(oras_cli, registry, unique_repo, files):
    ref = registry.ref(unique_repo, "typed")
    done = oras_cli("push", ref, "--artifact-type", "application/vnd.example+type", "a.txt")
    assert done.returncode == 0, done.stderr
    manifest = fetch_manifest(registry, unique_repo, "typed")
    assert manifest["artifactType"] == "application/vnd.example+type"
    assert manifest["config"] == EMPTY

    ref = registry.ref(unique_repo, "configured")
    done = oras_cli(
        "push", ref, "--artifact-type", "application/vnd.example+type", "--config",
        "config.json:application/vnd.example.config+json", "a.txt",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = fetch_manifest(registry, unique_repo, "configured")
    assert manifest["artifactType"] == "application/vnd.example+type"
    assert manifest["config"]["mediaType"] == "application/vnd.example.config+json"
    assert manifest["config"]["size"] == len('{"x": 1}')


def test_cli_config_without_artifact_type_packs_image_spec_1_0(
    oras_cli, registry, unique_repo, files
):
    """The guide's pushes (`--manifest-config` and no artifact type) keep oras-py's packing."""
    done = oras_cli("push", registry.ref(unique_repo, "v1"), "--config", "config.json", "a.txt")
    assert done.returncode == 0, done.stderr
    manifest = fetch_manifest(registry, unique_repo, "v1")
    assert "artifactType" not in manifest
    assert manifest["config"]["mediaType"] == UNKNOWN_CONFIG
    assert CREATED in manifest["annotations"]

    # v1.0 with an artifact type and no config: the type goes on the `{}` config.
    done = oras_cli(
        "push", registry.ref(unique_repo, "old"), "--image-spec", "v1.0",
        "--artifact-type", "application/vnd.example+type", "a.txt",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = fetch_manifest(registry, unique_repo, "old")
    assert "artifactType" not in manifest
    assert manifest["config"] == {**EMPTY, "mediaType": "application/vnd.example+type"}


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--image-spec", "v1.0", "--artifact-type", "a/b", "--config", "config.json"],
            "--artifact-type and --config cannot both be given with --image-spec v1.0",
        ),
        (
            ["--image-spec", "v1.1", "--config", "config.json"],
            "set an artifact type via `--artifact-type`",
        ),
        (["-a", f"{CREATED}=yesterday"], f"invalid {CREATED} annotation 'yesterday'"),
    ],
)
def test_cli_refuses_conflicting_packing_flags(
    oras_cli, registry, unique_repo, files, flags, message
):
    done = oras_cli("push", registry.ref(unique_repo, "v1"), *flags, "a.txt")
    assert done.returncode != 0
    assert done.stderr.startswith("Error: ") and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_cli_keeps_a_supplied_created_annotation(oras_cli, registry, unique_repo, files):
    stamp = "2024-01-02T03:04:05Z"
    done = oras_cli("push", registry.ref(unique_repo, "v1"), "-a", f"{CREATED}={stamp}", "a.txt")
    assert done.returncode == 0, done.stderr
    assert fetch_manifest(registry, unique_repo, "v1")["annotations"][CREATED] == stamp


def test_cli_pushes_an_empty_artifact(oras_cli, registry, unique_repo, tmp_path):
    done = oras_cli("push", registry.ref(unique_repo, "v1"), "--artifact-type", "a/b")
    assert done.returncode == 0, done.stderr
    assert "Uploading empty artifact" in done.stderr
    manifest = fetch_manifest(registry, unique_repo, "v1")
    assert manifest["layers"] == [EMPTY]
    assert manifest["config"] == EMPTY
    refused = oras_cli("push", registry.ref(unique_repo, "v2"), "--image-spec", "v1.0")
    assert refused.returncode == 2 and "push needs at least one file" in refused.stderr


def test_library_artifact_type_packs_1_1_and_default_stays_oras_py(
    registry, unique_repo, files, monkeypatch
):
    monkeypatch.chdir(files)
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    client.push(
        target=registry.ref(unique_repo, "typed"),
        files=["a.txt"],
        artifact_type="application/vnd.example+type",
    )
    manifest = fetch_manifest(registry, unique_repo, "typed")
    assert manifest["artifactType"] == "application/vnd.example+type"
    assert manifest["config"] == EMPTY
    assert manifest["annotations"] == {}  # the library adds no `created`: same input, same bytes

    client.push(target=registry.ref(unique_repo, "empty"), artifact_type="a/b")
    assert fetch_manifest(registry, unique_repo, "empty")["layers"] == [EMPTY]

    client.push(target=registry.ref(unique_repo, "plain"), files=["a.txt"])
    plain = fetch_manifest(registry, unique_repo, "plain")
    assert "artifactType" not in plain
    assert plain["config"]["mediaType"] == defaults.unknown_config_media_type
    assert list(plain) == ["schemaVersion", "mediaType", "config", "layers", "annotations"]
    with pytest.raises(ValueError, match="cannot both be given"):
        client.push(
            target=registry.ref(unique_repo, "bad"),
            files=["a.txt"],
            manifest_config="config.json",
            artifact_type="a/b",
            image_spec="v1.0",
        )
