"""An OCI registry that ships with the package, for tests: no Docker, no Go binary.

`TestRegistry` runs the distribution-spec 1.1 client API in a background thread (storage in
memory or a directory, optional basic or token auth); `oras.testing.plugin` makes it the
`oci_registry` pytest fixture, and `python -m oras.testing` serves it from the command line.
"""

from oras.testing.registry import TestRegistry
from oras.testing.storage import DirectoryStorage, MemoryStorage, Storage

__all__ = ["DirectoryStorage", "MemoryStorage", "Storage", "TestRegistry"]
