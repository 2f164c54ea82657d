"""Properties of manifest, index and descriptor parsing (oras.descriptor, oras.manifest)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from oras import defaults
from oras.descriptor import Descriptor, check_manifest, parse_manifest
from oras.digest import digest_bytes, digest_problem
from oras.errors import InvalidDigestError, InvalidManifestError, ProtocolError
from oras.manifest import Platform, select_platform, successors
from tests.unit.properties.invariants import Refused, parse_or_refuse, time_bound

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)

#: Values that survive a JSON round trip unchanged (NaN is not equal to itself; JSON has no
#: infinity).
round_trip_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)

digests = st.binary(max_size=16).map(digest_bytes)
media_types = st.sampled_from(
    [
        defaults.default_manifest_media_type,
        defaults.default_index_media_type,
        defaults.docker_manifest_media_type,
        defaults.default_blob_media_type,
        "application/vnd.oci.artifact.manifest.v1+json",
        "text/plain",
        "",
    ]
)
annotations = st.none() | st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3)


@st.composite
def descriptor_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A descriptor as a registry might send it: valid fields, and now and then a broken one."""
    d: dict[str, Any] = {
        "mediaType": draw(media_types),
        "digest": draw(digests),
        "size": draw(st.integers(min_value=0, max_value=2**63)),
    }
    optional = {
        "annotations": annotations,
        "artifactType": st.text(max_size=20),
        "platform": st.fixed_dictionaries(
            {"os": st.text(max_size=5), "architecture": st.text(max_size=5)}
        ),
        "urls": st.lists(st.text(max_size=10), max_size=2),
        "data": st.text(max_size=10),
        "x-extra": json_values,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            d[key] = draw(strategy)
    if draw(st.integers(0, 5)) == 0:  # break one field
        d[draw(st.sampled_from(sorted(d)))] = draw(json_values)
    return d


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["manifest", "index", "artifact"]))
    doc: dict[str, Any] = {"schemaVersion": 2}
    if kind == "index":
        doc["mediaType"] = defaults.default_index_media_type
        doc["manifests"] = draw(st.lists(descriptor_dicts(), max_size=4))
    elif kind == "manifest":
        doc["mediaType"] = defaults.default_manifest_media_type
        doc["config"] = draw(descriptor_dicts())
        doc["layers"] = draw(st.lists(descriptor_dicts(), max_size=4))
    else:
        doc["blobs"] = draw(st.lists(descriptor_dicts(), max_size=4))
    if draw(st.booleans()):
        doc["subject"] = draw(descriptor_dicts())
    if draw(st.integers(0, 5)) == 0:
        doc[draw(st.sampled_from(sorted(doc)))] = draw(json_values)
    return doc


def _well_formed(desc: Descriptor) -> None:
    assert isinstance(desc.media_type, str)
    assert digest_problem(desc.digest) is None, desc.digest
    assert isinstance(desc.size, int) and not isinstance(desc.size, bool) and desc.size >= 0


raw_documents = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    manifests().map(lambda m: json.dumps(m).encode()),
)


@given(raw_documents)
@example(b"[" * 100_000)
@example(b'{"a":' * 50_000)
@example(b"\xff\xfe{")
@example(b'{"x": 1e999}')
def test_parse_manifest_is_an_object_or_a_protocol_error(raw: bytes) -> None:
    try:
        document = parse_or_refuse(parse_manifest, raw, "sha256:x")
    except Refused as refused:
        assert isinstance(refused.error, ProtocolError)
        return
    assert isinstance(document, dict)


@given(manifests() | json_values)
@example({"schemaVersion": 2, "mediaType": [], "manifests": []})
def test_check_manifest_accepts_or_names_the_broken_field(document: Any) -> None:
    try:
        checked = parse_or_refuse(check_manifest, document, "sha256:x")
    except Refused as refused:
        assert isinstance(refused.error, InvalidManifestError)
        return
    assert checked is document


