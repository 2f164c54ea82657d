"""ReadThroughCache: a source store read through a local content cache (`ORAS_CACHE`).

Content the cache holds is read from the cache; anything else is fetched from the source,
stored in the cache (verified on the way in, as every Pusher does) and read from there. The
cache is content-addressed (an OCI image layout: `oras.content.layout`), so several sources
and several processes can share one: a blob is the same bytes whoever wrote it.
"""

from __future__ import annotations

import errno
import logging
from typing import Any, BinaryIO, Callable, Optional

from oras.content import Deleter, Fetcher, Storage
from oras.content.reader import VerifyingReader
from oras.descriptor import Descriptor
from oras.errors import DigestMismatchError

__all__ = ["ReadThroughCache"]

log = logging.getLogger(__name__)

#: Failures to write the cache that leave the read to go on without it (a failure of the
#: source, such as a dropped connection, is not among them: it fails the read).
_CACHE_WRITE_ERRORS = frozenset(
    {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, getattr(errno, "EDQUOT", errno.ENOSPC)}
)


class ReadThroughCache:
    """A Fetcher (and, as far as `source` is one, a ReadOnlyTarget) over `source` that keeps
    what it reads in `cache`.

    `on_restored(desc)` is called when content is served from the cache instead of the
    source; with `cacheable`, only the content it accepts goes through the cache. References
    (`resolve`) and existence (`exists`) are the source's: the cache only spares the transfer
    of content, it never decides what a reference means. Content that cannot be written to
    the cache (a full disk, a read-only cache) is read from the source directly, with a
    warning. A cached blob whose bytes turn out not to match its digest is removed from the
    cache (when the cache can delete) and the read fails with DigestMismatchError saying so:
    the next read fetches it from the source again.
    """

    def __init__(
        self,
        source: Fetcher,
        cache: Storage,
        on_restored: Optional[Callable[[Descriptor], None]] = None,
        cacheable: Optional[Callable[[Descriptor], bool]] = None,
    ) -> None:
        self.source = source
        self.cache = cache
        self.on_restored = on_restored
        self.cacheable = cacheable

    def __repr__(self) -> str:
        return f"ReadThroughCache({self.source!r}, cache={self.cache!r})"

    def fetch(self, desc: Descriptor) -> BinaryIO:
        if self.cacheable is not None and not self.cacheable(desc):
            return self.source.fetch(desc)
        if self.cache.exists(desc):
            stream = self.cache.fetch(desc)
            if self.on_restored is not None:
                self.on_restored(desc)
            return _CachedReader(stream, desc, self)  # type: ignore[return-value]
        stream = self.source.fetch(desc)
        try:
            self.cache.push(desc, stream)
        except OSError as e:
            if e.errno not in _CACHE_WRITE_ERRORS:
                raise
            log.warning("could not add %s to the cache (%s): read without it", desc.digest, e)
            return self.source.fetch(desc)
        finally:
            stream.close()
        return self.cache.fetch(desc)

    def exists(self, desc: Descriptor) -> bool:
        return self.source.exists(desc)  # type: ignore[attr-defined, no-any-return]

    def resolve(self, reference: str) -> Descriptor:
        return self.source.resolve(reference)  # type: ignore[attr-defined, no-any-return]

    def _evict(self, desc: Descriptor) -> None:
        if not isinstance(self.cache, Deleter):
            return
        try:
            self.cache.delete(desc)
        except Exception as e:  # the read fails anyway; this is only the clean-up
            log.warning("could not remove the corrupt %s from the cache: %s", desc.digest, e)


class _CachedReader(VerifyingReader):
    """A cached blob, verified as it is read; a mismatch evicts it from the cache."""

    def __init__(self, stream: BinaryIO, desc: Descriptor, owner: ReadThroughCache) -> None:
        super().__init__(stream, desc, f"cached blob {desc.digest}")
        self._owner = owner

    def readinto(self, buffer: Any) -> int:
        try:
            return super().readinto(buffer)
        except DigestMismatchError as e:
            self._owner._evict(self.descriptor)
            where = getattr(self._owner.cache, "path", None)
            raise DigestMismatchError(
                f"{e}{f' in the cache {where}' if where else ''}",
                hint="the corrupt copy was removed from the cache: run the command again",
            ) from None
