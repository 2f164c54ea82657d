"""oras-py's request helpers: URL parameters, localhost aliases, Docker config path and client."""

from __future__ import annotations

import os
import urllib.parse
from typing import Any, Mapping, Optional

# oras-py's name; the transport uses it too, so it lives with the reference parsing.
from oras.reference import iter_localhosts as iter_localhosts


def find_docker_config(exists: bool = True) -> Optional[str]:
    """Path of the Docker config: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.

    With `exists` (the default) only a file that is there is returned, else None; without it,
    the path where the config would be written.
    """
    candidates = []
    if os.environ.get("DOCKER_CONFIG"):
        candidates.append(
            os.path.join(os.path.expanduser(os.environ["DOCKER_CONFIG"]), "config.json")
        )
    candidates.append(os.path.join(os.path.expanduser("~"), ".docker", "config.json"))
    if not exists:
        return candidates[0]
    for path in candidates:
        if os.path.isfile(path):
            return path
    return None


def append_url_params(url: str, params: Mapping[str, Any]) -> str:
    """Return `url` with `params` added to (or replacing keys of) its query string."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def get_docker_client(tls_verify: bool = True, **kwargs: Any) -> Any:
    """A docker-py `DockerClient` (optional dependency); `insecure=True` (old name) disables TLS."""
    try:
        import docker  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ImportError(
            "docker-py is an optional dependency and is not installed: "
            "pip install oras[docker] (or pip install docker)."
        ) from exc
    if "insecure" in kwargs:
        tls_verify = not kwargs.pop("insecure")
    return docker.DockerClient(tls=tls_verify, **kwargs)
