"""`repo ls` and `repo tags` against a real Distribution registry: every page, `--last`, the
namespace filter, `--exclude-digest-tags`, text and JSON output."""

from __future__ import annotations

import json
import secrets

import pytest

import oras.remote.repository
from oras.provider import Registry


def push_tags(oras_cli, ref_base: str, tmp_path, *tags: str) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    done = oras_cli("push", f"{ref_base}:{','.join(tags)}", "a.txt")
    assert done.returncode == 0, done.stderr


def test_repo_tags_text_json_last_and_digest_tags(oras_cli, registry, unique_repo, tmp_path):
    ref = registry.ref(unique_repo)
    digest_tag = "sha256-" + "ab" * 32
    push_tags(oras_cli, ref, tmp_path, "v1", "v2", "latest", digest_tag, "sha256-notadigest")
    done = oras_cli("repo", "tags", ref)
    assert done.returncode == 0, done.stderr
    every = sorted(["v1", "v2", "latest", digest_tag, "sha256-notadigest"])
    shown = done.stdout.splitlines()  # in the registry's order
    assert sorted(shown) == every
    as_json = oras_cli("repo", "show-tags", "--format", "json", ref)
    assert json.loads(as_json.stdout) == {"tags": shown}
    after = oras_cli("repo", "tags", "--last", "sha256-notadigest", ref)
    assert sorted(after.stdout.splitlines()) == [t for t in every if t > "sha256-notadigest"]
    without = oras_cli("repo", "tags", "--exclude-digest-tags", ref)
    assert without.stdout.splitlines() == [t for t in shown if t != digest_tag]


def test_repo_tags_of_one_manifest_and_errors(oras_cli, registry, unique_repo, tmp_path):
    ref = registry.ref(unique_repo)
    push_tags(oras_cli, ref, tmp_path, "v1", "v2")
    (tmp_path / "b.txt").write_text("b\n")
    assert oras_cli("push", f"{ref}:other", "b.txt").returncode == 0
    same = oras_cli("repo", "tags", f"{ref}:v1")
    assert same.returncode == 0, same.stderr
    assert sorted(same.stdout.splitlines()) == ["v1", "v2"]
    assert "[Experimental] querying tags associated to sha256:" in same.stderr
    missing = oras_cli("repo", "tags", registry.ref(f"{unique_repo}-none"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: ") and "NAME_UNKNOWN" in missing.stderr
    template = oras_cli("repo", "tags", "--format", "go-template={{.}}", ref)
    assert template.returncode == 2 and "--format json" in template.stderr


def test_repo_ls_registry_namespace_last_and_json(oras_cli, registry, tmp_path):
    space = f"ls-{secrets.token_hex(3)}"
    names = [f"{space}/a", f"{space}/b/c", f"{space}/d"]
    for name in names:
        push_tags(oras_cli, registry.ref(name), tmp_path, "v1")
    everything = oras_cli("repo", "ls", registry.host)
    assert everything.returncode == 0, everything.stderr
    listed = everything.stdout.splitlines()
    assert [n for n in listed if n.startswith(f"{space}/")] == names
    scoped = oras_cli("repo", "list", f"{registry.host}/{space}")
    assert scoped.stdout.splitlines() == ["a", "b/c", "d"]
    after = oras_cli("repo", "ls", "--last", f"{space}/a", f"{registry.host}/{space}/")
    assert after.stdout.splitlines() == ["b/c", "d"]
    as_json = oras_cli("repository", "ls", "--format", "json", f"{registry.host}/{space}")
    assert json.loads(as_json.stdout) == {"registry": registry.host, "repositories": names}
    tagged = oras_cli("repo", "ls", f"{registry.host}/{space}:v1")
    assert tagged.returncode == 2 and "tags or digests should not be provided" in tagged.stderr


def test_listings_follow_every_page(registry, monkeypatch: pytest.MonkeyPatch):
    """Catalog pages of two names: the registry sends a `Link` to each next page."""
    client = Registry(hostname=registry.host, insecure=True)
    whole = client.get_catalog()
    assert len(whole) > 2
    monkeypatch.setattr(oras.remote.repository, "TAGS_PAGE_SIZE", 2)
    assert client.get_catalog() == whole
    assert client.get_catalog(last=whole[0]) == whole[1:]


def test_tags_after_last_even_where_the_registry_ignores_it(
    oras_cli, registry, unique_repo, tmp_path
):
    """Distribution 2.8 ignores `last` (and `n`) on tag lists: the tags are filtered here."""
    tags = [f"t{i}" for i in range(5)]
    push_tags(oras_cli, registry.ref(unique_repo), tmp_path, *tags)
    client = Registry(hostname=registry.host, insecure=True)
    assert sorted(client.list_tags(registry.ref(unique_repo))) == tags
    assert sorted(client.list_tags(registry.ref(unique_repo), last="t2")) == ["t3", "t4"]
    assert client.get_tags(registry.ref(unique_repo)) == client.list_tags(registry.ref(unique_repo))
