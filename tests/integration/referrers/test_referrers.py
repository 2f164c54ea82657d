"""Referrers in the core (issue 11, item 2), against Distribution 2.8, which has no referrers
API: the tag-schema fallback is listed, kept up to date on attach and delete, not trusted
blindly, and safe under concurrent attaches; memory stores and OCI layouts answer too."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from oras.content.layout import LayoutStore
from oras.content.memory import MemoryStore
from oras.descriptor import Descriptor
from oras.digest import digest_bytes
from oras.errors import NotFoundError
from oras.provider import Registry
from oras.referrers import find_referrers, referrers_tag
from oras.testing import TestRegistry
from tests.harness.registry import RegistryServer

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "size": 2,
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
}
ACCEPT = f"{MANIFEST}, {INDEX}"


def has_api(registry: Any) -> bool:
    """Registries of the referrers API (the tag schema otherwise: Distribution 2.8)."""
    return isinstance(registry, TestRegistry)


def _url(registry: RegistryServer, repository: str, kind: str, reference: str) -> str:
    return f"http://{registry.host}/v2/{repository}/{kind}/{reference}"


def raw_get(registry: RegistryServer, repository: str, reference: str) -> requests.Response:
    return requests.get(
        _url(registry, repository, "manifests", reference), headers={"Accept": ACCEPT}, timeout=30
    )


def raw_put_manifest(
    registry: RegistryServer, repository: str, reference: str, document: dict[str, Any]
) -> str:
    body = json.dumps(document).encode()
    response = requests.put(
        _url(registry, repository, "manifests", reference),
        data=body,
        headers={"Content-Type": document["mediaType"]},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return digest_bytes(body)


def raw_put_empty_blob(registry: RegistryServer, repository: str) -> None:
    start = requests.post(f"http://{registry.host}/v2/{repository}/blobs/uploads/", timeout=30)
    assert start.status_code == 202
    location = start.headers["Location"]
    separator = "&" if "?" in location else "?"
    done = requests.put(f"{location}{separator}digest={EMPTY['digest']}", data=b"{}", timeout=30)
    assert done.status_code == 201, done.text


@pytest.fixture
def client(registry: RegistryServer) -> Registry:
    return Registry(hostname=registry.host, insecure=True)


@pytest.fixture
def image(client: Registry, registry: RegistryServer, unique_repo: str, tmp_path, monkeypatch):
    """`<repo>:v1`, one file; returns its reference."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("subject\n")
    ref = f"{registry.host}/{unique_repo}:v1"
    client.push(target=ref, files=["a.txt"])
    return ref


def _subject_digest(client: Registry, ref: str) -> str:
    return client.repository(ref).resolve(ref.rsplit(":", 1)[1]).digest


def test_attach_lists_referrers_from_the_tag_schema_index(
    client, registry, unique_repo, image, tmp_path
):
    (tmp_path / "sig.txt").write_text("signature\n")
    sig = client.attach(
        image, "application/vnd.example.sig", files=["sig.txt"], manifest_annotations={"k": "v"}
    )
    sbom = client.attach(image, "application/vnd.example.sbom")
    found = client.get_referrers(image)
    assert sorted(d["digest"] for d in found) == sorted([sig["digest"], sbom["digest"]])
    by_digest = {d["digest"]: d for d in found}
    assert by_digest[sig["digest"]]["artifactType"] == "application/vnd.example.sig"
    assert by_digest[sig["digest"]]["annotations"] == {"k": "v"}
    assert by_digest[sbom["digest"]]["artifactType"] == "application/vnd.example.sbom"
    only = client.get_referrers(image, artifact_type="application/vnd.example.sbom")
    assert [d["digest"] for d in only] == [sbom["digest"]]

    subject = _subject_digest(client, image)
    if has_api(registry):
        # The registry indexed them itself: its referrers API lists both, no tag is written.
        listed = requests.get(_url(registry, unique_repo, "referrers", subject), timeout=30).json()[
            "manifests"
        ]
        assert {e["digest"] for e in listed} == {sig["digest"], sbom["digest"]}
        assert raw_get(registry, unique_repo, referrers_tag(subject)).status_code == 404
    else:
        # The index under the tag schema, as another client reads it.
        index = raw_get(registry, unique_repo, referrers_tag(subject))
        assert index.status_code == 200
        assert index.headers["Content-Type"] == INDEX
        entries = index.json()["manifests"]
        assert {e["digest"]: e["artifactType"] for e in entries} == {
            sig["digest"]: "application/vnd.example.sig",
            sbom["digest"]: "application/vnd.example.sbom",
        }
        assert [e.get("annotations") for e in entries if e["digest"] == sig["digest"]] == [
            {"k": "v"}
        ]
    # The referrer manifest itself: image-spec 1.1, subject = the image.
    manifest = raw_get(registry, unique_repo, sig["digest"]).json()
    assert manifest["subject"]["digest"] == subject
    assert manifest["artifactType"] == "application/vnd.example.sig"
    assert manifest["config"] == EMPTY


