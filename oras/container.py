"""oras-py's `Container`: a mutable parsed reference with URL builders, on `oras.reference`."""

from __future__ import annotations

from typing import Optional

import oras.defaults
from oras.errors import InvalidReferenceError
from oras.reference import (
    REFERENCE_REGEX,
    Reference,
    parse_reference,
    redact,
    registry_api_host,
    shorten,
)

# Kept public for oras-py compatibility: groups registry, namespace, repository, tag, digest.
# Unlike upstream it matches only whole, valid references.
docker_regex = REFERENCE_REGEX


class Container:
    """A reference split the oras-py way: registry, namespace, repository, tag and digest.

    `tag` defaults to "latest" even when a digest is given (as oras-py did); URLs use the
    digest when there is one. A name that is only a registry (`localhost:5000`, or the
    `registry` argument itself) is refused, where oras-py read it as repository and tag. Docker Hub names get `library/` for one-component repositories
    and `registry-1.docker.io` as the host in URLs, while `registry` keeps the name as written.
    """

    registry: str
    namespace: Optional[str]
    repository: str
    tag: str
    digest: Optional[str]

    def __init__(self, name: str, registry: Optional[str] = None) -> None:
        self.registry = registry or oras.defaults.registry.index_name
        self.parse(name)

    def parse(self, name: str) -> None:
        """Parse `name` in place; a registry in `name` wins over the current `registry`."""
        try:
            ref = parse_reference(name, default_registry=self.registry)
        except InvalidReferenceError as exc:
            shown = shorten(redact(name)) if isinstance(name, str) else repr(name)
            # oras-py's message; the hint says what exactly is wrong.
            raise InvalidReferenceError(
                f"{shown} does not match a recognized registry unique resource identifier. "
                "Try <registry>/<namespace>/<repository>:<tag|digest>",
                hint=exc.reason or str(exc),
                reason=exc.reason,
            ) from exc
        namespace, _, repository = ref.repository.rpartition("/")
        self.registry = ref.registry
        self.namespace = namespace or None
        self.repository = repository
        self.tag = ref.tag or oras.defaults.default_tag
        self.digest = ref.digest
        self._tag_given = ref.tag is not None

    @property
    def api_prefix(self) -> str:
        """The repository path used in API URLs: `namespace/repository` or `repository`."""
        if self.namespace:
            return f"{self.namespace}/{self.repository}"
        return self.repository

    @property
    def _api_base(self) -> str:
        return f"{registry_api_host(self.registry)}/v2/{self.api_prefix}"

    def get_blob_url(self, digest: str) -> str:
        return f"{self._api_base}/blobs/{digest}"

    def upload_blob_url(self) -> str:
        return f"{self._api_base}/blobs/uploads/"

    def tags_url(self, N: Optional[int] = None) -> str:
        url = f"{self._api_base}/tags/list"
        if N is not None:
            url += f"?n={N}"
        return url

    def manifest_url(self, tag: Optional[str] = None) -> str:
        return f"{self._api_base}/manifests/{tag or self.digest or self.tag}"

    @property
    def uri(self) -> str:
        """`registry/namespace/repository@digest`, or `...:tag` when there is no digest."""
        base = f"{self.registry}/{self.api_prefix}"
        if self.digest:
            return f"{base}@{self.digest}"
        return f"{base}:{self.tag}"

    def __str__(self) -> str:
        return self.uri

    def __repr__(self) -> str:
        return f"Container({self.uri!r})"

    def to_reference(self) -> Reference:
        """The typed core reference; the implicit "latest" tag is left out when a digest is set."""
        tag: Optional[str] = self.tag
        if self.digest and not self._tag_given and self.tag == oras.defaults.default_tag:
            tag = None
        return Reference(self.registry, self.api_prefix, tag=tag, digest=self.digest)
