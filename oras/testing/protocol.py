"""The distribution spec's rules the test registry's routes share: repository names, tags,
digests, `n`/`last` paging, and `Reply`, the exception that answers a request with an error."""

from __future__ import annotations

import re
from typing import Any, Optional

from oras.digest import digest_problem

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")


class Reply(Exception):
    """Stops handling a request with this answer (an error, usually)."""

    def __init__(
        self,
        status: int,
        code: str = "",
        message: str = "",
        detail: Any = None,
        headers: Optional[dict[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = headers or {}


def check_digest(digest: str) -> str:
    """`digest`, when it is a valid sha256 or sha512 digest; a DIGEST_INVALID `Reply` if not."""
    problem = digest_problem(digest)
    if problem:
        raise Reply(400, "DIGEST_INVALID", f"invalid digest: {problem}", {"digest": digest})
    algorithm = digest.split(":", 1)[0]
    if algorithm not in ("sha256", "sha512"):
        raise Reply(400, "DIGEST_INVALID", f"unsupported digest algorithm {algorithm}")
    return digest


def page(items: list[str], query: dict[str, list[str]]) -> tuple[list[str], Optional[int]]:
    """The `n`/`last` page of sorted `items`, and `n` when another page follows."""
    last = (query.get("last") or [""])[0]
    if last:
        items = [item for item in items if item > last]
    raw_n = (query.get("n") or [""])[0]
    if raw_n == "":
        return items, None
    if not raw_n.isdigit():
        raise Reply(400, "PAGINATION_NUMBER_INVALID", "n must be a non-negative integer")
    n = int(raw_n)
    if n == 0:
        return [], None
    return items[:n], (n if len(items) > n else None)
