"""Tests for oras.reference: strict parsing, Docker Hub mapping, tag lists."""

from __future__ import annotations

import dataclasses

import pytest

from oras.errors import InvalidReferenceError
from oras.reference import (
    Reference,
    is_docker_hub,
    is_localhost,
    parse_reference,
    registry_api_host,
    split_tags,
)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    "text,registry,repository,tag,digest",
    [
        ("localhost:5000/dinosaur/artifact:v1", "localhost:5000", "dinosaur/artifact", "v1", None),
        ("localhost/foo:bar", "localhost", "foo", "bar", None),
        ("localhost:5000/foo", "localhost:5000", "foo", None, None),
        ("ghcr.io/org/team/repo:1.0", "ghcr.io", "org/team/repo", "1.0", None),
        (f"ghcr.io/org/repo@{DIGEST}", "ghcr.io", "org/repo", None, DIGEST),
        (f"ghcr.io/org/repo:v2@{DIGEST}", "ghcr.io", "org/repo", "v2", DIGEST),
        ("myreg:5000", "docker.io", "library/myreg", "5000", None),
        ("busybox", "docker.io", "library/busybox", None, None),
        ("org/repo:latest", "docker.io", "org/repo", "latest", None),
        ("docker.io/busybox", "docker.io", "library/busybox", None, None),
        ("index.docker.io/busybox:1", "index.docker.io", "library/busybox", "1", None),
        ("localhostx/repo", "docker.io", "localhostx/repo", None, None),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", None, None),
        ("[::1]:5000/a", "[::1]:5000", "a", None, None),
        (
            "Registry.Example.COM/a__b/c-d.e:TaG_1",
            "Registry.Example.COM",
            "a__b/c-d.e",
            "TaG_1",
            None,
        ),
        ("example.com/a--b", "example.com", "a--b", None, None),
    ],
)
def test_parse(text: str, registry: str, repository: str, tag: str, digest: str) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )


def test_default_registry() -> None:
    ref = parse_reference("dinosaur/artifact:v1", default_registry="localhost:5000")
    assert str(ref) == "localhost:5000/dinosaur/artifact:v1"
    # One component on a non-Hub default registry: no library/.
    assert parse_reference("artifact", default_registry="localhost:5000").repository == "artifact"
    # A registry in the name wins over the default.
    assert parse_reference("ghcr.io/a/b", default_registry="localhost:5000").registry == "ghcr.io"


def test_default_registry_only_validated_when_used() -> None:
    assert parse_reference("ghcr.io/a", default_registry="http://bad").registry == "ghcr.io"
    with pytest.raises(InvalidReferenceError):
        parse_reference("a", default_registry="http://bad")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ghcr.io/a//b:1",
        "ghcr.io/",
        "localhost:5000/",
        "ghcr.io/Upper/repo",
        "Upper",
        "repo:",
        "repo:bad:tag",
        "repo:-tag",
        "repo:" + "t" * 129,
        "repo@",
        "repo@sha256:abc",
        "repo@sha256:" + "A" * 64,
        "/repo",
        "repo/",
        "re po",
        "foo:bar/baz",
        "ghcr.io/a/b@" + DIGEST + "@" + DIGEST,
        "ghcr.io/" + "a" * 250,
        "https://ghcr.io/a/b",
    ],
)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text)
    message = str(info.value)
    if len(text) <= 80:
        assert repr(text) in message
    else:  # long input is quoted cut, with its length
        assert repr(text[:80]) in message and f"({len(text)} characters)" in message
    assert message.count("<registry>/<repository>[:<tag>|@<digest>]") == 1
    assert isinstance(info.value, ValueError)
    assert "\n" not in message
    assert info.value.hint and "<registry>" not in info.value.hint  # an example, not the shape
    assert info.value.reason and info.value.reason in message


