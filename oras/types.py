"""Type aliases shared with oras-py: what the client accepts where a container is expected."""

from __future__ import annotations

from typing import Union

from oras.container import Container

container_type = Union[str, Container]
