"""Find, read and write registry credentials the way docker, podman and oras do."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Optional

from oras.credentials import helpers
from oras.credentials.model import Credential
from oras.errors import OrasError

log = logging.getLogger(__name__)

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_DOCKER_HUB_HOSTS = {"docker.io", "index.docker.io", "registry-1.docker.io"}


def normalize_server(key: str) -> str:
    """`https://host:5000/v1/` -> `host:5000`; Docker Hub's names all map to `docker.io`."""
    key = key.strip()
    if "://" in key:
        key = key.split("://", 1)[1]
    host = key.split("/", 1)[0]
    return "docker.io" if host in _DOCKER_HUB_HOSTS else host


def _server_key(host: str) -> str:
    """The key docker uses for a host in `auths` and for helpers."""
    return DOCKER_HUB_KEY if normalize_server(host) == "docker.io" else host


def docker_config_path() -> Path:
    """`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`."""
    base = os.environ.get("DOCKER_CONFIG")
    if base:
        return Path(base) / "config.json"
    return Path.home() / ".docker" / "config.json"


def podman_auth_paths() -> list[Path]:
    """podman/skopeo `auth.json` locations, in their lookup order."""
    out = []
    if os.environ.get("REGISTRY_AUTH_FILE"):
        out.append(Path(os.environ["REGISTRY_AUTH_FILE"]))
    if os.environ.get("XDG_RUNTIME_DIR"):
        out.append(Path(os.environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    out.append(Path(xdg) / "containers" / "auth.json")
    return out


def read_config(path: Path) -> dict[str, Any]:
    """A config file's JSON object; `{}` when the file is absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise OrasError(f"cannot read credentials file {path}: {e.strerror}") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        raise OrasError(
            f"credentials file {path} is not valid JSON", hint="fix or remove the file"
        ) from None
    if not isinstance(data, dict):
        raise OrasError(f"credentials file {path} must hold a JSON object")
    return data


def write_config(path: Path, data: dict[str, Any]) -> None:
    """Write atomically with mode 0600, creating the folder (0700) when needed."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=str(path.parent))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent="\t")
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _entry_credential(entry: dict[str, Any]) -> Credential:
    if not isinstance(entry, dict):
        return Credential()
    if entry.get("identitytoken"):
        username = ""
        if entry.get("auth"):
            username = Credential.from_basic(entry["auth"]).username
        return Credential(username=username, identity_token=entry["identitytoken"])
    if entry.get("registrytoken"):
        return Credential(registry_token=entry["registrytoken"])
    if entry.get("auth"):
        return Credential.from_basic(entry["auth"])
    if entry.get("username") and entry.get("password"):
        return Credential(username=entry["username"], password=entry["password"])
    return Credential()


def _find_auth(auths: dict[str, Any], host: str) -> Credential:
    wanted = normalize_server(host)
    for key, entry in auths.items():
        if normalize_server(key) == wanted:
            cred = _entry_credential(entry)
            if cred:
                return cred
    return Credential()


class CredentialStore:
    """Credentials for registry hosts: docker config files (helpers first), then podman's.

    `config_paths` replaces the default docker config (the first one is the one written),
    as `--registry-config` does on the command line.
    """

    def __init__(self, config_paths: Optional[Iterable[str]] = None):
        paths = [Path(p).expanduser() for p in (config_paths or []) if p]
        self.explicit = bool(paths)
        self.config_paths = paths or [docker_config_path()]

    @property
    def primary(self) -> Path:
        return self.config_paths[0]

    def _read_paths(self) -> list[Path]:
        if self.explicit:
            return list(self.config_paths)
        return [*self.config_paths, *podman_auth_paths()]

    def get(self, host: str) -> Credential:
        """The credential for `host`, or an empty Credential."""
        key = _server_key(host)
        for index, path in enumerate(self._read_paths()):
            config = read_config(path)
            is_docker = index < len(self.config_paths)
            if is_docker:
                suffix = self._helper_for(config, host)
                if suffix:
                    cred = helpers.helper_get(suffix, key)
                    if cred:
                        return cred
                    continue
            cred = _find_auth(config.get("auths") or {}, host)
            if cred:
                log.debug("credentials for %s found in %s", host, path)
                return cred
        return Credential()

    @staticmethod
    def _helper_for(config: dict[str, Any], host: str) -> Optional[str]:
        wanted = normalize_server(host)
        for key, suffix in (config.get("credHelpers") or {}).items():
            if normalize_server(key) == wanted and suffix:
                return str(suffix)
        store = config.get("credsStore")
        return str(store) if store else None

    def store(self, host: str, cred: Credential) -> str:
        """Save `cred` for `host` (through the configured helper, else the file); returns where."""
        path = self.primary
        config = read_config(path)
        key = _server_key(host)
        suffix = self._helper_for(config, host)
        auths = config.setdefault("auths", {})
        for existing in [k for k in auths if normalize_server(k) == normalize_server(host)]:
            del auths[existing]
        if suffix:
            helpers.helper_store(suffix, key, cred)
            auths[key] = {}
            where = f"docker-credential-{suffix}"
        else:
            entry: dict[str, str] = {}
            if cred.identity_token:
                entry["identitytoken"] = cred.identity_token
                if cred.username:
                    entry["auth"] = Credential(cred.username, "x").basic or ""
            elif cred.basic:
                entry["auth"] = cred.basic
            auths[key] = entry
            where = str(path)
        write_config(path, config)
        return where

    def erase(self, host: str) -> bool:
        """Remove the stored credential for `host`; False when there was none."""
        path = self.primary
        config = read_config(path)
        found = False
        suffix = self._helper_for(config, host)
        if suffix:
            found = helpers.helper_erase(suffix, _server_key(host)) or found
        auths = config.get("auths") or {}
        for key in [k for k in auths if normalize_server(k) == normalize_server(host)]:
            entry = auths.pop(key)
            found = found or bool(_entry_credential(entry)) or suffix is None
        if found or path.exists():
            if path.exists():
                write_config(path, config)
        return found
