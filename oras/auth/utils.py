"""oras-py's auth helpers: config loading and header parsing, over the credentials core."""

from __future__ import annotations

import base64
import logging
import os
from typing import Any, Optional

from oras.credentials.store import docker_config_path, read_config
from oras.log import logger as logger  # oras-py's module-level name
from oras.remote.challenge import parse_challenges

log = logging.getLogger(__name__)


def load_configs(configs: Optional[list[str]] = None) -> dict[str, Any]:
    """Merge `auths` and `credHelpers` of the given config files and the default docker config."""
    configs = list(configs or [])
    default = str(docker_config_path())
    if os.path.exists(default) and default not in configs:
        configs.append(default)
    merged: dict[str, Any] = {"auths": {}, "credsStore": None, "credHelpers": {}}
    for path in configs:
        if not os.path.exists(path):
            log.warning("%s does not exist.", path)
            continue
        from pathlib import Path

        data = read_config(Path(path))
        merged["auths"].update(data.get("auths") or {})
        merged["credHelpers"].update(data.get("credHelpers") or {})
        if data.get("credsStore"):
            merged["credsStore"] = data["credsStore"]
    return merged


def get_basic_auth(username: str, password: str) -> str:
    """base64 of `username:password` (UTF-8), as sent after `Basic `."""
    return base64.b64encode(f"{username}:{password}".encode()).decode("utf-8")


class authHeader:
    """A parsed challenge with the attributes oras-py exposes: service, realm, scope."""

    def __init__(self, lookup: dict[str, str]):
        self.service = lookup.get("service")
        self.realm = lookup.get("realm")
        self.scope = lookup.get("scope")

    def __repr__(self) -> str:
        fields = {"service": self.service, "realm": self.realm, "scope": self.scope}
        return f"authHeader(lookup={fields!r})"


def parse_auth_header(authHeaderRaw: str) -> authHeader:
    """Parse a `WWW-Authenticate` value into an `authHeader` (its first challenge)."""
    challenges = parse_challenges(authHeaderRaw or "")
    return authHeader(challenges[0].params if challenges else {})
