"""Tests for oras.container: the oras-py compatible Container on top of oras.reference."""

from __future__ import annotations

import pytest

from oras.container import Container, docker_regex
from oras.errors import InvalidReferenceError
from oras.reference import Reference
from oras.types import container_type

DIGEST = "sha256:" + "0f" * 32
ERROR_TAIL = (
    " does not match a recognized registry unique resource identifier. "
    "Try <registry>/<namespace>/<repository>:<tag|digest>"
)


@pytest.mark.parametrize(
    "name,registry,namespace,repository,tag",
    [
        ("localhost:5000/dinosaur/artifact:v1", "localhost:5000", "dinosaur", "artifact", "v1"),
        ("localhost/myrepo:v1", "localhost", None, "myrepo", "v1"),
        ("localhost/foo:bar", "localhost", None, "foo", "bar"),
        ("localhost/org/myrepo:v1", "localhost", "org", "myrepo", "v1"),
        ("localhost:5000/myrepo:v1", "localhost:5000", None, "myrepo", "v1"),
        ("ghcr.io/org/myrepo:v1", "ghcr.io", "org", "myrepo", "v1"),
        ("ghcr.io/a/b/c:v1", "ghcr.io", "a/b", "c", "v1"),
        ("localhostx/myrepo:v1", "docker.io", "localhostx", "myrepo", "v1"),
        ("org/myrepo", "docker.io", "org", "myrepo", "latest"),
        ("myreg:5000", "docker.io", "library", "myreg", "5000"),
        ("busybox", "docker.io", "library", "busybox", "latest"),
    ],
)
def test_parse(name: str, registry: str, namespace: str, repository: str, tag: str) -> None:
    container = Container(name)
    assert container.registry == registry
    assert container.namespace == namespace
    assert container.repository == repository
    assert container.tag == tag
    assert container.digest is None


def test_compat_example_urls() -> None:
    container = Container("localhost:5000/dinosaur/artifact:v1")
    assert container.api_prefix == "dinosaur/artifact"
    assert str(container) == container.uri == "localhost:5000/dinosaur/artifact:v1"
    base = "localhost:5000/v2/dinosaur/artifact"
    assert container.get_blob_url(DIGEST) == f"{base}/blobs/{DIGEST}"
    assert container.upload_blob_url() == f"{base}/blobs/uploads/"
    assert container.tags_url() == f"{base}/tags/list"
    assert container.tags_url(N=10) == f"{base}/tags/list?n=10"
    assert container.tags_url(0) == f"{base}/tags/list?n=0"
    assert container.manifest_url() == f"{base}/manifests/v1"
    assert container.manifest_url("v2") == f"{base}/manifests/v2"


def test_localhost_manifest_url() -> None:
    assert Container("localhost/myrepo:v1").manifest_url() == "localhost/v2/myrepo/manifests/v1"


def test_digest_keeps_latest_tag() -> None:
    container = Container(f"ghcr.io/org/repo@{DIGEST}")
    assert container.tag == "latest"
    assert container.digest == DIGEST
    assert container.uri == f"ghcr.io/org/repo@{DIGEST}"
    assert container.manifest_url() == f"ghcr.io/v2/org/repo/manifests/{DIGEST}"
    assert container.manifest_url("v9") == "ghcr.io/v2/org/repo/manifests/v9"
    # The implicit tag is not carried into the typed reference.
    assert container.to_reference() == Reference("ghcr.io", "org/repo", digest=DIGEST)


def test_tag_and_digest() -> None:
    container = Container(f"ghcr.io/org/repo:v1@{DIGEST}")
    assert (container.tag, container.digest) == ("v1", DIGEST)
    assert container.to_reference() == Reference("ghcr.io", "org/repo", "v1", DIGEST)


def test_docker_hub_mapping() -> None:
    container = Container("busybox")
    assert container.registry == "docker.io"
    assert container.api_prefix == "library/busybox"
    assert container.uri == "docker.io/library/busybox:latest"
    base = "registry-1.docker.io/v2/library/busybox"
    assert container.manifest_url() == f"{base}/manifests/latest"
    assert container.get_blob_url(DIGEST) == f"{base}/blobs/{DIGEST}"
    assert container.upload_blob_url() == f"{base}/blobs/uploads/"
    assert container.tags_url() == f"{base}/tags/list"

    hub = Container("index.docker.io/me/tool:1")
    assert hub.registry == "index.docker.io"
    assert hub.manifest_url() == "registry-1.docker.io/v2/me/tool/manifests/1"
    assert Container("docker.io/alpine").api_prefix == "library/alpine"


