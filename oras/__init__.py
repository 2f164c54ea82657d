"""oras: OCI Registry As Storage, a Python client and command line."""

from oras.version import __version__

__all__ = ["__version__"]
