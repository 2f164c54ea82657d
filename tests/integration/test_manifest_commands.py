"""`manifest fetch`, `fetch-config`, `push`, `delete` and `manifest index create`/`update`
against a real Distribution registry: outputs parsed field by field, every error path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.harness.pty import answer_on_pty
from tests.integration.test_blob_commands import UNSUPPORTED, run_bytes

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_image(oras_cli, ref: str, tmp_path: Path, platform: dict, name: str = "f.txt") -> str:
    """An image whose config names `platform`, pushed with `blob push` and `manifest push`;
    returns its manifest digest."""
    repo = ref.rsplit(":", 1)[0]
    config = json.dumps(platform).encode()
    layer = f"layer of {platform}\n".encode()
    for data, file in ((config, "config.json"), (layer, name)):
        (tmp_path / file).write_bytes(data)
        done = oras_cli("blob", "push", repo, file)
        assert done.returncode == 0, done.stderr
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": sha256(layer),
                "size": len(layer),
                "annotations": {"org.opencontainers.image.title": name},
            }
        ],
    }
    body = json.dumps(manifest, indent=1).encode()
    (tmp_path / "manifest.json").write_bytes(body)
    done = oras_cli("manifest", "push", ref, "manifest.json")
    assert done.returncode == 0, done.stderr
    return sha256(body)


def test_manifest_push_with_tags_and_by_digest(oras_cli, registry, unique_repo, tmp_path):
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": EMPTY, "digest": sha256(b"{}"), "size": 2},
            "layers": [{"mediaType": EMPTY, "digest": sha256(b"{}"), "size": 2}],
        }
    ).encode()
    (tmp_path / "m.json").write_bytes(body)
    (tmp_path / "e").write_bytes(b"{}")
    assert oras_cli("blob", "push", registry.ref(unique_repo), "e").returncode == 0
    digest, short = sha256(body), sha256(body)[7:19]
    ref = registry.ref(unique_repo, "v1,v2,v3")
    done = oras_cli("manifest", "push", ref, "m.json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        f"Uploading {short} {MANIFEST}",
        f"Uploaded  {short} {MANIFEST}",
        f"Pushed: [registry] {registry.ref(unique_repo, 'v1')}",
    ]
    assert sorted(lines[3:5]) == ["Tagged v2", "Tagged v3"]
    assert lines[5:] == [f"Digest: {digest}"]
    for tag in ("v1", "v2", "v3"):
        fetched = run_bytes("manifest", "fetch", registry.ref(unique_repo, tag))
        assert fetched.stdout == body  # the bytes as pushed
    again = oras_cli(
        "manifest", "push", f"{registry.ref(unique_repo)}@{digest}", "-", input=body.decode()
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == f"Exists    {short} {MANIFEST}"
    desc = oras_cli("manifest", "push", "--descriptor", registry.ref(unique_repo), "m.json")
    assert json.loads(desc.stdout) == {"mediaType": MANIFEST, "digest": digest, "size": len(body)}


def test_manifest_push_errors(oras_cli, registry, unique_repo, tmp_path):
    ref = registry.ref(unique_repo, "v1")
    (tmp_path / "untyped.json").write_text('{"schemaVersion": 2}')
    untyped = oras_cli("manifest", "push", ref, "untyped.json")
    assert untyped.returncode == 1
    assert untyped.stderr.startswith("Error: the manifest has no mediaType (")
    assert "--media-type" in untyped.stderr
    wrong = oras_cli(
        "manifest", "push", f"{registry.ref(unique_repo)}@{sha256(b'x')}", "untyped.json",
        "--media-type", MANIFEST,
    )  # fmt: skip
    assert wrong.returncode == 1 and "not the sha256:" in wrong.stderr
    (tmp_path / "bad.json").write_text(json.dumps({"schemaVersion": 2, "mediaType": MANIFEST}))
    refused = oras_cli("manifest", "push", ref, "bad.json")
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: ") and "HTTP 400" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    assert oras_cli("manifest", "push", ref, "nope.json").returncode == 2


def test_manifest_fetch_text_descriptor_file_and_json(oras_cli, registry, unique_repo, tmp_path):
    ref = registry.ref(unique_repo, "v1")
    digest = push_image(oras_cli, ref, tmp_path, {"os": "linux", "architecture": "amd64"})
    body = (tmp_path / "manifest.json").read_bytes()
    raw = run_bytes("manifest", "fetch", ref)
    assert raw.returncode == 0 and raw.stdout == body
    pretty = oras_cli("manifest", "show", "--pretty", ref)
    assert json.loads(pretty.stdout) == json.loads(body) and pretty.stdout.endswith("}\n")
    desc = oras_cli("manifest", "get", "--descriptor", ref)
    assert json.loads(desc.stdout) == {"mediaType": MANIFEST, "digest": digest, "size": len(body)}
    out = tmp_path / "out.json"
    to_file = oras_cli("manifest", "fetch", "-o", str(out), ref)
    assert to_file.stdout == "" and out.read_bytes() == body
    as_json = oras_cli("manifest", "fetch", "--format", "json", ref)
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document == {
        "reference": f"{registry.host}/{unique_repo}@{digest}",
        "mediaType": MANIFEST,
        "digest": digest,
        "size": len(body),
        "content": json.loads(body),
    }
    accepted = oras_cli("manifest", "fetch", "--media-type", f"{INDEX},{MANIFEST}", ref)
    assert accepted.returncode == 0
    refused = oras_cli("manifest", "fetch", "--media-type", INDEX, ref)
    assert refused.returncode == 1 and refused.stderr.startswith("Error: ")


def test_manifest_fetch_errors(oras_cli, registry, unique_repo, tmp_path):
    ref = registry.ref(unique_repo, "v1")
    push_image(oras_cli, ref, tmp_path, {"os": "linux", "architecture": "amd64"})
    missing = oras_cli("manifest", "fetch", registry.ref(unique_repo, "nope"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: ") and "nope" in missing.stderr
    assert len(missing.stderr.splitlines()) == 1
    wrong = oras_cli("manifest", "fetch", f"{registry.ref(unique_repo)}@{sha256(b'no')}")
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    no_ref = oras_cli("manifest", "fetch", registry.ref(unique_repo))
    assert no_ref.returncode == 2 and "no tag or digest" in no_ref.stderr
    for flags in (["--format", "json", "-o", "-"], ["--descriptor", "-o", "-"],
                  ["--format", "json", "--pretty"], ["--format", "json", "--descriptor"],
                  ["--format", "go-template={{.digest}}"]):  # fmt: skip
        bad = oras_cli("manifest", "fetch", *flags, ref)
        assert bad.returncode == 2, flags
        assert bad.stderr.startswith("Error: ") and bad.stdout == ""


def test_manifest_fetch_config_and_platforms_of_an_index(oras_cli, registry, unique_repo, tmp_path):
    amd = {"os": "linux", "architecture": "amd64"}
    arm = {"os": "linux", "architecture": "arm64", "variant": "v8"}
    amd_digest = push_image(oras_cli, registry.ref(unique_repo, "amd"), tmp_path, amd)
    arm_digest = push_image(oras_cli, registry.ref(unique_repo, "arm"), tmp_path, arm, "g.txt")
    config = oras_cli("manifest", "fetch-config", registry.ref(unique_repo, "arm"))
    assert config.returncode == 0, config.stderr
    assert json.loads(config.stdout) == arm
    config_desc = oras_cli(
        "manifest", "get-config", "--descriptor", registry.ref(unique_repo, "arm")
    )
    assert json.loads(config_desc.stdout)["digest"] == sha256(json.dumps(arm).encode())

    created = oras_cli(
        "manifest", "index", "create", registry.ref(unique_repo, "multi"), "amd", f"@{arm_digest}"
    )
    assert created.returncode == 0, created.stderr
    index_body = run_bytes("manifest", "fetch", registry.ref(unique_repo, "multi")).stdout
    lines = created.stdout.splitlines()
    assert lines == [
        "Fetching  amd",
        f"Fetched   {amd_digest} amd",
        f"Fetching  {arm_digest}",
        f"Fetched   {arm_digest}",
        f"Packed    {sha256(index_body)[7:19]} {INDEX}",
        f"Pushed    [registry] {registry.ref(unique_repo, 'multi')}",
        f"Digest: {sha256(index_body)}",
    ]
    index = json.loads(index_body)
    assert index["mediaType"] == INDEX and index["schemaVersion"] == 2
    assert [m["digest"] for m in index["manifests"]] == [amd_digest, arm_digest]
    assert [m["platform"] for m in index["manifests"]] == [
        amd,
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
    ]

    picked = run_bytes(
        "manifest", "fetch", "--platform", "linux/arm64", registry.ref(unique_repo, "multi")
    )
    assert sha256(picked.stdout) == arm_digest
    picked_desc = oras_cli(
        "manifest",
        "fetch",
        "--descriptor",
        "--platform",
        "linux/amd64",
        registry.ref(unique_repo, "multi"),
    )
    assert json.loads(picked_desc.stdout)["digest"] == amd_digest
    none = oras_cli(
        "manifest", "fetch", "--platform", "windows/amd64", registry.ref(unique_repo, "multi")
    )
    assert none.returncode == 1 and "linux/amd64, linux/arm64/v8" in none.stderr
    config_of = oras_cli(
        "manifest", "fetch-config", "--platform", "linux/amd64", registry.ref(unique_repo, "multi")
    )
    assert json.loads(config_of.stdout) == amd
    no_config = oras_cli("manifest", "fetch-config", registry.ref(unique_repo, "multi"))
    assert no_config.returncode == 1
    assert "is not an image manifest and does not have a config" in no_config.stderr


def test_manifest_index_create_options_and_errors(oras_cli, registry, unique_repo, tmp_path):
    amd = {"os": "linux", "architecture": "amd64"}
    digest = push_image(oras_cli, registry.ref(unique_repo, "v1"), tmp_path, amd)
    out = oras_cli(
        "manifest", "index", "pack", "--artifact-type", "application/x.idx",
        "-a", "k=v", "-o", "-", registry.ref(unique_repo, "never"), "v1",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    index = json.loads(out.stdout)
    assert list(index) == ["schemaVersion", "mediaType", "artifactType", "manifests", "annotations"]
    assert index["artifactType"] == "application/x.idx" and index["annotations"] == {"k": "v"}
    assert index["manifests"] == [
        {
            "mediaType": MANIFEST,
            "digest": digest,
            "size": index["manifests"][0]["size"],
            "platform": amd,
        }
    ]
    assert oras_cli("manifest", "fetch", registry.ref(unique_repo, "never")).returncode == 1
    written = tmp_path / "index.json"
    to_file = oras_cli(
        "manifest", "index", "create", "-o", str(written), registry.ref(unique_repo, "x"), "v1"
    )
    assert to_file.returncode == 0
    assert to_file.stdout.splitlines()[-1] == f"Digest: {sha256(written.read_bytes())}"
    missing = oras_cli("manifest", "index", "create", registry.ref(unique_repo, "y"), "nope")
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: could not find the manifest nope: ")
    (tmp_path / "b").write_bytes(b"blob")
    assert oras_cli("blob", "push", registry.ref(unique_repo), "b").returncode == 0
    bad_type = oras_cli(
        "manifest",
        "index",
        "create",
        "--artifact-type",
        "nope",
        registry.ref(unique_repo, "y"),
        "v1",
    )
    assert bad_type.returncode == 1 and "invalid media type" in bad_type.stderr


def test_manifest_index_update(oras_cli, registry, unique_repo, tmp_path):
    amd = {"os": "linux", "architecture": "amd64"}
    arm = {"os": "linux", "architecture": "arm64"}
    amd_digest = push_image(oras_cli, registry.ref(unique_repo, "amd"), tmp_path, amd)
    arm_digest = push_image(oras_cli, registry.ref(unique_repo, "arm"), tmp_path, arm, "g.txt")
    assert (
        oras_cli("manifest", "index", "create", registry.ref(unique_repo, "i1"), "amd").returncode
        == 0
    )
    assert (
        oras_cli("manifest", "index", "create", registry.ref(unique_repo, "i2"), "arm").returncode
        == 0
    )
    i1 = sha256(run_bytes("manifest", "fetch", registry.ref(unique_repo, "i1")).stdout)
    i2 = sha256(run_bytes("manifest", "fetch", registry.ref(unique_repo, "i2")).stdout)

    nothing = oras_cli("manifest", "index", "update", registry.ref(unique_repo, "i1"))
    assert nothing.stdout == "Nothing to update as no change is requested\n"
    done = oras_cli(
        "manifest", "index", "update", registry.ref(unique_repo, "i1"),
        "--remove", amd_digest, "--add", "arm", "--merge", "i2", "--artifact-type", "application/x.t",
        "--tag", "extra",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    updated = run_bytes("manifest", "fetch", registry.ref(unique_repo, "i1")).stdout
    new = sha256(updated)
    assert done.stdout.splitlines() == [
        "Fetching  i1",
        f"Fetched   {i1} i1",
        f"Removed   {amd_digest}",
        "Fetching  arm",
        f"Fetched   {arm_digest} arm",
        f"Added     {arm_digest} arm",
        "Fetching  i2",
        f"Fetched   {i2} i2",
        f"Merged    {i2} i2",
        f"Updated   {new}",
        f"Pushed    [registry] {registry.ref(unique_repo, 'i1')}",
        "Tagged extra",
        f"Digest: {new}",
    ]
    index = json.loads(updated)
    assert index["artifactType"] == "application/x.t"
    assert [m["digest"] for m in index["manifests"]] == [arm_digest, arm_digest]
    assert run_bytes("manifest", "fetch", registry.ref(unique_repo, "extra")).stdout == updated

    by_digest = oras_cli(
        "manifest", "index", "update", f"{registry.ref(unique_repo)}@{new}", "--add", "amd"
    )
    assert by_digest.returncode == 0, by_digest.stderr
    assert f"Pushed    [registry] {registry.host}/{unique_repo}" in by_digest.stdout.splitlines()

    not_there = oras_cli(
        "manifest", "index", "update", registry.ref(unique_repo, "i2"), "--remove", amd_digest
    )
    assert not_there.returncode == 1
    assert not_there.stderr == f"Error: {amd_digest} does not exist in the index i2\n"
    not_digest = oras_cli(
        "manifest", "index", "update", registry.ref(unique_repo, "i2"), "--remove", "amd"
    )
    assert not_digest.returncode == 2 and "remove: amd is not a digest" in not_digest.stderr
    not_index = oras_cli(
        "manifest", "index", "update", registry.ref(unique_repo, "amd"), "--add", "arm"
    )
    assert not_index.returncode == 1 and "amd is not an index" in not_index.stderr
    both = oras_cli(
        "manifest",
        "index",
        "update",
        registry.ref(unique_repo, "i2"),
        "--add",
        "amd",
        "--tag",
        "t",
        "-o",
        "-",
    )
    assert both.returncode == 2


def test_manifest_delete_prompt_force_missing_and_refusal(
    oras_cli, registry, fault_proxy, unique_repo, tmp_path
):
    ref = registry.ref(unique_repo, "v1")
    digest = push_image(oras_cli, ref, tmp_path, {"os": "linux", "architecture": "amd64"})
    question = (
        f'Are you sure you want to delete the manifest "{digest}" and all tags associated with '
        "it? [y/N] "
    )
    piped = oras_cli("manifest", "delete", ref, input="no\n")
    assert piped.returncode == 0
    assert piped.stdout == f"{question}Operation cancelled.\n"
    status, shown = answer_on_pty(["manifest", "delete", ref], "n", tmp_path)
    assert status == 0 and question in shown and "Operation cancelled." in shown

    fault_proxy.fail(
        "DELETE",
        rf"^/v2/{unique_repo}/manifests/{digest}$",
        405,
        headers={"Content-Type": "application/json"},
        body=UNSUPPORTED,
    )
    refused = oras_cli("manifest", "delete", "-f", f"{fault_proxy.host}/{unique_repo}:v1")
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        f"Error: failed to delete {fault_proxy.host}/{unique_repo}:v1: "
    )
    assert "UNSUPPORTED" in refused.stderr

    status, shown = answer_on_pty(["manifest", "rm", ref], "y", tmp_path)
    assert status == 0 and f"Deleted [registry] {ref}" in shown
    gone = oras_cli("manifest", "fetch", ref)
    assert gone.returncode == 1
    missing = oras_cli("manifest", "delete", "--force", ref)
    assert missing.returncode == 0 and missing.stdout == f"Missing {ref}\n"
    not_found = oras_cli("manifest", "delete", ref)
    assert not_found.returncode == 1
    assert not_found.stderr == f"Error: {ref}: the specified manifest does not exist\n"
    assert oras_cli("manifest", "delete", "--descriptor", ref).returncode == 2


def test_manifest_delete_descriptor_and_layout_push(oras_cli, registry, unique_repo, tmp_path):
    ref = registry.ref(unique_repo, "v1")
    digest = push_image(oras_cli, ref, tmp_path, {"os": "linux", "architecture": "amd64"})
    done = oras_cli("manifest", "delete", "-f", "--descriptor", "--pretty", ref)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "mediaType": MANIFEST,
        "digest": digest,
        "size": len((tmp_path / "manifest.json").read_bytes()),
    }
    layout = tmp_path / "layout"
    (tmp_path / "e").write_bytes(b"{}")
    assert oras_cli("blob", "push", "--oci-layout", str(layout), "e").returncode == 0
    body = json.dumps(
        {"schemaVersion": 2, "mediaType": MANIFEST,
         "config": {"mediaType": EMPTY, "digest": sha256(b"{}"), "size": 2}, "layers": []}
    )  # fmt: skip
    pushed = oras_cli("manifest", "push", "--oci-layout", f"{layout}:t1,t2", "-", input=body)
    assert pushed.returncode == 0, pushed.stderr
    assert f"Pushed: [oci-layout] {layout}:t1" in pushed.stdout.splitlines()
    fetched = run_bytes("manifest", "fetch", "--oci-layout", f"{layout}:t2")
    assert fetched.stdout == body.encode()
