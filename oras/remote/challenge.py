"""Parse `WWW-Authenticate` challenges and compute token scopes for registry requests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Optional
from urllib.parse import unquote, urlsplit

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@dataclass
class Challenge:
    """One authentication challenge: a scheme (lower-cased) and its parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> Optional[str]:
        return self.params.get("realm")

    @property
    def service(self) -> Optional[str]:
        return self.params.get("service")

    @property
    def scopes(self) -> list[str]:
        return [s for s in self.params.get("scope", "").split(" ") if s]

    @property
    def error(self) -> Optional[str]:
        return self.params.get("error")


def _quoted(text: str, i: int) -> tuple[str, int]:
    """Read a quoted string starting at text[i] == '"'; return (value, index after it)."""
    out = []
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    return "".join(out), i


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a `WWW-Authenticate` value into challenges; quoted values may hold commas and spaces."""
    challenges: list[Challenge] = []
    i, n = 0, len(header)
    current: Optional[Challenge] = None
    while i < n:
        while i < n and header[i] in " \t,":
            i += 1
        m = _TOKEN.match(header, i)
        if not m:
            i += 1
            continue
        word, j = m.group(0), m.end()
        k = j
        while k < n and header[k] in " \t":
            k += 1
        if k < n and header[k] == "=" and current is not None:
            k += 1
            while k < n and header[k] in " \t":
                k += 1
            if k < n and header[k] == '"':
                value, i = _quoted(header, k)
            else:
                vm = re.compile(r"[^,\s]*").match(header, k)
                value = vm.group(0) if vm else ""
                i = vm.end() if vm else k
            current.params[word.lower()] = value
        else:
            current = Challenge(scheme=word.lower())
            challenges.append(current)
            i = j
    return challenges


def split_scope(scope: str) -> tuple[str, str, list[str]]:
    """`repository:name:pull,push` -> (type, name, actions); type split at the first colon,
    actions at the last (names may contain colons, e.g. a registry host with a port)."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return kind, name, [a for a in actions.split(",") if a]


def merge_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Union the actions of scopes naming the same resource; sorted, so the result is a stable key."""
    merged: dict[tuple[str, str], set[str]] = {}
    for scope in scopes:
        kind, name, actions = split_scope(scope)
        if not kind or not name:
            continue
        merged.setdefault((kind, name), set()).update(actions)
    return tuple(
        f"{kind}:{name}:{','.join(sorted(actions))}"
        for (kind, name), actions in sorted(merged.items())
    )


_REPO_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?:blobs|manifests|tags|referrers)(?:/|$)")


def _path_of(url: str) -> str:
    """The path of `url`; "" for a string that is not a URL (an unclosed `[`), which
    addresses no repository (requests refuses to send it anyway)."""
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def repository_of(url: str) -> Optional[str]:
    """The repository a `/v2/<name>/...` URL addresses, or None (`/v2/`, `_catalog`)."""
    m = _REPO_PATH.match(unquote(_path_of(url)))
    return m.group("name") if m else None


def actions_for_method(method: str) -> list[str]:
    """The token actions a request needs: reads pull, writes pull+push, DELETE delete."""
    method = method.upper()
    if method in ("GET", "HEAD"):
        return ["pull"]
    if method == "DELETE":
        return ["delete"]
    return ["pull", "push"]


def scope_for_request(method: str, url: str) -> Optional[str]:
    """The repository scope a request needs, or None when it addresses no repository."""
    path = _path_of(url)
    if path.rstrip("/").endswith("/v2/_catalog"):
        return "registry:catalog:*"
    repo = repository_of(url)
    if repo is None:
        return None
    return f"repository:{repo}:{','.join(actions_for_method(method))}"
