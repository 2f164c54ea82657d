"""Find, read and write registry credentials the way docker, podman and oras do.

Lookup order for a registry host (and, for podman's namespaced keys, a repository):

1. every docker config file (`--registry-config` files, else `$DOCKER_CONFIG/config.json` or
   `~/.docker/config.json`): `credHelpers[host]`, else `credsStore`, then `auths`;
2. unless config files were given explicitly: `$REGISTRY_AUTH_FILE`,
   `$XDG_RUNTIME_DIR/containers/auth.json`, `$XDG_CONFIG_HOME/containers/auth.json`
   (keys may be `host/namespace/repo`: the longest match for the repository wins);
3. the legacy `~/.dockercfg`.

Writing goes to the first docker config file, through its helper when one is configured,
else into `auths` with mode 0600 (atomic, unknown keys kept).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Optional

from oras.credentials.model import Credential
from oras.errors import CredentialHelperError, CredentialsFileError

log = logging.getLogger(__name__)

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_DOCKER_HUB_HOSTS = {"docker.io", "index.docker.io", "registry-1.docker.io"}
#: Path parts of docker's old server URLs (`https://host/v1/`) that are not a namespace.
_API_PATHS = {"", "v1", "v2"}


def normalize_server(key: str) -> str:
    """`https://host:5000/v1/` -> `host:5000`; Docker Hub's names all map to `docker.io`."""
    return split_server_key(key)[0]


def split_server_key(key: str) -> tuple[str, str]:
    """A config key -> (host, namespace). `host/ns/repo` (podman) keeps `ns/repo`; URL keys
    (`https://host/v1/`) and bare hosts have no namespace."""
    key = key.strip()
    had_scheme = "://" in key
    if had_scheme:
        key = key.split("://", 1)[1]
    host, _, path = key.partition("/")
    host = host.lower()
    host = "docker.io" if host in _DOCKER_HUB_HOSTS else host
    path = path.strip("/")
    if had_scheme or path in _API_PATHS:
        path = ""
    return host, path


def server_key(host: str) -> str:
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


def legacy_dockercfg_path() -> Path:
    """Docker's pre-1.7 `~/.dockercfg` (a bare `auths` map)."""
    return Path.home() / ".dockercfg"


def read_config(path: Path) -> dict[str, Any]:
    """A config file's JSON object; `{}` when the file is absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as e:
        raise CredentialsFileError(f"cannot read credentials file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise CredentialsFileError(
            f"credentials file {path} is not UTF-8 text", hint="fix or remove the file"
        ) from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise CredentialsFileError(
            f"credentials file {path} is not valid JSON", hint="fix or remove the file"
        ) from None
    if not isinstance(data, dict):
        raise CredentialsFileError(f"credentials file {path} must hold a JSON object")
    return data


def write_config(path: Path, data: dict[str, Any]) -> None:
    """Write atomically with mode 0600, creating the folder (0700) when needed: a temp file in
    the same folder, flushed to disk, then renamed over the file, so a crash or a full disk
    leaves the old file or the new one, never half of one. A config file that is a symlink
    (dotfiles) is written through to its target, as docker does, not replaced by a file."""
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=str(path.parent))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent="\t")
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry of a renamed file to disk (POSIX; a no-op where folders
    cannot be opened)."""
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def entry_credential(entry: Any) -> Credential:
    """The credential in one `auths` entry (`identitytoken`, `registrytoken`, `auth`, or the
    legacy `username`/`password`)."""
    if not isinstance(entry, dict):
        return Credential()
    username = ""
    if entry.get("auth"):
        username = Credential.from_basic(str(entry["auth"])).username
    username = username or str(entry.get("username") or "")
    if entry.get("identitytoken"):
        return Credential(username=username, identity_token=str(entry["identitytoken"]))
    if entry.get("registrytoken"):
        return Credential(registry_token=str(entry["registrytoken"]))
    if entry.get("auth"):
        return Credential.from_basic(str(entry["auth"]))
    if entry.get("username") and entry.get("password"):
        return Credential(username=str(entry["username"]), password=str(entry["password"]))
    return Credential()


def find_auth(auths: dict[str, Any], host: str, repository: Optional[str] = None) -> Credential:
    """The `auths` credential for `host`: the entry whose namespace is the longest prefix of
    `repository` (podman's `host/ns/repo` keys), else the host's own entry."""
    wanted = normalize_server(host)
    best: tuple[int, Credential] = (-1, Credential())
    for key, entry in auths.items():
        key_host, namespace = split_server_key(key)
        if key_host != wanted:
            continue
        if namespace:
            if not repository or not (
                repository == namespace or repository.startswith(namespace + "/")
            ):
                continue
        cred = entry_credential(entry)
        if cred and len(namespace) > best[0]:
            best = (len(namespace), cred)
    return best[1]