def test_registry_argument() -> None:
    container = Container("dinosaur/artifact:v1", registry="localhost:5000")
    assert container.registry == "localhost:5000"
    assert container.manifest_url() == "localhost:5000/v2/dinosaur/artifact/manifests/v1"
    single = Container("yolo:v1", "localhost:8081")
    assert (single.registry, single.namespace, single.api_prefix) == (
        "localhost:8081",
        None,
        "yolo",
    )
    # A registry in the name wins over the argument, even an unusable one.
    assert Container("ghcr.io/a/b", registry="localhost:5000").registry == "ghcr.io"
    assert Container("ghcr.io/a/b", registry="http://localhost:5000").registry == "ghcr.io"


def test_reparse_in_place() -> None:
    container = Container("dinosaur/artifact:v1", registry="localhost:5000")
    container.parse("other/thing:v2")
    assert (container.registry, container.api_prefix, container.tag) == (
        "localhost:5000",
        "other/thing",
        "v2",
    )
    container.parse(f"ghcr.io/x/y@{DIGEST}")
    assert (container.registry, container.tag, container.digest) == ("ghcr.io", "latest", DIGEST)


def test_mutated_attributes_drive_urls() -> None:
    container = Container("localhost:5000/dinosaur/artifact:v1")
    container.tag = "v3"
    assert container.manifest_url().endswith("/manifests/v3")
    container.digest = DIGEST
    assert container.manifest_url().endswith(f"/manifests/{DIGEST}")


@pytest.mark.parametrize(
    "name",
    [
        "ghcr.io/a//b:1",
        "",
        "ghcr.io/Upper:1",
        "repo:bad:tag",
        "repo@sha256:short",
        "localhost:5000/",
        "https://ghcr.io/a",
    ],
)
def test_invalid_names(name: str) -> None:
    with pytest.raises(ValueError) as info:
        Container(name)
    assert isinstance(info.value, InvalidReferenceError)
    assert str(info.value) == name + ERROR_TAIL
    assert info.value.hint == info.value.reason  # the precise reason, said once
    assert "<registry>" not in info.value.hint


def test_invalid_long_name_is_cut() -> None:
    name = "localhost:5000/repo:" + "x" * 300
    with pytest.raises(InvalidReferenceError) as info:
        Container(name)
    message = f"{info.value} ({info.value.hint})"
    assert message.startswith(name[:80] + "... (320 characters) does not match")
    assert len(message) < 300, message


def test_a_non_string_name_is_an_invalid_reference() -> None:
    """oras-py raised TypeError from its regex for `pull(target=None)`."""
    with pytest.raises(InvalidReferenceError) as info:
        Container(None)  # type: ignore[arg-type]
    assert str(info.value) == "None" + ERROR_TAIL
    assert info.value.hint == "a reference is a string, not NoneType"


@pytest.mark.parametrize(
    "name,registry",
    [("localhost:5600", None), ("localhost:5600", "localhost:5600"), ("ghcr.io", "ghcr.io")],
)
def test_a_registry_alone_is_not_a_container(name: str, registry: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        Container(name, registry=registry)
    assert "no repository" in str(info.value.hint)


def test_docker_regex_groups() -> None:
    match = docker_regex.search("localhost:5000/dinosaur/artifact:v1")
    assert match is not None
    assert match.groupdict() == {
        "registry": "localhost:5000",
        "namespace": "dinosaur",
        "repository": "artifact",
        "tag": "v1",
        "digest": None,
    }
    match = docker_regex.search(f"ghcr.io/a/b/c@{DIGEST}")
    assert match is not None
    assert match.group("namespace") == "a/b"
    assert match.group("digest") == DIGEST
    plain = docker_regex.search("myreg:5000")
    assert plain is not None
    assert (plain.group("registry"), plain.group("repository"), plain.group("tag")) == (
        None,
        "myreg",
        "5000",
    )
    assert docker_regex.search("ghcr.io/a//b:1") is None


def test_container_type_alias() -> None:
    assert str in container_type.__args__
    assert Container in container_type.__args__