@given(media_types, raw_documents)
@example(
    defaults.default_manifest_media_type, b'{"layers": [{"digest": "sha256:x", "size": 1e999}]}'
)
@example(defaults.default_manifest_media_type, b'{"layers": [{"digest": "../../etc", "size": 1}]}')
@example(defaults.default_index_media_type, b'{"manifests": [["not", "an", "object"]]}')
@example(defaults.default_manifest_media_type, b'{"config": {"digest": "sha256:x", "size": -1}}')
def test_successors_are_well_formed_descriptors_or_a_protocol_error(
    media_type: str, raw: bytes
) -> None:
    node = Descriptor(media_type, digest_bytes(raw), len(raw))
    try:
        found = parse_or_refuse(successors, node, raw)
    except Refused as refused:
        assert isinstance(refused.error, (ProtocolError, InvalidDigestError))
        return
    for desc in found:
        _well_formed(desc)


@given(json_values | descriptor_dicts())
@example({"digest": "sha256:" + "0" * 64, "size": float("inf")})
@example({"digest": "sha256:" + "0" * 64, "size": float("nan")})
@example([1, 2])
def test_descriptor_from_dict_is_well_formed_or_a_protocol_error(d: Any) -> None:
    try:
        desc = parse_or_refuse(Descriptor.from_dict, d)
    except Refused as refused:
        assert isinstance(refused.error, ProtocolError)
        return
    # from_dict checks types, not values (callers build descriptors of their own); the graph
    # walk (`successors`) checks values too.
    assert isinstance(desc.media_type, str) and isinstance(desc.digest, str)
    assert isinstance(desc.size, int)


@given(
    media_types,
    digests,
    st.integers(min_value=0, max_value=2**63),
    annotations,
    st.none() | st.text(min_size=1, max_size=10),
    st.none() | st.fixed_dictionaries({"os": st.just("linux"), "architecture": st.just("amd64")}),
    st.none() | st.lists(st.text(max_size=10), min_size=1, max_size=2),
    st.none() | st.text(max_size=10),
    st.dictionaries(
        st.text(min_size=1, max_size=6).map(lambda k: "x-" + k), round_trip_values, max_size=2
    ),
)
def test_descriptor_round_trips_through_its_dict(
    media_type: str,
    digest: str,
    size: int,
    annotations: Any,
    artifact_type: Any,
    platform: Any,
    urls: Any,
    data: Any,
    extra: dict[str, Any],
) -> None:
    desc = Descriptor(
        media_type, digest, size, annotations, artifact_type, platform, urls, data, extra
    )
    as_dict = desc.to_dict()
    again = Descriptor.from_dict(json.loads(json.dumps(as_dict)))
    assert again.to_dict() == as_dict
    assert again == desc


platform_text = st.one_of(
    st.text(alphabet="linux/amd64arm:v7.10", max_size=30),
    st.text(max_size=30),
)


@given(platform_text)
@example("linux/amd64/v8/extra")
@example("/")
@example("linux/amd64:")
def test_platform_parse_round_trips_or_refuses(text: str) -> None:
    try:
        platform = parse_or_refuse(Platform.parse, text)
    except Refused:
        return
    assert Platform.parse(str(platform)) == platform
    assert platform.matches(
        {
            "os": platform.os,
            "architecture": platform.architecture,
            "variant": platform.variant,
            "os.version": platform.os_version,
        }
    )


@given(raw_documents, st.sampled_from(["linux/amd64", "linux/arm/v7", "windows/amd64:10"]))
def test_select_platform_picks_a_matching_entry_or_refuses(raw: bytes, want: str) -> None:
    index = Descriptor(defaults.default_index_media_type, digest_bytes(raw), len(raw))
    platform = Platform.parse(want)
    try:
        chosen = parse_or_refuse(select_platform, index, raw, platform)
    except Refused:
        return
    _well_formed(chosen)
    assert platform.matches(chosen.platform)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"layers": [' + b'{"digest": "sha256:' + b"0" * 64 + b'", "size": 1},' * 20_000 + b"{}]}",
        b" " * 1_000_000 + b"{}",
        b'{"a": "' + b"\\u0000" * 100_000 + b'"}',
    ],
    ids=["many-layers", "whitespace", "escapes"],
)
def test_large_manifests_are_parsed_in_bounded_time(raw: bytes) -> None:
    with time_bound(5.0):
        try:
            successors(Descriptor(defaults.default_manifest_media_type, digest_bytes(raw), 0), raw)
        except ProtocolError:
            pass
