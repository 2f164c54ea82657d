"""`attach`, `discover`, `cp -r`, `backup --include-referrers`, `restore --exclude-referrers`
and `pull --include-subject` (issue 11, item 3), end to end through the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oras.descriptor import Descriptor
from oras.provider import Registry
from oras.referrers import referrers_tag
from oras.testing import TestRegistry

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SIG = "application/vnd.example.sig"
SBOM = "application/vnd.example.sbom"


def has_api(registry: Any) -> bool:
    """Registries of the referrers API (the tag schema otherwise: Distribution 2.8)."""
    return isinstance(registry, TestRegistry)


def ok(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return result


def push_image(oras_cli, ref: str, tmp_path: Path) -> str:
    (tmp_path / "a.txt").write_text("the image\n")
    ok(oras_cli("push", ref, "a.txt"))
    return ok(oras_cli("resolve", ref)).stdout.strip()


def attach(oras_cli, ref: str, artifact_type: str, *extra: str) -> dict[str, Any]:
    done = ok(oras_cli("attach", ref, "--artifact-type", artifact_type, *extra, "--format", "json"))
    return json.loads(done.stdout)


def discover_json(oras_cli, ref: str, *extra: str) -> dict[str, Any]:
    return json.loads(ok(oras_cli("discover", ref, "--format", "json", *extra)).stdout)


@pytest.fixture
def graph(oras_cli, registry, unique_repo, tmp_path):
    """An image with two referrers (a signature with a file and an annotation, an empty
    SBOM) and a referrer of the signature."""
    ref = registry.ref(unique_repo, "v1")
    digest = push_image(oras_cli, ref, tmp_path)
    (tmp_path / "sig.txt").write_text("signed\n")
    text = ok(oras_cli("attach", ref, "--artifact-type", SIG, "-a", "k=v", "sig.txt"))
    lines = text.stdout.splitlines()
    assert lines[0] == f"Attached to [registry] {ref}"
    sig_digest = lines[1].removeprefix("Digest: ")
    assert sig_digest.startswith("sha256:") and len(lines) == 2
    sbom = attach(oras_cli, ref, SBOM)
    on_sig = attach(oras_cli, f"{registry.host}/{unique_repo}@{sig_digest}", "application/vnd.x")
    return {"ref": ref, "digest": digest, "sig": sig_digest, "sbom": sbom, "on_sig": on_sig}


def test_attach_json_is_the_referrer_descriptor(oras_cli, registry, unique_repo, graph):
    sbom = graph["sbom"]
    assert sbom["reference"] == f"{registry.host}/{unique_repo}@{sbom['digest']}"
    assert sbom["mediaType"] == MANIFEST and sbom["artifactType"] == SBOM
    assert "org.opencontainers.image.created" in sbom["annotations"]


def test_discover_tree_groups_by_artifact_type(oras_cli, registry, unique_repo, graph):
    out = ok(oras_cli("discover", graph["ref"])).stdout.splitlines()
    assert out[0] == f"{registry.host}/{unique_repo}@{graph['digest']}"
    assert f"├── {SBOM}" in out or f"└── {SBOM}" in out
    assert any(line.endswith(graph["sig"]) for line in out)
    sig_at = next(i for i, line in enumerate(out) if line.endswith(graph["sig"]))
    below = out[sig_at + 1 :]
    assert any(line.strip("│ ").startswith("├── [annotations]") for line in below[:1])
    assert any(line.strip("│ ").startswith("└── k: v") or "── k: v" in line for line in below)
    assert any(line.endswith(graph["on_sig"]["digest"]) for line in below)  # depth 2
    shallow = ok(oras_cli("discover", graph["ref"], "--depth", "1")).stdout
    assert graph["on_sig"]["digest"] not in shallow and graph["sig"] in shallow


def test_discover_json_and_filters(oras_cli, registry, unique_repo, graph):
    root = discover_json(oras_cli, graph["ref"])
    assert root["reference"] == f"{registry.host}/{unique_repo}@{graph['digest']}"
    assert root["digest"] == graph["digest"] and root["mediaType"] == MANIFEST
    kinds = {r["digest"]: r for r in root["referrers"]}
    assert set(kinds) == {graph["sig"], graph["sbom"]["digest"]}
    sig = kinds[graph["sig"]]
    assert sig["artifactType"] == SIG and sig["annotations"]["k"] == "v"
    assert [r["digest"] for r in sig["referrers"]] == [graph["on_sig"]["digest"]]
    assert kinds[graph["sbom"]["digest"]]["referrers"] == []
    only = discover_json(oras_cli, graph["ref"], "--artifact-type", SBOM)
    assert [r["digest"] for r in only["referrers"]] == [graph["sbom"]["digest"]]
    shallow = discover_json(oras_cli, graph["ref"], "--depth", "1")
    assert all(r["referrers"] == [] for r in shallow["referrers"])


def test_deleting_a_referrer_updates_what_discover_shows(oras_cli, registry, unique_repo, graph):
    client = Registry(hostname=registry.host, insecure=True)
    repository = client.repository(graph["ref"], push=True)
    sbom = graph["sbom"]
    repository.delete(Descriptor(MANIFEST, sbom["digest"], sbom["size"]))
    root = discover_json(oras_cli, graph["ref"])
    assert [r["digest"] for r in root["referrers"]] == [graph["sig"]]


def test_manifest_delete_of_a_referrer_keeps_the_index_in_step(
    oras_cli, registry, unique_repo, graph
):
    sbom = graph["sbom"]["reference"]
    done = ok(oras_cli("manifest", "delete", "-f", sbom))
    assert done.stdout.splitlines() == [f"Deleted [registry] {sbom}"]
    root = discover_json(oras_cli, graph["ref"])
    assert [r["digest"] for r in root["referrers"]] == [graph["sig"]]
    if not has_api(registry):  # the tag-schema index lost the entry too
        tag = referrers_tag(graph["digest"])
        index = ok(oras_cli("manifest", "fetch", f"{registry.host}/{unique_repo}:{tag}"))
        assert [m["digest"] for m in json.loads(index.stdout)["manifests"]] == [graph["sig"]]


def test_cp_recursive_copies_the_whole_graph(
    oras_cli, registry, second_registry, unique_repo, graph
):
    dst = second_registry.ref(unique_repo, "copied")
    done = ok(oras_cli("cp", "-r", graph["ref"], dst))
    assert done.stdout.splitlines()[-1] == f"Digest: {graph['digest']}"
    there = discover_json(oras_cli, dst)
    here = discover_json(oras_cli, graph["ref"])

    def shape(node: dict[str, Any]) -> Any:
        return sorted((r["digest"], shape(r)) for r in node["referrers"])

    assert shape(there) == shape(here) and len(there["referrers"]) == 2
    # Without a referrers API the copy wrote the tag-schema index there; with one, no tag.
    client = Registry(hostname=second_registry.host, insecure=True)
    tags = client.get_tags(f"{second_registry.host}/{unique_repo}")
    assert (referrers_tag(graph["digest"]) in tags) is not has_api(second_registry)
    plain = ok(oras_cli("cp", graph["ref"], second_registry.ref(unique_repo + "-plain", "v1")))
    assert plain.returncode == 0
    alone = discover_json(oras_cli, second_registry.ref(unique_repo + "-plain", "v1"))
    assert alone["referrers"] == []


def test_backup_with_referrers_and_restore_with_and_without(
    oras_cli, registry, second_registry, unique_repo, graph, tmp_path
):
    layout = tmp_path / "backup"
    ok(oras_cli("backup", "-o", str(layout), "--include-referrers", graph["ref"]))
    index = json.loads((layout / "index.json").read_text())
    untagged = {e["digest"] for e in index["manifests"] if "annotations" not in e}
    assert untagged == {graph["sig"], graph["sbom"]["digest"], graph["on_sig"]["digest"]}
    layout_tree = discover_json(oras_cli, "--oci-layout", f"{layout}:v1")
    assert len(layout_tree["referrers"]) == 2

    with_refs = second_registry.ref(unique_repo + "-with", "v1")
    ok(oras_cli("restore", "--input", str(layout), with_refs))
    restored = discover_json(oras_cli, with_refs)
    assert {r["digest"] for r in restored["referrers"]} == {graph["sig"], graph["sbom"]["digest"]}

    without = second_registry.ref(unique_repo + "-without", "v1")
    ok(oras_cli("restore", "--input", str(layout), "--exclude-referrers", without))
    assert discover_json(oras_cli, without)["referrers"] == []


def test_pull_include_subject_pulls_the_subject_files_too(oras_cli, registry, graph, tmp_path):
    out = tmp_path / "out"
    sig_ref = graph["ref"].rsplit(":", 1)[0] + "@" + graph["sig"]
    ok(oras_cli("pull", sig_ref, "-o", str(out), "--include-subject"))
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "sig.txt"]
    alone = tmp_path / "alone"
    ok(oras_cli("pull", sig_ref, "-o", str(alone)))
    assert sorted(p.name for p in alone.iterdir()) == ["sig.txt"]


def test_attach_refuses_bad_input_in_one_line(oras_cli, registry, unique_repo, graph):
    missing = oras_cli("attach", graph["ref"], "sig.txt")
    assert missing.returncode == 2 and "--artifact-type" in missing.stderr
    nowhere = oras_cli("attach", registry.ref(unique_repo, "nope"), "--artifact-type", "a/b")
    assert nowhere.returncode == 1
    assert nowhere.stderr.startswith("Error: ") and len(nowhere.stderr.splitlines()) == 1
    forced = oras_cli("discover", graph["ref"], "--distribution-spec", "v1.1-referrers-api")
    if has_api(registry):
        assert forced.returncode == 0, forced.stderr
    else:
        assert forced.returncode == 1 and "has no referrers API" in forced.stderr