def test_superseded_index_is_deleted_and_a_deleted_referrer_leaves_the_index(
    client, registry, unique_repo, image
):
    subject = _subject_digest(client, image)
    tag = referrers_tag(subject)
    first = client.attach(image, "a/one")
    if not has_api(registry):
        first_index = raw_get(registry, unique_repo, tag).headers["Docker-Content-Digest"]
    second = client.attach(image, "a/two")
    if not has_api(registry):
        assert raw_get(registry, unique_repo, first_index).status_code == 404  # collected
    repository = client.repository(image, push=True)
    repository.delete(Descriptor(MANIFEST, second["digest"], second["size"]))
    if not has_api(registry):
        entries = raw_get(registry, unique_repo, tag).json()["manifests"]
        assert [e["digest"] for e in entries] == [first["digest"]]
    assert [d["digest"] for d in client.get_referrers(image)] == [first["digest"]]


def test_a_referrer_written_by_raw_http_as_the_spec_says_is_found(
    client, registry, unique_repo, image
):
    subject = raw_get(registry, unique_repo, "v1")
    subject_desc = {
        "mediaType": MANIFEST,
        "digest": subject.headers["Docker-Content-Digest"],
        "size": len(subject.content),
    }
    raw_put_empty_blob(registry, unique_repo)
    referrer = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": "application/vnd.example.raw",
        "config": EMPTY,
        "layers": [EMPTY],
        "subject": subject_desc,
        "annotations": {"written": "by hand"},
    }
    digest = raw_put_manifest(registry, unique_repo, "referrer-by-hand", referrer)
    size = len(json.dumps(referrer).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [
            {
                "mediaType": MANIFEST,
                "digest": digest,
                "size": size,
                "artifactType": "application/vnd.example.raw",
                "annotations": {"written": "by hand"},
            }
        ],
    }
    raw_put_manifest(registry, unique_repo, "sha256-" + subject_desc["digest"].split(":")[1], index)
    found = client.get_referrers(image)
    assert found == [
        {
            "mediaType": MANIFEST,
            "size": size,
            "digest": digest,
            "artifactType": "application/vnd.example.raw",
            "annotations": {"written": "by hand"},
        }
    ]


def test_an_index_entry_whose_manifest_names_another_subject_is_not_listed(
    client, registry, unique_repo, image, tmp_path
):
    (tmp_path / "b.txt").write_text("other\n")
    other_ref = f"{registry.host}/{unique_repo}:other"
    client.push(target=other_ref, files=["b.txt"])
    unrelated = client.attach(other_ref, "a/unrelated")  # its subject is `other`
    plain = raw_get(registry, unique_repo, "other")  # no subject at all
    subject = _subject_digest(client, image)
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [
            {"mediaType": MANIFEST, "digest": unrelated["digest"], "size": unrelated["size"]},
            {
                "mediaType": MANIFEST,
                "digest": plain.headers["Docker-Content-Digest"],
                "size": len(plain.content),
            },
        ],
    }
    raw_put_manifest(registry, unique_repo, referrers_tag(subject), index)
    assert client.get_referrers(image) == []
    assert [d["digest"] for d in client.get_referrers(other_ref)] == [unrelated["digest"]]


def test_a_tag_answered_with_the_subject_itself_means_no_referrers(
    client, registry, unique_repo, image
):
    """GitLab resolves `sha256-<hex>` as a digest: the 'index' is the subject manifest."""
    subject = raw_get(registry, unique_repo, "v1")
    digest = subject.headers["Docker-Content-Digest"]
    requests.put(
        _url(registry, unique_repo, "manifests", referrers_tag(digest)),
        data=subject.content,
        headers={"Content-Type": MANIFEST},
        timeout=30,
    ).raise_for_status()
    assert client.get_referrers(image) == []


