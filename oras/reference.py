"""Typed registry references: parse `<registry>/<repository>[:<tag>][@<digest>]` strictly, once."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterator, Optional

from oras.digest import DIGEST_PATTERN, digest_problem
from oras.errors import InvalidReferenceError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
_DOCKER_HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_DOCKER_HUB_NAMESPACE = "library"

#: Longest `<registry>/<repository>` accepted, in characters (Docker and many clients cap it there).
MAX_NAME_LENGTH = 255

EXPECTED_FORM = "<registry>/<repository>[:<tag>|@<digest>]"
#: The example in hints, on the user's registry when the reference names one.
_EXAMPLE = "{registry}/dinosaur/artifact:v1"
_EXAMPLE_REGISTRY = "localhost:5000"
#: Longest reference, and part of one, quoted back in an error message (longer ones are cut).
MAX_QUOTED = 80
_MAX_QUOTED_PART = 40

# Grammar pieces (oci.md section 1), unanchored so they can be combined.
PATH_COMPONENT_PATTERN = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
REPOSITORY_PATTERN = rf"{PATH_COMPONENT_PATTERN}(?:/{PATH_COMPONENT_PATTERN})*"
TAG_PATTERN = r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}"
_HOST_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9_-]*[a-zA-Z0-9])?"
_PORT = r":[0-9]+"
_IPV6 = r"\[[0-9a-fA-F:.]+\]"
REGISTRY_PATTERN = rf"(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})*|{_IPV6})(?:{_PORT})?"
# A first path component that names a registry: it has a dot or a port, or is localhost.
REGISTRY_IN_NAME_PATTERN = (
    rf"(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})+(?:{_PORT})?"
    rf"|{_HOST_LABEL}{_PORT}|{_IPV6}(?:{_PORT})?|localhost)"
)

# The whole reference, with the group names of oras-py's `docker_regex`.
REFERENCE_REGEX = re.compile(
    rf"^(?:(?P<registry>{REGISTRY_IN_NAME_PATTERN})/)?"
    rf"(?:(?P<namespace>{REPOSITORY_PATTERN})/)?"
    rf"(?P<repository>{PATH_COMPONENT_PATTERN})"
    rf"(?::(?P<tag>{TAG_PATTERN}))?"
    rf"(?:@(?P<digest>{DIGEST_PATTERN}))?$"
)

_REPOSITORY_REGEX = re.compile(REPOSITORY_PATTERN)
_CONTROL_REGEX = re.compile(r"[\x00-\x1f\x7f]")
_IPV4_REGEX = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_TAG_REGEX = re.compile(TAG_PATTERN)
_REGISTRY_REGEX = re.compile(REGISTRY_PATTERN)


def is_docker_hub(registry: str) -> bool:
    """True for the names Docker Hub goes by (`docker.io`, `index.docker.io`, `registry-1...`)."""
    return registry.lower() in _DOCKER_HUB_NAMES


def registry_api_host(registry: str) -> str:
    """The host to talk to on the wire: Docker Hub's names map to `registry-1.docker.io`."""
    return DOCKER_HUB_API_HOST if is_docker_hub(registry) else registry


def is_localhost(registry: str) -> bool:
    """True when the host part of `registry` (ignoring any port) is exactly `localhost`."""
    host, _, port = registry.partition(":")
    return host.lower() == "localhost" and (not port or port.isdigit())


# "localhost" and "127.0.0.1" as whole host names, not inside "mylocalhost" or "127.0.0.10".
_LOCALHOST = re.compile(r"(?<![\w.-])localhost(?![\w-]|\.\w)")
_LOOPBACK = re.compile(r"(?<![\w.-])127\.0\.0\.1(?![\w-]|\.\w)")


def iter_localhosts(name: str) -> Iterator[str]:
    """Yield `name`, then the same name with localhost and 127.0.0.1 swapped, if it has either."""
    yield name
    if _LOCALHOST.search(name):
        yield _LOCALHOST.sub("127.0.0.1", name)
    elif _LOOPBACK.search(name):
        yield _LOOPBACK.sub("localhost", name)


_USERINFO = re.compile(r"^[^/@]*@(?=[^/]*/)")