class CredentialStore:
    """Credentials for registry hosts, from docker and podman config files and helpers.

    `config_paths` replaces the default docker config (the first one is the one written),
    as `--registry-config` does on the command line; podman's files are then not read.
    """

    def __init__(self, config_paths: Optional[Iterable[str]] = None):
        paths = [Path(os.fspath(p)).expanduser() for p in (config_paths or []) if p]
        self.explicit = bool(paths)
        self.config_paths = paths or [docker_config_path()]
        # (helper suffix, server) -> what its `get` returned: one helper run per server.
        self._helper_answers: dict[tuple[str, str], Optional[Credential]] = {}

    @property
    def primary(self) -> Path:
        """The file `store` and `erase` edit."""
        return self.config_paths[0]

    def get(self, host: str, repository: Optional[str] = None) -> Credential:
        """The credential for `host` (and `repository`), or an empty Credential.

        Raises CredentialHelperError, naming the helper and the file configuring it, when a
        configured helper is missing or fails.
        """
        for path in self.config_paths:
            cred = self._from_file(path, host, repository, docker=True)
            if cred:
                return cred
        if self.explicit:
            return Credential()
        for path in podman_auth_paths():
            cred = self._from_file(path, host, repository, docker=False)
            if cred:
                return cred
        legacy = read_config(legacy_dockercfg_path())
        auths = legacy.get("auths") if isinstance(legacy.get("auths"), dict) else legacy
        cred = find_auth(auths, host, repository)
        if cred:
            log.debug("credentials for %s found in %s", host, legacy_dockercfg_path())
        return cred

    def _from_file(
        self, path: Path, host: str, repository: Optional[str], docker: bool
    ) -> Credential:
        config = read_config(path)
        helper = self.helper_for(config, host, with_store=docker)
        if helper:
            from oras.credentials import helpers  # imported on use: only a helper needs it

            suffix, where = helper
            asked = (suffix, server_key(host))
            if asked not in self._helper_answers:
                try:
                    self._helper_answers[asked] = helpers.helper_get(*asked)
                except CredentialHelperError as e:
                    raise CredentialHelperError(
                        f"{e} (configured as {where} in {path})", hint=e.hint
                    ) from None
            cred = self._helper_answers[asked]
            if cred:
                log.debug("credentials for %s found by %s", host, helpers.helper_binary(suffix))
                return cred
        auths = config.get("auths")
        cred = find_auth(auths, host, repository) if isinstance(auths, dict) else Credential()
        if cred:
            log.debug("credentials for %s found in %s", host, path)
        return cred

    @staticmethod
    def helper_for(
        config: dict[str, Any], host: str, with_store: bool = True
    ) -> Optional[tuple[str, str]]:
        """(helper suffix, where it is configured) for `host`: `credHelpers[host]`, else
        `credsStore`; None when the file configures neither."""
        wanted = normalize_server(host)
        cred_helpers = config.get("credHelpers")
        if isinstance(cred_helpers, dict):
            for key, suffix in cred_helpers.items():
                if normalize_server(key) == wanted and suffix:
                    return str(suffix), f'credHelpers["{key}"]'
        store = config.get("credsStore") if with_store else None
        return (str(store), "credsStore") if store else None

    def store(self, host: str, cred: Credential) -> str:
        """Save `cred` for `host` (through the configured helper, else the file); returns where."""
        path = self.primary
        config = read_config(path)
        key = server_key(host)
        helper = self.helper_for(config, host)
        self._helper_answers.clear()
        auths = config.get("auths")
        if not isinstance(auths, dict):
            auths = config["auths"] = {}
        for existing in [k for k in auths if split_server_key(k) == (normalize_server(host), "")]:
            del auths[existing]
        if helper:
            from oras.credentials import helpers

            suffix, where = helper
            try:
                helpers.helper_store(suffix, key, cred)
            except CredentialHelperError as e:
                raise CredentialHelperError(
                    f"{e} (configured as {where} in {path})", hint=e.hint
                ) from None
            auths[key] = {}  # what docker writes: the host is known, the secret is elsewhere
            saved_in = helpers.helper_binary(suffix)
        else:
            entry: dict[str, str] = {}
            if cred.identity_token:
                entry["identitytoken"] = cred.identity_token
                if cred.username:
                    entry["auth"] = Credential(cred.username, "x").basic or ""
            elif cred.basic:
                entry["auth"] = cred.basic
            auths[key] = entry
            saved_in = str(path)
        write_config(path, config)
        return saved_in

    def erase(self, host: str) -> bool:
        """Remove the stored credential for `host` (helper and file); False when there was none."""
        path = self.primary
        config = read_config(path)
        found = False
        helper = self.helper_for(config, host)
        self._helper_answers.clear()
        if helper:
            from oras.credentials import helpers

            suffix, where = helper
            try:
                found = helpers.helper_erase(suffix, server_key(host))
            except CredentialHelperError as e:
                raise CredentialHelperError(
                    f"{e} (configured as {where} in {path})", hint=e.hint
                ) from None
        auths = config.get("auths")
        if isinstance(auths, dict):
            wanted = normalize_server(host)
            keys = [k for k in auths if normalize_server(k) == wanted]
            for key in keys:
                entry = auths.pop(key)
                found = found or bool(entry_credential(entry)) or helper is None
            if keys:
                write_config(path, config)
        return found


__all__ = [
    "CredentialStore",
    "DOCKER_HUB_KEY",
    "docker_config_path",
    "entry_credential",
    "find_auth",
    "normalize_server",
    "podman_auth_paths",
    "read_config",
    "server_key",
    "split_server_key",
    "write_config",
]