def test_concurrent_attaches_all_survive(client, image):
    types = [f"application/vnd.example.t{i}" for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        attached = list(pool.map(lambda t: client.attach(image, t), types))
    found = client.get_referrers(image)
    assert sorted(d["digest"] for d in found) == sorted(d["digest"] for d in attached)


def test_distribution_spec_forces_the_way(client, registry, unique_repo, image):
    attached = client.attach(image, "a/b", distribution_spec="v1.1-referrers-tag")
    listed = client.get_referrers(image, distribution_spec="v1.1-referrers-tag")
    assert [d["digest"] for d in listed] == [attached["digest"]]
    # Forced, the tag schema is written even where the registry has the API.
    assert raw_get(registry, unique_repo, referrers_tag(listed[0]["digest"])).status_code == 404
    subject = _subject_digest(client, image)
    assert raw_get(registry, unique_repo, referrers_tag(subject)).status_code == 200
    if has_api(registry):
        by_api = client.get_referrers(image, distribution_spec="v1.1-referrers-api")
        assert [d["digest"] for d in by_api] == [attached["digest"]]
    else:
        with pytest.raises(NotFoundError, match="has no referrers API"):
            client.get_referrers(image, distribution_spec="v1.1-referrers-api")
    with pytest.raises(ValueError, match="unknown distribution spec"):
        client.get_referrers(image, distribution_spec="v2")


def test_oras_py_push_with_a_subject_joins_the_index(client, registry, unique_repo, image):
    import oras.oci

    subject = raw_get(registry, unique_repo, "v1")
    manifest = subject.json()
    client.push(
        target=f"{registry.host}/{unique_repo}:sig",
        files=["a.txt"],
        subject=oras.oci.Subject.from_manifest(manifest),
    )
    found = client.get_referrers(image)
    assert [d["digest"] for d in found] == [raw_get(registry, unique_repo, "sig").headers[
        "Docker-Content-Digest"
    ]]  # fmt: skip


def _referrer_bytes(subject: Descriptor, artifact_type: str) -> tuple[Descriptor, bytes]:
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "artifactType": artifact_type,
            "config": EMPTY,
            "layers": [EMPTY],
            "subject": subject.identity().to_dict(),
        }
    ).encode()
    return Descriptor(MANIFEST, digest_bytes(body), len(body)), body


@pytest.mark.parametrize("kind", ["memory", "layout"])
def test_memory_and_layout_stores_answer_referrers(kind: str, tmp_path: Path):
    store: Any = MemoryStore() if kind == "memory" else LayoutStore(tmp_path / "layout")
    store.push(Descriptor(EMPTY["mediaType"], EMPTY["digest"], 2), io.BytesIO(b"{}"))
    image_body = json.dumps(
        {"schemaVersion": 2, "mediaType": MANIFEST, "config": EMPTY, "layers": []}
    ).encode()
    image = Descriptor(MANIFEST, digest_bytes(image_body), len(image_body))
    store.push(image, io.BytesIO(image_body))
    store.tag(image, "v1")
    sig, sig_body = _referrer_bytes(image, "a/sig")
    store.push(sig, io.BytesIO(sig_body))
    found = find_referrers(store, image)
    assert [(d.digest, d.artifact_type) for d in found] == [(sig.digest, "a/sig")]
    assert find_referrers(store, image, "a/other") == []
    if kind == "layout":
        index = json.loads((tmp_path / "layout" / "index.json").read_text())
        untagged = [e for e in index["manifests"] if "annotations" not in e]
        assert untagged == [
            {"mediaType": MANIFEST, "size": sig.size, "digest": sig.digest, "artifactType": "a/sig"}
        ]
        reopened = LayoutStore(tmp_path / "layout", read_only=True)
        assert [d.digest for d in find_referrers(reopened, image)] == [sig.digest]


def test_referrers_api_pages_are_all_followed(tmp_path, monkeypatch):
    """A registry that lists referrers a page at a time (`Link: rel="next"`): every page is
    read, the artifact-type filter travels with each one."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("paged\n")
    with TestRegistry(referrers_page_size=2) as paged:
        client = Registry(hostname=paged.host, insecure=True)
        image = f"{paged.host}/paged:v1"
        client.push(target=image, files=["a.txt"])
        kinds = ["x/sig", "x/sbom", "x/sig", "x/sig", "x/sbom"]
        attached = [
            client.attach(image, kind, manifest_annotations={"n": str(i)})
            for i, kind in enumerate(kinds)
        ]
        pages: list[str] = []
        send = client.do_request

        def counting(url: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
            if "/referrers/" in url:
                pages.append(url)
            return send(url, method, *args, **kwargs)

        monkeypatch.setattr(client, "do_request", counting)
        listed = client.get_referrers(image)
        assert sorted(d["digest"] for d in listed) == sorted(d["digest"] for d in attached)
        assert len(pages) == 3  # 2 + 2 + 1
        pages.clear()
        sigs = client.get_referrers(image, artifact_type="x/sig")
        assert sorted(d["digest"] for d in sigs) == sorted(
            d["digest"] for d in attached if d["artifactType"] == "x/sig"
        )
        assert len(pages) == 2 and all("artifactType=x%2Fsig" in url for url in pages)
