"""The CLI on a terminal: what registries send cannot drive it, and interrupts leave nothing behind."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import requests

from tests.conftest import CliRunner
from tests.harness.registry import RegistryServer

#: What a terminal would obey: every C0/C1 control but the line feed ending a line.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
EVIL_TITLE = "x\x1b]0;PWNED\x07\x1b[2J\nSuccessfully pulled etc-shadow.txt"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def push_raw(registry: RegistryServer, repo: str, tag: str, files: dict[str, bytes]) -> None:
    """An artifact put together by hand (as any client or a hostile registry could), one layer
    per title, so that the titles reach the CLI unchecked."""

    def blob(data: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = requests.post(f"{registry.url}/v2/{repo}/blobs/uploads/", timeout=10)
        location = requests.compat.urljoin(registry.url, start.headers["Location"])
        sep = "&" if "?" in location else "?"
        put = requests.put(f"{location}{sep}digest={digest}", data=data, timeout=10)
        assert put.status_code == 201, put.text
        return {"digest": digest, "size": len(data)}

    config = {"mediaType": "application/vnd.oci.empty.v1+json", **blob(b"{}")}
    layers = [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            **blob(data),
            "annotations": {"org.opencontainers.image.title": title},
        }
        for title, data in files.items()
    ]
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "config": config, "layers": layers}
    put = requests.put(
        f"{registry.url}/v2/{repo}/manifests/{tag}",
        data=json.dumps(manifest),
        headers={"Content-Type": MANIFEST_TYPE},
        timeout=10,
    )
    assert put.status_code == 201, put.text


def test_titles_from_the_registry_cannot_drive_the_terminal(
    oras_cli: CliRunner, registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    push_raw(registry, unique_repo, "v1", {EVIL_TITLE: b"evil\n", "plain.txt": b"plain\n"})
    result = oras_cli("pull", f"{registry.host}/{unique_repo}:v1", "--no-tty", "-o", tmp_path)
    output = result.stdout + result.stderr
    # Refused or pulled, the title is shown escaped, never obeyed, and forges no line.
    assert not CONTROL.search(output), output
    assert not any(line.startswith("Successfully pulled etc") for line in output.splitlines())
    assert "Traceback" not in output


def test_pushed_file_names_and_errors_are_escaped(
    oras_cli: CliRunner, registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    name = "a\x1b]0;PWNED\x07.txt"
    (tmp_path / name).write_text("hello\n")
    result = oras_cli("push", f"{registry.host}/{unique_repo}:v1", name, "--no-tty")
    assert result.returncode == 0, result.stderr
    assert not CONTROL.search(result.stdout + result.stderr)
    assert "a\\x1b]0;PWNED\\x07.txt" in result.stderr  # the progress line names it, escaped

    bad = oras_cli("pull", f"{registry.host}/{unique_repo}:v1\x1b[2J\nSuccessfully pulled x")
    assert bad.returncode != 0
    assert not CONTROL.search(bad.stdout + bad.stderr)
    assert len(bad.stderr.strip().splitlines()) == 1  # one error line, not a forged second
