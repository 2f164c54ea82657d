"""OCI image layouts on disk: validate them and copy them to and from registries."""

from __future__ import annotations

from oras.layout.layout import Layout, NewLayout, NewLayoutFromRegistry

__all__ = ["Layout", "NewLayout", "NewLayoutFromRegistry"]
