"""The remote flags every registry command shares with Go `oras`: `-H/--header` (to the
registry's own origin only), `--resolve` (another address, the same name), `-v` (deprecated)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.conftest import CliRunner
from tests.harness.certs import CertPaths
from tests.harness.proxy import FaultProxy
from tests.harness.recorder import RecordingHandler, RecordingServer
from tests.harness.registry import RegistryServer
from tests.harness.tokenserver import TokenServer

TRACE = ("X-Trace-Id", "abc-123")


def _has_trace(headers: Any) -> bool:
    items = headers.items() if hasattr(headers, "items") else headers
    return any(k.lower() == TRACE[0].lower() and v == TRACE[1] for k, v in items)


def test_header_reaches_the_registry_not_the_token_service(
    oras_cli: CliRunner,
    token_registry: RegistryServer,
    token_server: TokenServer,
    unique_repo: str,
    tmp_path: Path,
) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    with FaultProxy(token_registry.url) as front:
        ref = f"{front.host}/{unique_repo}:v1"
        auth = ["-u", "myuser", "--password-stdin"]
        flags = ["-H", f"{TRACE[0]}: {TRACE[1]}", "--header", "X-Second:  two "]
        pushed = oras_cli("push", *flags, *auth, ref, "a.txt", input="mypass")
        assert pushed.returncode == 0, pushed.stderr
        pulled = oras_cli("pull", *flags, *auth, "-o", "out", ref, input="mypass")
        assert pulled.returncode == 0, pulled.stderr
        seen = front.log()
    assert (tmp_path / "out" / "a.txt").read_text() == "a\n"
    assert {r.method for r in seen} >= {"GET", "HEAD", "POST", "PUT"}
    assert all(_has_trace(r.headers) for r in seen), [r.path for r in seen]
    assert {r.header("X-Second") for r in seen} == {"two"}
    assert token_server.requests, "the token service was never asked"
    assert not any(_has_trace(r.headers) for r in token_server.requests)
    assert not any("x-second" in {k.lower() for k in r.headers} for r in token_server.requests)


# -- a registry whose blob downloads redirect to storage on another port -------------------------

BLOB = b"blob behind a redirect\n"
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
EMPTY = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY, "size": 2},
        "layers": [
            {
                "mediaType": "text/plain",
                "digest": DIGEST,
                "size": len(BLOB),
                "annotations": {"org.opencontainers.image.title": "blob.txt"},
            }
        ],
    }
).encode()


class _Storage(RecordingHandler):
    def handle_get(self) -> None:
        self.reply(200, BLOB, Content_Type="application/octet-stream")


class _RedirectingRegistry(RecordingHandler):
    """Serves MANIFEST; its blob GETs redirect to the storage host."""

    def handle_get(self) -> None:
        if "/manifests/" in self.path:
            self.reply(
                200,
                MANIFEST,
                Content_Type="application/vnd.oci.image.manifest.v1+json",
                Docker_Content_Digest="sha256:" + hashlib.sha256(MANIFEST).hexdigest(),
            )
        elif "/blobs/" in self.path:
            location = f"http://{self.server.settings['storage']}/storage/{DIGEST}"
            self.reply(307, Location=location)
        else:
            self.reply(200, b"{}", Docker_Distribution_API_Version="registry/2.0")


def test_header_is_not_sent_to_a_redirect_target(oras_cli: CliRunner, tmp_path: Path) -> None:
    storage = RecordingServer(_Storage)
    registry = RecordingServer(_RedirectingRegistry, storage=storage.host)
    try:
        ref = f"{registry.host}/team/app:v1"
        pulled = oras_cli("pull", "--plain-http", "-H", f"{TRACE[0]}:{TRACE[1]}", "-o", "o", ref)
        assert pulled.returncode == 0, pulled.stderr
        assert (tmp_path / "o" / "blob.txt").read_bytes() == BLOB
        blob_requests = [r for r in registry.seen if "/blobs/" in r["path"]]
        assert blob_requests and all(_has_trace(r) for r in blob_requests)
        assert all(_has_trace(r) for r in registry.seen)
        assert storage.seen, "the download never reached the storage host"
        assert not any(_has_trace(r) for r in storage.seen)
    finally:
        registry.stop()
        storage.stop()


def test_malformed_header_and_resolve_are_usage_errors(oras_cli: CliRunner) -> None:
    for flags in (
        ["-H", "no colon here"],
        ["-H", ": empty name"],
        ["-H", "bad name: x"],
        ["--resolve", "made.up:5000"],
        ["--resolve", "made.up:5000:not-an-ip"],
        ["--resolve", "made.up:port:127.0.0.1"],
    ):
        result = oras_cli("resolve", *flags, "made.up:5000/x/y:v1")
        assert result.returncode == 2, (flags, result.stderr)
        assert result.stderr.startswith("Error: invalid "), result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert len([line for line in result.stderr.splitlines() if "Error" in line]) == 1


# -- --resolve --------------------------------------------------------------------------------


def test_resolve_reaches_a_plain_registry_under_a_made_up_name(
    oras_cli: CliRunner, registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("resolved\n")
    with FaultProxy(registry.url) as front:
        rule = f"made.up:5000:127.0.0.1:{front.port}"
        ref = f"made.up:5000/{unique_repo}:v1"
        pushed = oras_cli("push", "--plain-http", "--resolve", rule, ref, "a.txt")
        assert pushed.returncode == 0, pushed.stderr
        assert pushed.stdout == f"Successfully pushed {ref}\n"
        pulled = oras_cli("pull", "--resolve", rule, "--plain-http", "-o", "out", ref)
        assert pulled.returncode == 0, pulled.stderr
        seen = front.log()
    assert (tmp_path / "out" / "a.txt").read_text() == "resolved\n"
    assert seen and {r.header("Host") for r in seen} == {"made.up:5000"}
    # without the rule the name means nothing
    lost = oras_cli("resolve", "--plain-http", "--timeout", "5", ref)
    assert lost.returncode == 1 and lost.stderr.startswith("Error: ")


def test_resolve_keeps_the_name_for_tls(
    oras_cli: CliRunner,
    tls_registry: RegistryServer,
    certs: CertPaths,
    unique_repo: str,
    tmp_path: Path,
) -> None:
    (tmp_path / "a.txt").write_text("tls\n")
    auth = ["-u", "myuser", "--password-stdin", "--ca-file", str(certs.ca_cert)]
    # The certificate names localhost: reached on port 1, which nothing listens on, but for
    # the rule; the certificate is checked against the name.
    rule = f"localhost:1:127.0.0.1:{tls_registry.port}"
    ref = f"localhost:1/{unique_repo}:v1"
    pushed = oras_cli("push", "--resolve", rule, *auth, ref, "a.txt", input="mypass")
    assert pushed.returncode == 0, pushed.stderr
    resolved = oras_cli("resolve", "--resolve", rule, *auth, ref, input="mypass")
    assert resolved.returncode == 0 and resolved.stdout.startswith("sha256:"), resolved.stderr
    # A name the certificate does not carry fails the check, as it would without the rule.
    other = f"made.up:443:127.0.0.1:{tls_registry.port}"
    wrong = oras_cli(
        "resolve", "--resolve", other, *auth, f"made.up/{unique_repo}:v1", input="mypass"
    )
    assert wrong.returncode == 1 and "TLS failure" in wrong.stderr, wrong.stderr
    skipped = oras_cli(
        "resolve",
        "--resolve",
        other,
        "--skip-tls-verify",
        "-u",
        "myuser",
        "--password-stdin",
        f"made.up/{unique_repo}:v1",
        input="mypass",
    )
    assert skipped.stdout == resolved.stdout, skipped.stderr


def test_cp_takes_resolve_for_both_sides_and_prefixed_headers(
    oras_cli: CliRunner,
    registry: RegistryServer,
    second_registry: RegistryServer,
    unique_repo: str,
    tmp_path: Path,
) -> None:
    (tmp_path / "a.txt").write_text("copied\n")
    src = registry.ref(unique_repo, "v1")
    assert oras_cli("push", src, "a.txt").returncode == 0
    with FaultProxy(second_registry.url) as front:
        copied = oras_cli(
            "cp",
            "--resolve",
            f"dest.example:80:127.0.0.1:{front.port}",
            "--to-plain-http",
            "--to-header",
            f"{TRACE[0]}: {TRACE[1]}",
            src,
            f"dest.example:80/{unique_repo}:v2",
        )
        assert copied.returncode == 0, copied.stderr
        seen = front.log()
    assert seen and all(_has_trace(r.headers) for r in seen), [
        (r.method, r.path, r.header("Host")) for r in seen if not _has_trace(r.headers)
    ]
    assert {r.header("Host") for r in seen} == {"dest.example"}


def test_verbose_is_accepted_as_deprecated(
    oras_cli: CliRunner, registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("v\n")
    ref = registry.ref(unique_repo, "v1")
    assert oras_cli("push", "-v", ref, "a.txt").returncode == 0
    result = oras_cli("resolve", "--verbose", ref)
    assert result.returncode == 0 and result.stdout.startswith("sha256:")
    assert "Flag --verbose has been deprecated" in result.stderr
    assert "-v" not in oras_cli("resolve", "--help").stdout.split()


def test_registry_header_skips_a_foreign_upload_location(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, monkeypatch: Any
) -> None:
    import oras.client

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("elsewhere\n")
    with FaultProxy(registry.url) as front, FaultProxy(registry.url) as foreign:
        client = oras.client.OrasClient(insecure=True)
        client.set_registry_header(*TRACE)
        # Distribution builds upload Locations from X-Forwarded-Host: on the other port.
        client.headers["X-Forwarded-Host"] = foreign.host
        client.push(files=["a.txt"], target=f"{front.host}/{unique_repo}:v1")
        uploads, ours = foreign.log(), front.log()
    assert {r.method for r in uploads} >= {"PUT"}, "the uploads did not go to the other origin"
    assert not any(_has_trace(r.headers) for r in uploads)
    assert ours and all(_has_trace(r.headers) for r in ours)
