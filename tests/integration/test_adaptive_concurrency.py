"""The default concurrency adapts through a long link: more blobs in flight than Go's fixed
default, while an explicit concurrency stays what it says (counted at the link simulator)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import oras.client
from oras.concurrency import MAX_CONCURRENCY, PULL_CONCURRENCY, PUSH_CONCURRENCY
from tests.harness.link import LinkSimulator

LAYERS = 30
LAYER_SIZE = 256 * 1024
BLOB_GET = r"/blobs/sha256:"
#: Every blob request of a push (a worker makes one at a time: HEAD, POST, PUT).
BLOB_REQUEST = r"/blobs/"


@pytest.fixture
def layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(tmp_path)
    names = []
    for i in range(LAYERS):
        (tmp_path / f"layer{i}.bin").write_bytes(os.urandom(LAYER_SIZE))
        names.append(f"layer{i}.bin")
    return names


@pytest.fixture
def link(registry):
    with LinkSimulator(registry.url, rtt=0.020) as simulator:
        yield simulator


def _client() -> oras.client.OrasClient:
    return oras.client.OrasClient(insecure=True)


def _seed(registry, repo: str, names: list[str]) -> str:
    _client().push(files=names, target=f"{registry.host}/{repo}:v1", concurrency=8)
    return f"{repo}:v1"


def test_pull_through_a_link_grows_beyond_the_fixed_default(
    registry, link, layers, unique_repo, tmp_path
):
    ref = _seed(registry, unique_repo, layers)
    pulled = _client().pull(target=f"{link.host}/{ref}", outdir=str(tmp_path / "out"))
    assert len(pulled) == LAYERS
    in_flight = link.max_concurrent("GET", BLOB_GET)
    assert PULL_CONCURRENCY < in_flight <= MAX_CONCURRENCY


@pytest.mark.parametrize("concurrency", [2, 4])
def test_pull_with_an_explicit_concurrency_stays_at_it(
    registry, link, layers, unique_repo, tmp_path, concurrency
):
    ref = _seed(registry, unique_repo, layers)
    _client().pull(
        target=f"{link.host}/{ref}", outdir=str(tmp_path / "out"), concurrency=concurrency
    )
    assert link.max_concurrent("GET", BLOB_GET) == concurrency


def test_push_through_a_link_grows_beyond_the_fixed_default(link, layers, unique_repo):
    _client().push(files=layers, target=f"{link.host}/{unique_repo}:v1")
    in_flight = link.max_concurrent("*", BLOB_REQUEST)
    assert PUSH_CONCURRENCY < in_flight <= MAX_CONCURRENCY


def test_push_with_an_explicit_concurrency_stays_at_it(link, layers, unique_repo):
    _client().push(files=layers, target=f"{link.host}/{unique_repo}:v1", concurrency=4)
    assert link.max_concurrent("*", BLOB_REQUEST) == 4


def test_cli_pull_adapts_by_default_and_keeps_an_explicit_concurrency(
    registry, link, layers, unique_repo, tmp_path, oras_cli
):
    ref = _seed(registry, unique_repo, layers)
    result = oras_cli("pull", "--plain-http", f"{link.host}/{ref}", "-o", str(tmp_path / "a"))
    assert result.returncode == 0, result.stderr
    assert link.max_concurrent("GET", BLOB_GET) > PULL_CONCURRENCY
    link.clear()
    result = oras_cli(
        "pull",
        "--plain-http",
        f"{link.host}/{ref}",
        "-o",
        str(tmp_path / "b"),
        "--concurrency",
        "3",
    )
    assert result.returncode == 0, result.stderr
    assert link.max_concurrent("GET", BLOB_GET) == 3
