"""The shipped test registry (oras.testing) answered with raw HTTP: every API, its status codes,
headers and error codes; auth modes; persistence; the pytest fixture and the command line."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import requests

from oras.testing import TestRegistry
from oras.testing.auth import password_check
from tests.conftest import PROJECT_ROOT

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = b"{}"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def reg() -> Iterator[TestRegistry]:
    with TestRegistry() as registry:
        yield registry


@pytest.fixture
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


def codes(response: requests.Response) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


def push_blob(http: requests.Session, reg: TestRegistry, repo: str, data: bytes) -> str:
    digest = sha256(data)
    started = http.post(f"{reg.url}/v2/{repo}/blobs/uploads/")
    assert started.status_code == 202, started.text
    put = http.put(started.headers["Location"], params={"digest": digest}, data=data)
    assert put.status_code == 201, put.text
    return digest


def manifest_bytes(
    config: str = sha256(EMPTY),
    layers: tuple[tuple[str, int], ...] = (),
    subject: Optional[dict[str, Any]] = None,
    artifact_type: Optional[str] = None,
    annotations: Optional[dict[str, str]] = None,
) -> bytes:
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
        "layers": [
            {"mediaType": "application/octet-stream", "digest": d, "size": s} for d, s in layers
        ],
    }
    if artifact_type:
        manifest["artifactType"] = artifact_type
    if subject:
        manifest["subject"] = subject
    if annotations:
        manifest["annotations"] = annotations
    return json.dumps(manifest).encode()


def put_manifest(
    http: requests.Session, reg: TestRegistry, repo: str, ref: str, data: bytes, **kw: Any
) -> requests.Response:
    headers = {"Content-Type": kw.pop("media_type", OCI_MANIFEST)}
    return http.put(f"{reg.url}/v2/{repo}/manifests/{ref}", data=data, headers=headers, **kw)


def push_image(http: requests.Session, reg: TestRegistry, repo: str, tag: str, **kw: Any) -> str:
    push_blob(http, reg, repo, EMPTY)
    data = manifest_bytes(**kw)
    response = put_manifest(http, reg, repo, tag, data)
    assert response.status_code == 201, response.text
    return sha256(data)


# -- base, errors --------------------------------------------------------------------------------


def test_ping_and_unknown_routes(reg: TestRegistry, http: requests.Session) -> None:
    ping = http.get(f"{reg.url}/v2/")
    assert ping.status_code == 200
    assert ping.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert http.get(f"{reg.url}/nothing").status_code == 404
    bad = http.get(f"{reg.url}/v2/Upper/Case/tags/list")
    assert bad.status_code == 400 and codes(bad) == ["NAME_INVALID"]
    unknown = http.get(f"{reg.url}/v2/no/such/tags/list")
    assert unknown.status_code == 404 and codes(unknown) == ["NAME_UNKNOWN"]
    wrong_method = http.post(f"{reg.url}/v2/a/tags/list")
    assert wrong_method.status_code == 405 and codes(wrong_method) == ["UNSUPPORTED"]


# -- uploads ---------------------------------------------------------------------------------------


def test_monolithic_uploads(reg: TestRegistry, http: requests.Session) -> None:
    data = b"monolithic" * 100
    digest = sha256(data)
    # POST then PUT
    assert push_blob(http, reg, "r/one", data) == digest
    # single POST
    single = http.post(f"{reg.url}/v2/r/two/blobs/uploads/", params={"digest": digest}, data=data)
    assert single.status_code == 201
    assert single.headers["Docker-Content-Digest"] == digest
    assert single.headers["Location"].endswith(f"/v2/r/two/blobs/{digest}")
    # digest verified
    wrong = http.post(f"{reg.url}/v2/r/two/blobs/uploads/", params={"digest": digest}, data=b"x")
    assert wrong.status_code == 400 and codes(wrong) == ["DIGEST_INVALID"]
    malformed = http.post(f"{reg.url}/v2/r/two/blobs/uploads/", params={"digest": "sha256:zz"})
    assert malformed.status_code == 400 and codes(malformed) == ["DIGEST_INVALID"]
    # sha512 is computed on commit
    digest512 = "sha512:" + hashlib.sha512(data).hexdigest()
    started = http.post(f"{reg.url}/v2/r/three/blobs/uploads/")
    put = http.put(started.headers["Location"], params={"digest": digest512}, data=data)
    assert put.status_code == 201
    assert http.get(f"{reg.url}/v2/r/three/blobs/{digest512}").content == data


def test_chunked_upload_with_out_of_order_chunk(reg: TestRegistry, http: requests.Session) -> None:
    data = os.urandom(3000)
    started = http.post(f"{reg.url}/v2/r/chunks/blobs/uploads/")
    assert started.status_code == 202
    assert started.headers["Range"] == "0-0"
    location = started.headers["Location"]
    first = http.patch(location, data=data[:1000], headers={"Content-Range": "0-999"})
    assert first.status_code == 202
    assert first.headers["Range"] == "0-999"
    location = first.headers["Location"]
    # a chunk that does not follow byte 999
    skipped = http.patch(location, data=data[2000:], headers={"Content-Range": "2000-2999"})
    assert skipped.status_code == 416
    assert codes(skipped) == ["BLOB_UPLOAD_INVALID"]
    assert skipped.headers["Range"] == "0-999"
    # recover from the status
    status = http.get(location)
    assert status.status_code == 204
    assert status.headers["Range"] == "0-999"
    assert status.headers["Docker-Upload-UUID"]
    second = http.patch(
        status.headers["Location"], data=data[1000:2000], headers={"Content-Range": "1000-1999"}
    )
    assert second.status_code == 202 and second.headers["Range"] == "0-1999"
    # the last chunk goes with the closing PUT
    done = http.put(
        second.headers["Location"],
        params={"digest": sha256(data)},
        data=data[2000:],
        headers={"Content-Range": "2000-2999"},
    )
    assert done.status_code == 201, done.text
    assert http.get(f"{reg.url}/v2/r/chunks/blobs/{sha256(data)}").content == data


def test_streamed_upload_and_chunk_min_length(http: requests.Session) -> None:
    with TestRegistry(chunk_min_length=4096) as reg:
        started = http.post(f"{reg.url}/v2/r/stream/blobs/uploads/")
        assert started.headers["OCI-Chunk-Min-Length"] == "4096"
        parts = [b"a" * 5000, b"b" * 5000, b"c" * 10]
        # Transfer-Encoding: chunked, no Content-Range: a streamed upload
        patched = http.patch(started.headers["Location"], data=iter(parts))
        assert patched.status_code == 202 and patched.headers["Range"] == "0-10009"
        data = b"".join(parts)
        done = http.put(patched.headers["Location"], params={"digest": sha256(data)})
        assert done.status_code == 201
        assert http.head(f"{reg.url}/v2/r/stream/blobs/{sha256(data)}").headers[
            "Content-Length"
        ] == str(len(data))


def test_upload_cancel_and_unknown(reg: TestRegistry, http: requests.Session) -> None:
    started = http.post(f"{reg.url}/v2/r/cancel/blobs/uploads/")
    location = started.headers["Location"]
    assert http.delete(location).status_code == 204
    gone = http.get(location)
    assert gone.status_code == 404 and codes(gone) == ["BLOB_UPLOAD_UNKNOWN"]
    patch = http.patch(location, data=b"x")
    assert patch.status_code == 404 and codes(patch) == ["BLOB_UPLOAD_UNKNOWN"]
    # a session belongs to its repository
    other = http.post(f"{reg.url}/v2/r/a/blobs/uploads/").headers["Location"]
    assert http.get(other.replace("/r/a/", "/r/b/")).status_code == 404
    no_digest = http.put(other)
    assert no_digest.status_code == 400 and codes(no_digest) == ["DIGEST_INVALID"]


def test_cross_repository_mount(reg: TestRegistry, http: requests.Session) -> None:
    digest = push_blob(http, reg, "src/repo", b"shared layer")
    mounted = http.post(
        f"{reg.url}/v2/dst/repo/blobs/uploads/", params={"mount": digest, "from": "src/repo"}
    )
    assert mounted.status_code == 201
    assert mounted.headers["Docker-Content-Digest"] == digest
    assert http.get(f"{reg.url}/v2/dst/repo/blobs/{digest}").content == b"shared layer"
    # the source lacks it: an ordinary session instead
    missing = sha256(b"nowhere")
    session = http.post(
        f"{reg.url}/v2/dst/other/blobs/uploads/", params={"mount": missing, "from": "src/repo"}
    )
    assert session.status_code == 202 and "Location" in session.headers
    # another repository does not see a blob it was never given
    assert http.head(f"{reg.url}/v2/third/repo/blobs/{digest}").status_code == 404


# -- blobs -----------------------------------------------------------------------------------------


def test_blob_reads_ranges_and_delete(reg: TestRegistry, http: requests.Session) -> None:
    data = bytes(range(256)) * 4
    digest = push_blob(http, reg, "r/blobs", data)
    url = f"{reg.url}/v2/r/blobs/blobs/{digest}"
    head = http.head(url)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(data))
    assert head.headers["Docker-Content-Digest"] == digest
    assert head.headers["Accept-Ranges"] == "bytes"
    part = http.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    tail = http.get(url, headers={"Range": "bytes=1000-"})
    assert tail.status_code == 206 and tail.content == data[1000:]
    suffix = http.get(url, headers={"Range": "bytes=-5"})
    assert suffix.content == data[-5:]
    beyond = http.get(url, headers={"Range": "bytes=5000-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(data)}"
    assert http.delete(url).status_code == 202
    missing = http.get(url)
    assert missing.status_code == 404 and codes(missing) == ["BLOB_UNKNOWN"]
    assert http.delete(url).status_code == 404
    bad = http.get(f"{reg.url}/v2/r/blobs/blobs/sha256:1234")
    assert bad.status_code == 400 and codes(bad) == ["DIGEST_INVALID"]


def test_deletes_can_be_disabled(http: requests.Session) -> None:
    with TestRegistry(delete=False) as reg:
        digest = push_image(http, reg, "r/keep", "v1")
        for url in (
            f"{reg.url}/v2/r/keep/manifests/{digest}",
            f"{reg.url}/v2/r/keep/blobs/{sha256(EMPTY)}",
        ):
            refused = http.delete(url)
            assert refused.status_code == 405 and codes(refused) == ["UNSUPPORTED"]
        assert http.get(f"{reg.url}/v2/r/keep/manifests/v1").status_code == 200


# -- manifests -------------------------------------------------------------------------------------


def test_manifest_put_get_head_delete(reg: TestRegistry, http: requests.Session) -> None:
    layer = push_blob(http, reg, "r/m", b"layer")
    push_blob(http, reg, "r/m", EMPTY)
    data = manifest_bytes(layers=((layer, 5),))
    digest = sha256(data)
    put = put_manifest(http, reg, "r/m", "v1", data)
    assert put.status_code == 201
    assert put.headers["Docker-Content-Digest"] == digest
    assert put.headers["Location"].endswith(f"/v2/r/m/manifests/{digest}")
    assert "OCI-Subject" not in put.headers
    for ref in ("v1", digest):
        got = http.get(f"{reg.url}/v2/r/m/manifests/{ref}")
        assert got.status_code == 200 and got.content == data
        assert got.headers["Content-Type"] == OCI_MANIFEST
        assert got.headers["Docker-Content-Digest"] == digest
        head = http.head(f"{reg.url}/v2/r/m/manifests/{ref}")
        assert head.headers["Content-Length"] == str(len(data))
    # by digest: stored untagged
    other = manifest_bytes(annotations={"a": "b"})
    assert put_manifest(http, reg, "r/m", sha256(other), other).status_code == 201
    mismatch = put_manifest(http, reg, "r/m", sha256(b"x"), other)
    assert mismatch.status_code == 400 and codes(mismatch) == ["DIGEST_INVALID"]
    assert http.get(f"{reg.url}/v2/r/m/tags/list").json()["tags"] == ["v1"]
    # delete by digest removes its tags
    put_manifest(http, reg, "r/m", "v2", data)
    assert http.delete(f"{reg.url}/v2/r/m/manifests/{digest}").status_code == 202
    for ref in ("v1", "v2", digest):
        gone = http.get(f"{reg.url}/v2/r/m/manifests/{ref}")
        assert gone.status_code == 404 and codes(gone) == ["MANIFEST_UNKNOWN"]
    assert http.get(f"{reg.url}/v2/r/m/tags/list").json()["tags"] == []


def test_manifest_validation(reg: TestRegistry, http: requests.Session) -> None:
    not_json = put_manifest(http, reg, "r/v", "t", b"{nope")
    assert not_json.status_code == 400 and codes(not_json) == ["MANIFEST_INVALID"]
    # config and layers must be in the repository (as Distribution checks)
    dangling = put_manifest(http, reg, "r/v", "t", manifest_bytes(layers=((sha256(b"?"), 1),)))
    assert dangling.status_code == 400 and codes(dangling) == ["MANIFEST_BLOB_UNKNOWN"]
    push_blob(http, reg, "r/v", EMPTY)
    wrong_type = put_manifest(http, reg, "r/v", "t", manifest_bytes(), media_type=OCI_INDEX)
    assert wrong_type.status_code == 400 and codes(wrong_type) == ["MANIFEST_INVALID"]
    # an index needs its children
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    index["manifests"] = [{"mediaType": OCI_MANIFEST, "digest": sha256(b"child"), "size": 5}]
    orphan = put_manifest(http, reg, "r/v", "i", json.dumps(index).encode(), media_type=OCI_INDEX)
    assert orphan.status_code == 400 and codes(orphan) == ["MANIFEST_BLOB_UNKNOWN"]
    # any other media type is stored as it is and served back with it
    other = json.dumps({"hello": "world"}).encode()
    custom = "application/vnd.example.thing.v1+json"
    assert put_manifest(http, reg, "r/v", "c", other, media_type=custom).status_code == 201
    assert http.get(f"{reg.url}/v2/r/v/manifests/c").headers["Content-Type"] == custom
    too_big = put_manifest(http, reg, "r/v", "big", b" " * (4 * 1024 * 1024 + 1))
    assert too_big.status_code == 413


# -- tags and catalog -----------------------------------------------------------------------------


def test_tag_and_catalog_pagination(reg: TestRegistry, http: requests.Session) -> None:
    push_blob(http, reg, "p/a", EMPTY)
    data = manifest_bytes()
    for tag in ("t3", "t1", "t2", "t4"):
        assert put_manifest(http, reg, "p/a", tag, data).status_code == 201
    listed = http.get(f"{reg.url}/v2/p/a/tags/list")
    assert listed.json() == {"name": "p/a", "tags": ["t1", "t2", "t3", "t4"]}
    assert "Link" not in listed.headers
    page = http.get(f"{reg.url}/v2/p/a/tags/list", params={"n": 2})
    assert page.json()["tags"] == ["t1", "t2"]
    assert page.headers["Link"] == '</v2/p/a/tags/list?n=2&last=t2>; rel="next"'
    following = http.get(f"{reg.url}/v2/p/a/tags/list?n=2&last=t2")
    assert following.json()["tags"] == ["t3", "t4"] and "Link" not in following.headers
    assert http.get(f"{reg.url}/v2/p/a/tags/list?n=0").json()["tags"] == []
    assert http.get(f"{reg.url}/v2/p/a/tags/list?last=t3").json()["tags"] == ["t4"]

    for repo in ("p/b", "p/c"):
        push_blob(http, reg, repo, EMPTY)
        put_manifest(http, reg, repo, "x", data)
    catalog = http.get(f"{reg.url}/v2/_catalog", params={"n": 1})
    assert catalog.json() == {"repositories": ["p/a"]}
    assert catalog.headers["Link"] == '</v2/_catalog?n=1&last=p%2Fa>; rel="next"'
    rest = http.get(f"{reg.url}/v2/_catalog?n=5&last=p/a")
    assert rest.json() == {"repositories": ["p/b", "p/c"]}


# -- referrers -------------------------------------------------------------------------------------


def test_referrers_api_and_filter(reg: TestRegistry, http: requests.Session) -> None:
    subject_digest = push_image(http, reg, "r/ref", "v1")
    subject = {"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": 1}
    sig = manifest_bytes(subject=subject, artifact_type="application/sig", annotations={"k": "v"})
    put = put_manifest(http, reg, "r/ref", sha256(sig), sig)
    assert put.status_code == 201 and put.headers["OCI-Subject"] == subject_digest
    sbom = manifest_bytes(subject=subject, annotations={"n": "2"})  # falls back to config type
    put_manifest(http, reg, "r/ref", sha256(sbom), sbom)

    listed = http.get(f"{reg.url}/v2/r/ref/referrers/{subject_digest}")
    assert listed.status_code == 200
    assert listed.headers["Content-Type"] == OCI_INDEX
    assert "OCI-Filters-Applied" not in listed.headers
    index = listed.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == OCI_INDEX
    by_digest = {m["digest"]: m for m in index["manifests"]}
    assert by_digest[sha256(sig)] == {
        "mediaType": OCI_MANIFEST,
        "digest": sha256(sig),
        "size": len(sig),
        "artifactType": "application/sig",
        "annotations": {"k": "v"},
    }
    assert by_digest[sha256(sbom)]["artifactType"] == "application/vnd.oci.empty.v1+json"

    filtered = http.get(
        f"{reg.url}/v2/r/ref/referrers/{subject_digest}", params={"artifactType": "application/sig"}
    )
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [m["digest"] for m in filtered.json()["manifests"]] == [sha256(sig)]
    # no referrers: an empty index, never 404; a subject may be absent from the repository
    none = http.get(f"{reg.url}/v2/r/ref/referrers/{sha256(b'none')}")
    assert none.status_code == 200 and none.json()["manifests"] == []
    bad = http.get(f"{reg.url}/v2/r/ref/referrers/sha256:12")
    assert bad.status_code == 400 and codes(bad) == ["DIGEST_INVALID"]
    # deleting a referrer removes it from the list
    http.delete(f"{reg.url}/v2/r/ref/manifests/{sha256(sig)}")
    after = http.get(f"{reg.url}/v2/r/ref/referrers/{subject_digest}").json()["manifests"]
    assert [m["digest"] for m in after] == [sha256(sbom)]


def test_referrers_switched_off(http: requests.Session) -> None:
    with TestRegistry(referrers=False) as reg:
        subject_digest = push_image(http, reg, "r/old", "v1")
        subject = {"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": 1}
        sig = manifest_bytes(subject=subject, artifact_type="application/sig")
        put = put_manifest(http, reg, "r/old", sha256(sig), sig)
        assert put.status_code == 201 and "OCI-Subject" not in put.headers
        api = http.get(f"{reg.url}/v2/r/old/referrers/{subject_digest}")
        assert api.status_code == 404  # as Distribution 2.8: a plain 404 page
        assert api.headers["Content-Type"].startswith("text/plain")


# -- auth ------------------------------------------------------------------------------------------


def test_basic_auth(http: requests.Session, tmp_path: Path) -> None:
    htpasswd = tmp_path / "htpasswd"
    sha = base64.b64encode(hashlib.sha1(b"shapass").digest()).decode()
    htpasswd.write_text(f"shauser:{{SHA}}{sha}\n# comment\nplainuser:plainpass\n")
    with TestRegistry(users={"myuser": "mypass"}, htpasswd=htpasswd) as reg:
        anonymous = http.get(f"{reg.url}/v2/")
        assert anonymous.status_code == 401 and codes(anonymous) == ["UNAUTHORIZED"]
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="oras-testing"'
        assert http.get(f"{reg.url}/v2/", auth=("myuser", "wrong")).status_code == 401
        for user, password in (
            ("myuser", "mypass"),
            ("shauser", "shapass"),
            ("plainuser", "plainpass"),
        ):
            assert http.get(f"{reg.url}/v2/", auth=(user, password)).status_code == 200
        assert (reg.username, reg.password) == ("myuser", "mypass")


def test_bcrypt_htpasswd_entry() -> None:
    # What `htpasswd -nbB myuser mypass` writes (apache2-utils), checked with libcrypt or bcrypt.
    entry = "$2y$05$dMwed2p98DwTspVtO2lDC.Wgh3nHU6mboXRh/rVVy5w.dl.oUKMte"
    check = password_check(entry)
    assert check("mypass")
    assert not check("other")


def test_token_auth_scopes_and_expiry(http: requests.Session) -> None:
    permissions = {"reader": {"shared/*": "pull"}, "writer": {"*": "*"}}
    users = {"writer": "w-pass", "reader": "r-pass"}
    with TestRegistry(users=users, token=True, permissions=permissions, token_lifetime=1) as reg:
        challenge = http.get(f"{reg.url}/v2/shared/img/tags/list")
        assert challenge.status_code == 401
        assert challenge.headers["WWW-Authenticate"] == (
            f'Bearer realm="{reg.url}/token",service="oras-testing",'
            'scope="repository:shared/img:pull"'
        )

        def token(user: str, password: str, scope: str) -> requests.Response:
            params = {"service": "oras-testing", "scope": scope}
            return http.get(f"{reg.url}/token", params=params, auth=(user, password))

        assert token("writer", "nope", "repository:shared/img:pull").status_code == 401
        issued = token("writer", "w-pass", "repository:shared/img:pull,push").json()
        assert issued["expires_in"] == 1 and issued["token"] == issued["access_token"]
        bearer = {"Authorization": f"Bearer {issued['token']}"}
        push_started = http.post(f"{reg.url}/v2/shared/img/blobs/uploads/", headers=bearer)
        assert push_started.status_code == 202

        # the reader asks for push and gets only pull
        limited = token("reader", "r-pass", "repository:shared/img:pull,push").json()
        assert limited["scope"] == "repository:shared/img:pull"
        reader = {"Authorization": f"Bearer {limited['token']}"}
        assert http.get(f"{reg.url}/v2/", headers=reader).status_code == 200
        denied = http.post(f"{reg.url}/v2/shared/img/blobs/uploads/", headers=reader)
        assert denied.status_code == 401
        assert 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]
        other_repo = token("reader", "r-pass", "repository:private/img:pull").json()
        assert other_repo["scope"] == ""

        # the OAuth2 POST flow, with a refresh token
        posted = http.post(
            f"{reg.url}/token",
            data={
                "grant_type": "password",
                "username": "writer",
                "password": "w-pass",
                "service": "oras-testing",
                "client_id": "test",
                "access_type": "offline",
                "scope": "repository:shared/img:pull",
            },
        ).json()
        refreshed = http.post(
            f"{reg.url}/token",
            data={"grant_type": "refresh_token", "refresh_token": posted["refresh_token"]},
        )
        assert refreshed.status_code == 200 and refreshed.json()["access_token"]

        time.sleep(1.2)
        expired = http.get(f"{reg.url}/v2/", headers=bearer)
        assert expired.status_code == 401
        assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


def test_oras_client_against_token_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import oras.client

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("token mode")
    with TestRegistry(users={"u": "p"}, token=True) as reg:
        client = oras.client.OrasClient(hostname=reg.host, insecure=True)
        client.login(username="u", password="p", hostname=reg.host, insecure=True)
        client.push(target=reg.ref("t/r", "v1"), files=["a.txt"])
        (tmp_path / "a.txt").unlink()
        pulled = client.pull(target=reg.ref("t/r", "v1"), outdir=str(tmp_path / "out"))
        assert Path(pulled[0]).read_text() == "token mode"


# -- storage -------------------------------------------------------------------------------------


def test_directory_storage_survives_a_restart(tmp_path: Path, http: requests.Session) -> None:
    storage = tmp_path / "storage"
    with TestRegistry(storage) as reg:
        digest = push_image(http, reg, "keep/me", "v1")
        layer = push_blob(http, reg, "keep/me", b"kept" * 1000)
        port = reg.port
        http.post(f"{reg.url}/v2/keep/me/blobs/uploads/")  # dropped on restart
    assert (storage / "blobs" / "sha256" / layer.split(":")[1]).read_bytes() == b"kept" * 1000
    with TestRegistry(storage, port=port) as again:
        assert again.port == port
        assert (
            http.get(f"{again.url}/v2/keep/me/manifests/v1").headers["Docker-Content-Digest"]
            == digest
        )
        assert http.get(f"{again.url}/v2/keep/me/blobs/{layer}").content == b"kept" * 1000
        assert http.get(f"{again.url}/v2/_catalog").json() == {"repositories": ["keep/me"]}
        assert list((storage / "uploads").iterdir()) == []


def test_concurrent_uploads(reg: TestRegistry) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> str:
        with requests.Session() as session:
            session.trust_env = False
            return push_blob(session, reg, f"c/r{i % 3}", os.urandom(200_000))

    with ThreadPoolExecutor(8) as pool:
        digests = list(pool.map(one, range(24)))
    assert len(set(digests)) == 24


# -- the fixture and the command line ------------------------------------------------------------


def test_pytest_fixture_from_the_entry_point(tmp_path: Path) -> None:
    # A project of its own: the fixture comes from the installed package's pytest11 entry point.
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import requests

            EMPTY = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

            def test_uses_it(oci_registry):
                assert oci_registry.host.startswith("127.0.0.1:")
                assert requests.get(oci_registry.url + "/v2/").status_code == 200
                url = oci_registry.url + "/v2/a/b/blobs/uploads/?digest=" + EMPTY
                assert requests.post(url, data=b"{}").status_code == 201

            def test_fresh_each_time(oci_registry):
                url = oci_registry.url + "/v2/a/b/blobs/" + EMPTY
                assert requests.head(url).status_code == 404
            """
        )
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_command_line(tmp_path: Path, http: requests.Session) -> None:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "oras.testing", "--port", "0", "--storage", str(tmp_path / "s")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("oras test registry listening on http://127.0.0.1:"), line
        url = line.split()[-1]
        assert http.get(f"{url}/v2/").status_code == 200
        digest = push_blob(http, _Url(url), "cli/repo", b"from the command line")
        assert (tmp_path / "s" / "blobs" / "sha256" / digest.split(":")[1]).exists()
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "Traceback" not in err


class _Url:
    def __init__(self, url: str) -> None:
        self.url = url


def test_command_line_refuses_bad_options() -> None:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "oras.testing", "--user", "no-colon"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
