"""Pure referrers helpers: the tag schema, referrer descriptors, the discover tree."""

from __future__ import annotations

import json

from oras.cli.discover import Node, tree_lines
from oras.descriptor import Descriptor
from oras.referrers import (
    filter_artifact_type,
    index_bytes,
    is_referrers_tag,
    referrer_descriptor,
    referrers_tag,
)

HEX = "a" * 64
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def test_referrers_tag_follows_the_tag_schema():
    assert referrers_tag(f"sha256:{HEX}") == f"sha256-{HEX}"
    assert referrers_tag(f"sha512:{'b' * 128}") == f"sha512-{'b' * 64}"
    assert referrers_tag(f"{'x' * 40}+v2:{HEX}") == f"{'x' * 32}-{HEX}"
    assert referrers_tag(f"my+alg:{HEX}") == f"my-alg-{HEX}"
    assert is_referrers_tag(f"sha256-{HEX}")
    assert not is_referrers_tag("v1") and not is_referrers_tag(f"sha256-{HEX[:10]}")


def _manifest(**fields) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, **fields}).encode()


def test_referrer_descriptor_takes_type_and_annotations_from_the_manifest():
    subject = {"mediaType": MANIFEST, "digest": f"sha256:{HEX}", "size": 3}
    desc = Descriptor(MANIFEST, "sha256:" + "c" * 64, 10)
    typed = _manifest(artifactType="a/b", config={}, subject=subject, annotations={"k": "v"})
    found = referrer_descriptor(desc, typed, f"sha256:{HEX}")
    assert found is not None and found.artifact_type == "a/b" and found.annotations == {"k": "v"}
    legacy = _manifest(config={"mediaType": "c/t", "digest": "x", "size": 1}, subject=subject)
    found = referrer_descriptor(desc, legacy, f"sha256:{HEX}")
    assert found is not None and found.artifact_type == "c/t" and found.annotations is None
    assert referrer_descriptor(desc, typed, "sha256:" + "d" * 64) is None  # another subject
    assert referrer_descriptor(desc, _manifest(config={}), f"sha256:{HEX}") is None
    assert referrer_descriptor(desc, b"not json", f"sha256:{HEX}") is None


def test_filter_and_index_bytes():
    a = Descriptor(MANIFEST, "sha256:" + "1" * 64, 1, artifact_type="a/a")
    b = Descriptor(MANIFEST, "sha256:" + "2" * 64, 1)
    assert filter_artifact_type([a, b], "a/a") == [a]
    assert filter_artifact_type([a, b], None) == [a, b]
    index = json.loads(index_bytes([a.to_dict()]))
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert index["schemaVersion"] == 2 and index["manifests"][0]["artifactType"] == "a/a"


def test_discover_tree_groups_by_type_with_annotations_and_nested_referrers():
    leaf = Node(Descriptor(MANIFEST, "sha256:3", 1, artifact_type="t/c"), [])
    sig = Node(
        Descriptor(MANIFEST, "sha256:1", 1, artifact_type="t/a", annotations={"k": "v"}), [leaf]
    )
    untyped = Node(Descriptor(MANIFEST, "sha256:2", 1), [])
    assert tree_lines([sig, untyped]) == [
        "├── t/a",
        "│   └── sha256:1",
        "│       ├── [annotations]",
        "│       │   └── k: v",
        "│       └── t/c",
        "│           └── sha256:3",
        "└── <unknown>",
        "    └── sha256:2",
    ]
