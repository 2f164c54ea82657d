"""oras-py's `DockerClient` login shim, routed through the real credential store."""

from __future__ import annotations

from typing import Optional

from oras.credentials import Credential, CredentialStore


class DockerClient:
    """Stores credentials like `docker login` would (no docker daemon involved)."""

    def login(
        self,
        username: str,
        password: str,
        registry: str,
        dockercfg_path: Optional[str] = None,
    ) -> dict[str, str]:
        store = CredentialStore([dockercfg_path] if dockercfg_path else None)
        store.store(registry, Credential(username=username, password=password))
        return {"Status": "Login Succeeded"}
