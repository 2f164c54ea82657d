"""Properties of reference and digest parsing (oras.reference, oras.container, oras.digest)."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from oras.container import Container
from oras.digest import digest_bytes, digest_problem, split_digest, validate_digest
from oras.errors import InvalidReferenceError
from oras.reference import (
    MAX_NAME_LENGTH,
    REFERENCE_REGEX,
    Reference,
    parse_reference,
    split_tags,
)
from tests.unit.properties.invariants import Refused, parse_or_refuse, time_bound

# Text that looks like references: their alphabet, mostly, and a little of everything else.
_REF_ALPHABET = "abcz019AZ.-_:/@+=[]"
reference_like = st.one_of(
    st.text(alphabet=_REF_ALPHABET, max_size=60),
    st.text(max_size=60),
)

_alnum = st.text(alphabet="abcz0189", min_size=1, max_size=8)
_separator = st.sampled_from([".", "_", "__", "-", "---"])
# Built from pieces rather than with from_regex: the same grammar, generated many times faster.
_component = st.builds(
    lambda first, rest: first + "".join(sep + part for sep, part in rest),
    _alnum,
    st.lists(st.tuples(_separator, _alnum), max_size=2),
)
_port = st.integers(0, 99999).map(lambda p: f":{p}")
_registry = st.one_of(
    st.just("localhost"),
    _port.map(lambda p: "localhost" + p),
    st.builds(
        lambda labels, port: ".".join(labels) + port,
        st.lists(_alnum, min_size=2, max_size=3),
        st.just("") | _port,
    ),
    st.builds(
        lambda h, port: f"[{h}]{port}",
        st.text("0123abcdef:", min_size=2, max_size=12),
        st.just("") | _port,
    ),
    st.builds(
        lambda a, port: ".".join(map(str, a)) + port, st.tuples(*[st.integers(0, 255)] * 4), _port
    ),
)
_tag = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("aZ09_"),
    st.text(alphabet="aZ09._-", max_size=20),
)
_hex64 = st.binary(min_size=1, max_size=8).map(lambda b: digest_bytes(b))
_digest = st.one_of(
    _hex64,
    st.binary(max_size=8).map(lambda b: digest_bytes(b, "sha512")),
    st.from_regex(r"[a-z0-9]{1,6}(?:[+._-][a-z0-9]{1,4})?:[a-zA-Z0-9=_-]{1,20}", fullmatch=True),
)


@st.composite
def valid_references(draw: st.DrawFn) -> Reference:
    registry = draw(_registry)
    repository = "/".join(draw(st.lists(_component, min_size=1, max_size=4)))
    assume(len(registry) + 1 + len(repository) <= MAX_NAME_LENGTH)
    assume(digest_problem(registry + "x") is not None)  # never a digest-looking registry
    tag = draw(st.none() | _tag)
    digest = draw(st.none() | _digest)
    assume(digest is None or digest_problem(digest) is None)
    return Reference(registry, repository, tag=tag, digest=digest)


@given(reference_like, st.none() | st.sampled_from(["localhost:5000", "ghcr.io"]), st.booleans())
@example("localhost:5000/a:b@sha256:" + "0" * 64, None, False)
@example("a/b:" + "x" * 129, None, False)
@example("a\x00b/c", None, False)
def test_parse_reference_returns_a_reference_or_a_typed_error(
    text: str, default_registry: str | None, require: bool
) -> None:
    try:
        ref = parse_or_refuse(parse_reference, text, default_registry, require)
    except Refused as refused:
        assert isinstance(refused.error, InvalidReferenceError)
        return
    # Well formed: its parts pass the same checks, and it prints back to an equal reference.
    assert Reference(ref.registry, ref.repository, ref.tag, ref.digest) == ref
    assert parse_reference(str(ref)) == ref
    assert len(ref.registry) + 1 + len(ref.repository) <= MAX_NAME_LENGTH


@given(valid_references())
@example(Reference("[00]", "0"))  # a short IPv6 literal printed back did not parse
def test_reference_round_trips_through_its_text(ref: Reference) -> None:
    again = parse_reference(str(ref))
    assert again == ref
    assert str(again) == str(ref)
    assert REFERENCE_REGEX.fullmatch(str(ref))


@given(valid_references())
def test_container_keeps_what_the_reference_says(ref: Reference) -> None:
    container = Container(str(ref))
    assert container.registry == ref.registry
    assert container.api_prefix == ref.repository
    assert container.digest == ref.digest
    assert container.tag == (ref.tag or "latest")
    assert Container(container.uri).uri == container.uri
    assert container.to_reference().repository == ref.repository


@given(reference_like)
def test_container_parses_or_refuses_with_a_typed_error(text: str) -> None:
    try:
        container = parse_or_refuse(Container, text)
    except Refused as refused:
        assert isinstance(refused.error, InvalidReferenceError)
        return
    assert Container(container.uri).uri == container.uri


@given(reference_like)
def test_split_tags_splits_or_refuses(text: str) -> None:
    try:
        first, tags = parse_or_refuse(split_tags, text)
    except Refused:
        return
    if tags:
        assert all(tags) and "," not in first


@given(st.text(max_size=80))
def test_digest_validation_is_total(text: str) -> None:
    try:
        parse_or_refuse(validate_digest, text)
    except Refused:
        return
    algorithm, encoded = split_digest(text)
    assert f"{algorithm}:{encoded}" == text


@given(st.binary(max_size=64), st.sampled_from(["sha256", "sha512"]))
def test_computed_digests_validate(data: bytes, algorithm: str) -> None:
    digest = digest_bytes(data, algorithm)
    assert validate_digest(digest) == digest


# Long inputs shaped to make a backtracking regex try every split: each must be answered fast.
ADVERSARIAL = [
    "a" * 70_000 + "!",
    "a-" * 35_000 + "!",
    "a." * 35_000 + ":",
    "a/" * 35_000 + "A",
    "a__" * 25_000 + "_!",
    "localhost/" + "a-a." * 17_000 + "@",
    "x/y@" + "a+" * 35_000 + ":",
    "x/y@sha256:" + "0" * 70_000,
    "[" + ":" * 70_000,
    "a:" + "b" * 70_000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_long_adversarial_references_are_answered_fast(text: str) -> None:
    with time_bound():
        with pytest.raises(InvalidReferenceError):
            parse_reference(text)
        with pytest.raises(InvalidReferenceError):
            Container(text)
        REFERENCE_REGEX.match(text)
        digest_problem(text)
