"""The referrers tests run on both registry kinds: here `registry` and `second_registry` are
parametrized over Distribution 2.8 (no referrers API, so the tag schema) and the shipped
`oras.testing` registry (referrers API on)."""

from __future__ import annotations

from typing import Iterator

import pytest

from oras.testing import TestRegistry


@pytest.fixture(scope="session")
def api_registries() -> Iterator[tuple[TestRegistry, TestRegistry]]:
    with TestRegistry() as first, TestRegistry() as second:
        yield first, second


@pytest.fixture(params=["distribution", "referrers-api"])
def registry(request, registry, api_registries):  # noqa: F811 - the conftest one, or the API
    return registry if request.param == "distribution" else api_registries[0]


@pytest.fixture
def second_registry(registry, second_registry, api_registries):  # noqa: F811
    return api_registries[1] if isinstance(registry, TestRegistry) else second_registry
