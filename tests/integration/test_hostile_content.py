"""Oversized and lying content: manifests over the cap (honest, lying or endless answers),
bytes that do not match the digest asked for or the `Docker-Content-Digest` sent, and blobs
that keep streaming past their descriptor's size. Library and CLI, against the hostile
registry (`tests/harness/hostile.py`): every case ends in a one-line typed error within a
bounded time, having read at most the cap (plus one read), with nothing left on disk."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import oras.client
import oras.descriptor
import oras.operations
from oras.errors import DigestMismatchError, OrasError, ProtocolError
from tests.harness.hostile import HostileRegistry, send, send_chunked, serve

#: Generous wall-clock bound of one hostile case (a registry that never stops sending
#: would otherwise hang the call for ever).
BOUND = 20.0
LAYER = b"hello hostile world\n" * 50
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"


#: Where an "endless" body ends after all: a client that fails to stop reading fails its
#: test by this much, instead of taking the machine's memory.
SAFETY_STOP = 256 * 1024 * 1024


class Endless:
    """An endless body of `chunk`-sized pieces that counts what it handed out (it does end,
    at SAFETY_STOP, far past every limit under test)."""

    def __init__(self, chunk: bytes = b" " * 65536) -> None:
        self.chunk = chunk
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < SAFETY_STOP:
            self.sent += len(self.chunk)
            yield self.chunk


def _one_line_error(result: Any) -> str:
    """The CLI's one `Error: ...` line (progress lines may come before it)."""
    assert result.returncode != 0, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return errors[0]


def _leftovers(directory: Path) -> list[str]:
    """Every file under `directory` but a layout's metadata and its verified blobs (a failed
    transfer must leave no partial, temporary or unverified file)."""
    if not directory.exists():
        return []
    found = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        name = str(path.relative_to(directory))
        if path.name in ("oci-layout", "index.json"):
            continue
        if path.parent.name == "sha256" and path.parent.parent.name == "blobs":
            if hashlib.sha256(path.read_bytes()).hexdigest() == path.name:
                continue
        found.append(name)
    return found


@pytest.fixture
def reg() -> Iterator[HostileRegistry]:
    with HostileRegistry() as registry:
        yield registry