@pytest.mark.parametrize(
    "text,reason",
    [
        ("localhost:5000/repo:" + "x" * 300, "the tag is 300 characters long, more than 128"),
        ("localhost:5000/" + "r" * 300 + ":v1", "longer than 255 characters"),
        ("localhost:5000/" + "R" * 300 + ":v1", "must be lowercase"),
        ("localhost:5000/repo@sha256:" + "a" * 300, "sha256 needs 64 lowercase hex"),
    ],
)
def test_long_input_is_not_echoed_in_full(text: str, reason: str) -> None:
    """A 300-character tag once came back four times (1,200 characters) in one message."""
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text)
    message = str(info.value)
    assert reason in message
    assert "x" * 100 not in message and "r" * 100 not in message and "a" * 100 not in message
    assert "R" * 100 not in message
    assert len(f"{message} ({info.value.hint})") < 350, message
    assert info.value.hint == "for example localhost:5000/dinosaur/artifact:v1"


def test_hint_gives_an_example_on_the_users_registry() -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference("localhost:5600")
    assert info.value.hint == "for example localhost:5600/dinosaur/artifact:v1"
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference("ghcr.io/Upper:v1")
    assert info.value.hint == "for example ghcr.io/dinosaur/artifact:v1"
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference("Upper:v1")
    assert info.value.hint == "for example localhost:5000/dinosaur/artifact:v1"


@pytest.mark.parametrize(
    "text",
    [
        "localhost",
        "localhost:5600",
        "LOCALHOST:5600",
        f"localhost:5600@{DIGEST}",
        "127.0.0.1",
        "127.0.0.1:5000",
        "[::1]:5000",
        "registry.example.com:443",
    ],
)
def test_a_registry_alone_has_no_repository(text: str) -> None:
    """Docker would read `localhost:5600` as repository `localhost`, tag `5600`: refused."""
    with pytest.raises(InvalidReferenceError, match="names a registry but no repository"):
        parse_reference(text)
    with pytest.raises(InvalidReferenceError, match="names a registry but no repository"):
        parse_reference(text, default_registry="localhost:5600")


def test_the_default_registry_alone_has_no_repository() -> None:
    for name in ("ghcr.io", "myreg:5000"):
        with pytest.raises(InvalidReferenceError, match="no repository"):
            parse_reference(name, default_registry=name)


@pytest.mark.parametrize(
    "text,repository,tag",
    [("myreg:5000", "library/myreg", "5000"), ("python:3", "library/python", "3")],
)
def test_repository_with_numeric_tag_is_not_a_registry(
    text: str, repository: str, tag: str
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag) == ("docker.io", repository, tag)
    assert parse_reference("example.com").repository == "library/example.com"


@pytest.mark.parametrize(
    "text,reason",
    [
        ("localhost:5600", "names a registry but no repository"),
        ("myreg:5000", "missing registry or repository"),
        ("busybox", "missing registry or repository"),
        ("dinosaur/artifact:v1", "missing registry ('dinosaur' is not a registry host"),
    ],
)
def test_require_registry(text: str, reason: str) -> None:
    """The Go `oras` rule: the registry is written in the reference."""
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text, require_registry=True)
    assert reason in str(info.value)
    ref = parse_reference("localhost:5600/dinosaur/artifact:v1", require_registry=True)
    assert (ref.registry, ref.repository) == ("localhost:5600", "dinosaur/artifact")


@pytest.mark.parametrize(
    "text,named",
    [
        ("localhost:5000/re\x00po:v1", "a NUL byte ('\\x00')"),
        ("local\x00host:5000/repo", "a NUL byte ('\\x00')"),
        ("localhost:5000/repo:v1\x1b]0;x\x07", "a control character ('\\x1b')"),
    ],
)
def test_control_characters_are_named_and_escaped(text: str, named: str) -> None:
    """oras-py's regex let the NUL reach a file or socket call: `embedded null byte`."""
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text)
    assert info.value.reason == f"it contains {named}"
    assert "\x00" not in str(info.value) and "\x1b" not in str(info.value)


def test_invalid_reasons() -> None:
    with pytest.raises(InvalidReferenceError, match="lowercase"):
        parse_reference("ghcr.io/Upper/repo")
    with pytest.raises(InvalidReferenceError, match="empty path component"):
        parse_reference("ghcr.io/a//b")
    with pytest.raises(InvalidReferenceError, match="64 lowercase hex"):
        parse_reference("a/b@sha256:abc")


def test_parse_non_string() -> None:
    with pytest.raises(InvalidReferenceError):
        parse_reference(None)  # type: ignore[arg-type]


