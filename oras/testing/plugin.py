"""pytest plugin (entry point `pytest11`): the `oci_registry` fixture, a fresh in-memory
`TestRegistry` per test, plain HTTP on 127.0.0.1 and a free port."""

from __future__ import annotations

from typing import Iterator

import pytest

from oras.testing.registry import TestRegistry


@pytest.fixture
def oci_registry() -> Iterator[TestRegistry]:
    """An empty OCI registry for this test: use `.host` in references and `.url` for HTTP."""
    with TestRegistry() as registry:
        yield registry
