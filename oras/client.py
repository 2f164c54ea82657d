"""`oras.client.OrasClient`: the same class as `oras.provider.Registry`, as in oras-py 0.2."""

from oras.provider import Registry

OrasClient = Registry

__all__ = ["OrasClient"]