def test_reference_properties() -> None:
    ref = parse_reference(f"ghcr.io/org/repo:v1@{DIGEST}")
    assert ref.reference == DIGEST
    assert str(ref) == f"ghcr.io/org/repo:v1@{DIGEST}"
    assert ref.api_host == "ghcr.io"
    assert parse_reference("ghcr.io/org/repo:v1").reference == "v1"
    assert parse_reference("ghcr.io/org/repo").reference is None
    assert str(parse_reference("busybox")) == "docker.io/library/busybox"


def test_reference_is_frozen_and_hashable() -> None:
    ref = parse_reference("ghcr.io/a:v1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.tag = "v2"  # type: ignore[misc]
    assert ref == Reference("ghcr.io", "a", "v1")
    assert len({ref, Reference("ghcr.io", "a", "v1")}) == 1


def test_with_tag_and_digest() -> None:
    ref = parse_reference("ghcr.io/a:v1")
    pinned = ref.with_digest(DIGEST)
    assert (pinned.tag, pinned.digest, pinned.reference) == ("v1", DIGEST, DIGEST)
    retagged = pinned.with_tag("v2")
    assert (retagged.tag, retagged.digest, retagged.reference) == ("v2", None, "v2")
    assert ref.tag == "v1"  # unchanged
    with pytest.raises(InvalidReferenceError):
        ref.with_tag("bad:tag")
    with pytest.raises(InvalidReferenceError):
        ref.with_digest("sha256:nope")


def test_constructor_validates() -> None:
    with pytest.raises(InvalidReferenceError):
        Reference("ghcr.io", "Bad")
    with pytest.raises(InvalidReferenceError):
        Reference("", "a")
    with pytest.raises(InvalidReferenceError):
        Reference("ghcr.io", "a", digest="md5:")


@pytest.mark.parametrize(
    "registry,api_host",
    [
        ("docker.io", "registry-1.docker.io"),
        ("index.docker.io", "registry-1.docker.io"),
        ("registry-1.docker.io", "registry-1.docker.io"),
        ("ghcr.io", "ghcr.io"),
        ("localhost:5000", "localhost:5000"),
    ],
)
def test_api_host(registry: str, api_host: str) -> None:
    assert registry_api_host(registry) == api_host
    assert parse_reference(f"{registry}/a/b").api_host == api_host


def test_docker_hub_library_prefix() -> None:
    for registry in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        assert is_docker_hub(registry)
        assert parse_reference(f"{registry}/alpine").repository == "library/alpine"
        assert parse_reference(f"{registry}/me/alpine").repository == "me/alpine"
    assert not is_docker_hub("ghcr.io")
    assert parse_reference("alpine", default_registry="docker.io").repository == "library/alpine"


@pytest.mark.parametrize(
    "registry,expected",
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("LOCALHOST:1", True),
        ("localhost.example.com", False),
        ("localhostx:5000", False),
        ("127.0.0.1:5000", False),
        ("ghcr.io", False),
    ],
)
def test_is_localhost(registry: str, expected: bool) -> None:
    assert is_localhost(registry) is expected


@pytest.mark.parametrize(
    "text,first,tags",
    [
        ("repo:t1,t2,t3", "repo:t1", ["t1", "t2", "t3"]),
        ("localhost:5000/hello:v1,v2", "localhost:5000/hello:v1", ["v1", "v2"]),
        ("localhost:5000/hello:v1", "localhost:5000/hello:v1", ["v1"]),
        ("localhost:5000/hello", "localhost:5000/hello", []),
        (f"localhost:5000/hello@{DIGEST}", f"localhost:5000/hello@{DIGEST}", []),
        (f"ghcr.io/a:x,y@{DIGEST}", f"ghcr.io/a:x@{DIGEST}", ["x", "y"]),
    ],
)
def test_split_tags(text: str, first: str, tags: list[str]) -> None:
    assert split_tags(text) == (first, tags)
    # The first element parses as a normal reference.
    parse_reference(first)


@pytest.mark.parametrize("text", ["repo:t1,,t2", "repo:t1,", "repo:,t1", "repo:ok,bad:tag"])
def test_split_tags_invalid(text: str) -> None:
    with pytest.raises(InvalidReferenceError):
        split_tags(text)