def redact(text: str) -> str:
    """Hide a `user:password@` prefix someone typed into a reference before it is shown."""
    return _USERINFO.sub("***@", text)


def shorten(text: str, limit: int = MAX_QUOTED) -> str:
    """`text` for a message: control characters escaped, cut after `limit` characters (saying
    how long it was)."""
    cut = text if len(text) <= limit else text[:limit]
    cut = _CONTROL_REGEX.sub(lambda m: repr(m.group())[1:-1], cut)
    return cut if len(text) <= limit else f"{cut}... ({len(text)} characters)"


def quote(text: str, limit: int = MAX_QUOTED) -> str:
    """`text` quoted (control characters escaped) for a message, cut after `limit` characters."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def _example_registry(text: str) -> str:
    """The registry the user typed, when the reference starts with one, for the hint."""
    first = text.partition("@")[0].split("/", 1)[0]
    if "/" not in text.partition("@")[0]:
        looks_like_host = _names_only_a_registry(first, None)
    else:
        looks_like_host = "." in first or ":" in first or first.lower() == "localhost"
    if looks_like_host and len(first) <= MAX_QUOTED and not _check_registry(first):
        return first
    return _EXAMPLE_REGISTRY


def _invalid(text: object, reason: str) -> InvalidReferenceError:
    """The error for `text`: what is wrong, once, then the shape (the hint gives an example)."""
    shown = quote(redact(text)) if isinstance(text, str) else repr(text)
    registry = _example_registry(text) if isinstance(text, str) else _EXAMPLE_REGISTRY
    return InvalidReferenceError(
        f"invalid reference {shown}: {reason}; expected {EXPECTED_FORM}",
        hint=f"for example {_EXAMPLE.format(registry=registry)}",
        reason=reason,
    )


def _names_only_a_registry(name: str, default_registry: Optional[str]) -> bool:
    """Whether `name`, a reference without `/`, is a registry rather than `repository[:tag]`.

    Docker would read `localhost:5000` as repository `localhost`, tag `5000`; nobody means
    that. A lone `localhost`, an IP address, `<dotted host>:<port>` and the client's own
    default registry are registries. `myreg:5000` stays repository `myreg`, tag `5000`, as in
    Docker (a dotless name with a numeric tag is as likely as `python:3`).
    """
    if name.startswith("["):  # [::1]:5000
        return True
    host, _, port = name.partition(":")
    if default_registry and name.lower() == default_registry.lower():
        return True
    if host.lower() == "localhost" and (not port or port.isdigit()):
        return True
    if _IPV4_REGEX.fullmatch(host) and (not port or port.isdigit()):
        return True
    return "." in host and port.isdigit()


def _check_registry(registry: str) -> Optional[str]:
    if not registry:
        return "empty registry"
    if not _REGISTRY_REGEX.fullmatch(registry):
        return f"registry {quote(registry, _MAX_QUOTED_PART)} is not a valid host[:port]"
    return None


def _check_repository(repository: str) -> Optional[str]:
    if not repository:
        return "empty repository"
    if _REPOSITORY_REGEX.fullmatch(repository):
        return None
    shown = quote(repository, _MAX_QUOTED_PART)
    if "" in repository.split("/"):
        return f"repository {shown} has an empty path component"
    if repository != repository.lower() and _REPOSITORY_REGEX.fullmatch(repository.lower()):
        return f"repository {shown} must be lowercase"
    return (
        f"repository {shown} must be lowercase letters, digits and separators "
        "(., _, __, -) between them, in /-separated components"
    )


#: Longest tag the distribution spec allows.
MAX_TAG_LENGTH = 128


def _check_tag(tag: str) -> Optional[str]:
    if len(tag) > MAX_TAG_LENGTH:
        return f"the tag is {len(tag)} characters long, more than {MAX_TAG_LENGTH}"
    if not _TAG_REGEX.fullmatch(tag):
        return f"tag {quote(tag, _MAX_QUOTED_PART)} must match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}"
    return None


def _check_digest(digest: str) -> Optional[str]:
    problem = digest_problem(digest)
    return f"invalid digest: {problem}" if problem else None


def _check_length(registry: str, repository: str) -> Optional[str]:
    if len(registry) + 1 + len(repository) > MAX_NAME_LENGTH:
        return f"registry and repository are longer than {MAX_NAME_LENGTH} characters"
    return None


@dataclass(frozen=True)
class Reference:
    """A parsed reference. `repository` is the full path in the registry (no registry host)."""

    registry: str
    repository: str
    tag: Optional[str] = None
    digest: Optional[str] = None

    def __post_init__(self) -> None:
        problem = _check_registry(self.registry) or _check_repository(self.repository)
        if not problem and self.tag is not None:
            problem = _check_tag(self.tag)
        if not problem and self.digest is not None:
            problem = _check_digest(self.digest)
        problem = problem or _check_length(self.registry, self.repository)
        if problem:
            raise _invalid(str(self), problem)

    @property
    def reference(self) -> Optional[str]:
        """What goes after `/manifests/` on the wire: the digest if set, else the tag, else None."""
        return self.digest or self.tag

    @property
    def api_host(self) -> str:
        """The registry host used on the wire (Docker Hub maps to `registry-1.docker.io`)."""
        return registry_api_host(self.registry)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    def with_tag(self, tag: str) -> Reference:
        """A copy pointing at `tag`; the digest is dropped so that `reference` is the tag."""
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: str) -> Reference:
        """A copy pinned to `digest`; the tag is kept for display."""
        return replace(self, digest=digest)


def parse_reference(
    text: str, default_registry: Optional[str] = None, require_registry: bool = False
) -> Reference:
    """Parse `text` strictly; a name without a registry gets `default_registry` or `docker.io`.

    The first path component is the registry when it contains `.` or `:` or is `localhost`.
    On Docker Hub a one-component repository gets the `library/` namespace. A name that is
    only a registry (`localhost:5000`) is refused: it has no repository. `require_registry`
    refuses any name without a registry, as the Go `oras` does.
    """
    if not isinstance(text, str):
        raise _invalid(text, f"a reference is a string, not {type(text).__name__}")
    if not text:
        raise _invalid(text, "empty reference")
    control = _CONTROL_REGEX.search(text)
    if control:
        what = "a NUL byte" if control.group() == "\x00" else "a control character"
        raise _invalid(text, f"it contains {what} ({control.group()!r})")

    name, at, digest = text.partition("@")
    if "/" not in name and _names_only_a_registry(name, default_registry):
        raise _invalid(text, "it names a registry but no repository")
    if "/" not in name and require_registry:
        raise _invalid(text, "missing registry or repository")
    if at:
        problem = _check_digest(digest)
        if problem:
            raise _invalid(text, problem)

    path, tag = name, None
    last_slash = name.rfind("/")
    colon = name.find(":", last_slash + 1)
    if colon != -1:
        path, tag = name[:colon], name[colon + 1 :]
        problem = _check_tag(tag)
        if problem:
            raise _invalid(text, problem)

    first, slash, rest = path.partition("/")
    # `[...]` is an IPv6 address ([::1], or a short one like [00]): never a repository name.
    if slash and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        registry, repository = first, rest
    elif require_registry:
        raise _invalid(
            text,
            f"missing registry ({first!r} is not a registry host: one has a '.' or a port, "
            "or is localhost)",
        )
    else:
        registry, repository = default_registry or DOCKER_HUB, path

    problem = _check_registry(registry) or _check_repository(repository)
    if problem:
        raise _invalid(text, problem)
    if is_docker_hub(registry) and "/" not in repository:
        repository = f"{_DOCKER_HUB_NAMESPACE}/{repository}"
    problem = _check_length(registry, repository)
    if problem:
        raise _invalid(text, problem)

    return Reference(registry=registry, repository=repository, tag=tag, digest=digest or None)


def split_tags(text: str) -> tuple[str, list[str]]:
    """Split the Go CLI's `repo:t1,t2,t3` into (`repo:t1`, [t1, t2, t3]); no tags → (text, [])."""
    name, at, digest = text.partition("@")
    last_slash = name.rfind("/")
    colon = name.find(":", last_slash + 1)
    if colon == -1:
        return text, []
    tags = name[colon + 1 :].split(",")
    for tag in tags:
        problem = _check_tag(tag)
        if problem:
            raise _invalid(text, problem)
    first = f"{name[:colon]}:{tags[0]}"
    if at:
        first += f"@{digest}"
    return first, tags
