"""Registry credentials: docker/podman config files and docker-credential-* helpers."""

from oras.credentials.model import Credential
from oras.credentials.store import CredentialStore, normalize_server

__all__ = ["Credential", "CredentialStore", "normalize_server"]