@pytest.fixture
def pushed(reg: HostileRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """An artifact pushed honestly: its reference, manifest digest and layer digest."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "layer.txt").write_bytes(LAYER)
    monkeypatch.chdir(src)
    client = oras.client.OrasClient(insecure=True)
    ref = f"{reg.host}/hostile/content:v1"
    client.push(files=["layer.txt"], target=ref)
    body, _, manifest_digest = client.remote.fetch_manifest(ref)
    monkeypatch.chdir(tmp_path)
    return {
        "ref": ref,
        "manifest": manifest_digest,
        "manifest_body": body,
        "layer": "sha256:" + hashlib.sha256(LAYER).hexdigest(),
        "config": json.loads(body)["config"]["digest"],
        "client": oras.client.OrasClient(insecure=True),
    }


def _timed(call: Callable[[], Any]) -> float:
    start = time.monotonic()
    call()
    return time.monotonic() - start


# -- manifests over the cap ------------------------------------------------------------------------
def _big_manifest(cap: int) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "pad": "x" * cap}).encode()


def _oversized(kind: str, cap: int, body_sent: Endless) -> Callable[[Any, Any], None]:
    """An action answering a manifest GET with more than `cap` bytes, `kind` of way."""
    headers = {"Content-Type": MANIFEST_TYPE}

    def action(handler: Any, match: Any) -> None:
        if kind == "honest":  # a Content-Length over the cap: refused before reading
            send(handler, 200, _big_manifest(cap), headers)
        elif kind == "says-small":  # says small, sends more
            send(handler, 200, _big_manifest(cap), headers, length=100)
        elif kind == "says-large":  # says large, sends a little and stalls on the rest
            send(handler, 200, b'{"schemaVersion": 2}', headers, length=cap * 4)
        else:  # chunked without end
            send_chunked(handler, 200, iter(body_sent), headers)

    return action


KINDS = ["honest", "says-small", "says-large", "endless-chunked"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("by", ["tag", "digest"])
def test_library_manifest_over_the_cap_is_refused(
    reg: HostileRegistry, pushed: dict, kind: str, by: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 256 * 1024
    monkeypatch.setattr(oras.descriptor, "MAX_MANIFEST_SIZE", cap)  # read when used
    body = Endless()
    reg.on("GET", r"/manifests/", _oversized(kind, cap, body))
    ref = pushed["ref"] if by == "tag" else pushed["ref"].split(":v1")[0] + "@" + pushed["manifest"]
    registry = pushed["client"].remote
    with pytest.raises((ProtocolError, DigestMismatchError)) as caught:
        assert _timed(lambda: registry.get_manifest(ref)) < BOUND
    assert "\n" not in str(caught.value)
    if kind in ("honest", "endless-chunked"):
        assert f"larger than {cap} bytes" in str(caught.value)
    # never read (so never buffered) much more than the cap: what the registry got out
    # before the client hung up is bounded by the cap plus the sockets' buffers
    assert body.sent < cap + 16 * 1024 * 1024


@pytest.mark.parametrize("kind", ["honest", "endless-chunked"])
def test_library_pull_of_an_oversized_manifest_writes_nothing(
    reg: HostileRegistry, pushed: dict, tmp_path: Path, kind: str
) -> None:
    body = Endless()
    cap = oras.descriptor.MAX_MANIFEST_SIZE
    reg.on("GET", r"/manifests/", _oversized(kind, cap, body))
    out = tmp_path / "out"
    start = time.monotonic()
    with pytest.raises(ProtocolError, match=f"larger than {cap} bytes"):
        pushed["client"].pull(target=pushed["ref"], outdir=str(out))
    assert time.monotonic() - start < BOUND
    assert _leftovers(out) == []
    assert body.sent < cap + 16 * 1024 * 1024


def test_head_resolve_with_a_size_over_the_cap_is_refused_before_any_get(
    reg: HostileRegistry, pushed: dict, oras_cli: Any, tmp_path: Path
) -> None:
    """A HEAD that declares a manifest over the cap: the GET is never sent."""
    cap = oras.descriptor.MAX_MANIFEST_SIZE

    def huge_head(handler: Any, match: Any) -> None:
        headers = {"Content-Type": MANIFEST_TYPE, "Docker-Content-Digest": pushed["manifest"]}
        send(handler, 200, b"", headers, length=cap * 2)

    reg.on("HEAD", r"/manifests/", huge_head)
    gets = len(reg.seen("GET", r"/manifests/"))  # the fixture's
    repository = pushed["client"].remote.repository(pushed["ref"])
    desc = repository.resolve("v1")
    assert desc.size == cap * 2
    with pytest.raises(ProtocolError, match="over the .* byte limit"):
        repository.fetch(desc)
    out = tmp_path / "out"
    result = oras_cli("cp", "--from-plain-http", pushed["ref"], "--to-oci-layout", f"{out}:v1")
    assert "byte limit" in _one_line_error(result)
    assert len(reg.seen("GET", r"/manifests/")) == gets
    assert _leftovers(out) == []


@pytest.mark.parametrize(
    "command,kind",
    [
        ("pull", "honest"),
        ("pull", "says-small"),
        ("manifest fetch", "endless-chunked"),
        ("manifest fetch", "says-small"),
        ("cp", "endless-chunked"),
        ("resolve", "honest"),
    ],
)
def test_cli_manifest_over_the_cap_is_one_line(
    reg: HostileRegistry, pushed: dict, oras_cli: Any, tmp_path: Path, kind: str, command: str
) -> None:
    body = Endless()
    cap = oras.descriptor.MAX_MANIFEST_SIZE
    # a HEAD without a digest makes resolve fall back to the GET
    reg.on("HEAD", r"/manifests/", lambda h, m: send(h, 200, b"", {}, length=0))
    reg.on("GET", r"/manifests/", _oversized(kind, cap, body))
    out = tmp_path / "out"
    out.mkdir()
    args = {
        "pull": ["pull", "--plain-http", pushed["ref"], "-o", str(out)],
        "manifest fetch": [
            "manifest",
            "fetch",
            "--plain-http",
            pushed["ref"],
            "-o",
            str(out / "m"),
        ],
        "cp": ["cp", "--from-plain-http", pushed["ref"], "--to-oci-layout", f"{out}/layout:v1"],
        "resolve": ["resolve", "--plain-http", pushed["ref"]],
    }[command]
    start = time.monotonic()
    result = oras_cli(*args)
    assert time.monotonic() - start < BOUND + 10
    if kind == "says-small" and command in ("manifest fetch", "resolve"):
        # the 100 bytes the registry declared are all that is read; with no digest to
        # check them against (asked by tag, no Docker-Content-Digest), as in oras-go
        assert result.returncode == 0 and _leftovers(out) in ([], ["m"])
        assert not (out / "m").exists() or (out / "m").stat().st_size == 100
        return
    line = _one_line_error(result)
    if kind != "says-small":
        assert f"larger than {cap} bytes" in line
    assert body.sent < cap + 16 * 1024 * 1024
    assert _leftovers(out) == []


def test_index_over_the_cap_is_refused(
    reg: HostileRegistry, pushed: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 64 * 1024
    monkeypatch.setattr(oras.descriptor, "MAX_MANIFEST_SIZE", cap)
    index = json.dumps({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": [
        {"mediaType": MANIFEST_TYPE, "digest": pushed["manifest"], "size": 1,
         "annotations": {"pad": "x" * cap}}]}).encode()  # fmt: skip
    reg.on("GET", r"/manifests/v1$", lambda h, m: send(h, 200, index, {"Content-Type": INDEX_TYPE}))
    with pytest.raises(ProtocolError, match=f"larger than {cap} bytes"):
        pushed["client"].pull(target=pushed["ref"], outdir=str(tmp_path / "out"))
    assert _leftovers(tmp_path / "out") == []


def test_config_over_its_cap_or_past_its_size_is_refused(
    reg: HostileRegistry, pushed: dict, oras_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = pushed["client"].remote
    # a config whose descriptor is over MAX_CONFIG_SIZE is not fetched at all
    monkeypatch.setattr(oras.operations, "MAX_CONFIG_SIZE", 1)
    with pytest.raises(ProtocolError, match="over the 1 byte limit"):
        registry.fetch_config(pushed["ref"])
    assert not reg.seen("GET", r"/blobs/")
    monkeypatch.undo()
    # a config blob that keeps coming past its descriptor's size is cut at size + 1
    body = Endless(b"{}" * 4096)
    reg.on("GET", "/blobs/" + pushed["config"], lambda h, m: send_chunked(h, 200, iter(body)))
    start = time.monotonic()
    with pytest.raises(DigestMismatchError, match="longer than"):
        registry.fetch_config(pushed["ref"])
    assert time.monotonic() - start < BOUND
    result = oras_cli("manifest", "fetch-config", "--plain-http", pushed["ref"])
    assert "longer than" in _one_line_error(result)


def test_referrers_answer_over_the_cap_is_refused(
    reg: HostileRegistry, pushed: dict, oras_cli: Any
) -> None:
    body = Endless()
    cap = oras.descriptor.MAX_MANIFEST_SIZE
    reg.on("GET", r"/referrers/", lambda h, m: send_chunked(h, 200, iter(body),
                                                            {"Content-Type": INDEX_TYPE}))  # fmt: skip
    registry = pushed["client"].remote
    start = time.monotonic()
    with pytest.raises(ProtocolError, match=f"larger than {cap} bytes"):
        registry.get_referrers(pushed["ref"])
    assert time.monotonic() - start < BOUND
    result = oras_cli("discover", "--plain-http", pushed["ref"])
    assert f"larger than {cap} bytes" in _one_line_error(result)
    assert body.sent < 2 * (cap + 16 * 1024 * 1024)


# -- bytes that do not match the digest ----------------------------------------------------------
def _with_digest_header(body: bytes, value: str) -> Callable[[Any, Any], None]:
    """The honest manifest `body`, with `Docker-Content-Digest: value`."""

    def action(handler: Any, match: Any) -> None:
        send(handler, 200, body, {"Content-Type": MANIFEST_TYPE, "Docker-Content-Digest": value})

    return action


def test_manifest_by_tag_whose_digest_header_disagrees_is_refused(
    reg: HostileRegistry, pushed: dict, oras_cli: Any, tmp_path: Path
) -> None:
    other = "sha256:" + "0" * 64
    reg.on("GET", r"/manifests/v1$", _with_digest_header(pushed["manifest_body"], other))
    reg.on("HEAD", r"/manifests/v1$", lambda h, m: send(h, 200, b"", {}, length=0))
    with pytest.raises(DigestMismatchError, match=other):
        pushed["client"].remote.fetch_manifest(pushed["ref"])
    with pytest.raises(DigestMismatchError):
        pushed["client"].pull(target=pushed["ref"], outdir=str(tmp_path / "out"))
    assert _leftovers(tmp_path / "out") == []
    for args in (["manifest", "fetch"], ["pull", "-o", str(tmp_path / "cli")]):
        result = oras_cli(*args, "--plain-http", pushed["ref"])
        assert "sha256:0000" in _one_line_error(result)
    assert _leftovers(tmp_path / "cli") == []


def test_manifest_whose_digest_header_is_garbage_is_refused(
    reg: HostileRegistry, pushed: dict
) -> None:
    reg.on(
        "GET", r"/manifests/v1$", _with_digest_header(pushed["manifest_body"], "md5:not-a-digest")
    )
    with pytest.raises(DigestMismatchError, match="md5:not-a-digest"):
        pushed["client"].remote.fetch_manifest(pushed["ref"])


def test_manifest_by_digest_with_other_bytes_is_refused(
    reg: HostileRegistry, pushed: dict, oras_cli: Any
) -> None:
    other = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE}).encode()
    reg.on("GET", r"/manifests/sha256:", lambda h, m: send(h, 200, other,
                                                           {"Content-Type": MANIFEST_TYPE}))  # fmt: skip
    ref = f"{reg.host}/hostile/content@{pushed['manifest']}"
    with pytest.raises(DigestMismatchError, match=pushed["manifest"]):
        pushed["client"].remote.fetch_manifest(ref)
    result = oras_cli("manifest", "fetch", "--plain-http", ref)
    assert "digest" in _one_line_error(result)


def test_head_resolve_by_digest_to_another_digest_is_refused(
    reg: HostileRegistry, pushed: dict, oras_cli: Any
) -> None:
    other = "sha256:" + "1" * 64

    def lying_head(handler: Any, match: Any) -> None:
        headers = {"Content-Type": MANIFEST_TYPE, "Docker-Content-Digest": other}
        send(handler, 200, b"", headers, length=len(pushed["manifest_body"]))

    reg.on("HEAD", r"/manifests/sha256:", lying_head)
    ref = f"{reg.host}/hostile/content@{pushed['manifest']}"
    with pytest.raises(DigestMismatchError, match=other):
        pushed["client"].remote.repository(ref).resolve(pushed["manifest"])
    result = oras_cli("resolve", "--plain-http", ref)
    assert other in _one_line_error(result)


# -- blobs that keep streaming past their size --------------------------------------------------
def _overrun(kind: str, body: Endless) -> Callable[[Any, Any], None]:
    """The layer's real bytes and then more: with a Content-Length that says so, or chunked
    without end."""

    def action(handler: Any, match: Any) -> None:
        def stream() -> Iterator[bytes]:
            yield LAYER
            yield from body

        if kind == "long-length":
            send(handler, 200, LAYER + b"x" * 4096, {}, length=len(LAYER) + 4096)
        else:
            send_chunked(handler, 200, stream())

    return action


OVERRUNS = ["long-length", "endless-chunked"]


@pytest.mark.parametrize("kind", OVERRUNS)
def test_library_pull_of_a_blob_past_its_size_leaves_nothing(
    reg: HostileRegistry, pushed: dict, tmp_path: Path, kind: str
) -> None:
    body = Endless()
    reg.on("GET", "/blobs/" + pushed["layer"], _overrun(kind, body))
    out = tmp_path / "out"
    start = time.monotonic()
    with pytest.raises(
        DigestMismatchError, match=f"longer than the {len(LAYER)} bytes its descriptor says"
    ):
        pushed["client"].pull(target=pushed["ref"], outdir=str(out))
    assert time.monotonic() - start < BOUND
    assert _leftovers(out) == []
    assert body.sent < 16 * 1024 * 1024


@pytest.mark.parametrize("kind", OVERRUNS)
def test_library_download_blob_past_its_size_leaves_nothing(
    reg: HostileRegistry, pushed: dict, tmp_path: Path, kind: str
) -> None:
    """The repository's own download (the path `blob fetch -o` and cp to files take) and
    the stream `fetch` returns: stopped at size + 1."""
    body = Endless()
    reg.on("GET", "/blobs/" + pushed["layer"], _overrun(kind, body))
    repository = pushed["client"].remote.repository(pushed["ref"])
    target = tmp_path / "out" / "blob"
    target.parent.mkdir()
    with pytest.raises(DigestMismatchError, match="longer than"):
        repository.download(pushed["layer"], str(target), size=len(LAYER))
    desc = oras.descriptor.Descriptor("application/octet-stream", pushed["layer"], len(LAYER))
    with pytest.raises(DigestMismatchError, match="longer than"):
        with repository.fetch(desc) as stream:
            while stream.read(65536):
                pass
    assert _leftovers(target.parent) == []


@pytest.mark.parametrize("kind", OVERRUNS)
def test_cli_blob_past_its_size_is_one_line_and_leaves_nothing(
    reg: HostileRegistry, pushed: dict, oras_cli: Any, tmp_path: Path, kind: str
) -> None:
    body = Endless()
    reg.on("GET", "/blobs/" + pushed["layer"], _overrun(kind, body))
    out = tmp_path / "out"
    out.mkdir()
    blob_ref = f"{reg.host}/hostile/content@{pushed['layer']}"
    with HostileRegistry() as destination:
        runs = {
            "pull": ["pull", "--plain-http", pushed["ref"], "-o", str(out / "pulled")],
            "blob fetch -o file": ["blob", "fetch", "--plain-http", blob_ref, "-o", str(out / "b")],
            "blob fetch -o -": ["blob", "fetch", "--plain-http", blob_ref, "-o", "-"],
            "cp to a layout": [
                "cp", "--from-plain-http", pushed["ref"], "--to-oci-layout", f"{out}/layout:v1"
            ],
            "cp to a registry": [
                "cp", "--from-plain-http", "--to-plain-http", pushed["ref"],
                f"{destination.host}/copy:v1",
            ],
        }  # fmt: skip
        for name, args in runs.items():
            if kind == "long-length" and name not in ("pull", "blob fetch -o -"):
                continue  # the same check as endless-chunked's, before any byte is read
            start = time.monotonic()
            result = oras_cli(*args)
            assert time.monotonic() - start < BOUND + 10, name
            assert "longer than" in _one_line_error(result), name
            if name == "blob fetch -o -":
                assert len(result.stdout.encode()) <= len(LAYER), name
        # the destination registry holds no manifest: the copy never finished
        assert not destination.seen("PUT", r"/manifests/")
    assert _leftovers(out) == []
    assert not list(out.rglob(pushed["layer"].split(":")[1]))
    assert body.sent < 5 * 16 * 1024 * 1024


def test_honest_registry_still_serves_everything(
    reg: HostileRegistry, pushed: dict, tmp_path: Path
) -> None:
    """The checks refuse nothing an honest registry sends (a Content-Length on every answer,
    the digest header on manifests)."""
    reg.on("GET", r"/blobs/", lambda h, m: serve(h))
    out = tmp_path / "out"
    pushed["client"].pull(target=pushed["ref"], outdir=str(out))
    assert (out / "layer.txt").read_bytes() == LAYER
    assert os.listdir(out) == ["layer.txt"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", pushed["manifest"])
    assert isinstance(ProtocolError("x"), OrasError)


@pytest.mark.parametrize("status", [400, 404])
def test_endless_error_body_is_not_read_past_its_cap(
    reg: HostileRegistry, pushed: dict, oras_cli: Any, status: int
) -> None:
    """An error answer whose body never ends: the OCI `errors` are read up to
    `oras.remote.response.MAX_ERROR_SIZE`, then dropped; the error names the status."""
    body = Endless(b'{"errors": [' + b" " * 65524)
    headers = {"Content-Type": "application/json"}
    reg.on("GET", r"/manifests/", lambda h, m: send_chunked(h, status, iter(body), headers))
    start = time.monotonic()
    with pytest.raises(OrasError, match=f"HTTP {status}"):
        pushed["client"].remote.fetch_manifest(pushed["ref"])
    assert time.monotonic() - start < BOUND
    result = oras_cli("manifest", "fetch", "--plain-http", pushed["ref"])
    assert f"HTTP {status}" in _one_line_error(result) or "not found" in result.stderr
    assert body.sent < 2 * 16 * 1024 * 1024
