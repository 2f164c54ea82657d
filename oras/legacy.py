"""oras-py's older calling conventions, kept working: the keywords 0.0.x/0.1.x methods took
and ignored, the check that refuses any other unknown keyword (a typo is not ignored), and
the warning the deprecated `_name` aliases of `Registry`'s methods give."""

from __future__ import annotations

import warnings
from typing import Any

#: Keywords of 0.0.x/0.1.x `push` and `pull` (which took `**kwargs`), accepted and ignored.
LEGACY_TRANSFER_KWARGS = frozenset(
    {"refresh_headers", "username", "password", "insecure", "manifest_config_ref"}
)


def refuse_unknown_kwargs(
    method: str, given: dict[str, Any], legacy: frozenset[str] = frozenset()
) -> None:
    """TypeError naming keyword arguments `method` does not take (a typo is not ignored)."""
    unknown = sorted(set(given) - legacy)
    if len(unknown) == 1:
        raise TypeError(f"{method}() got an unexpected keyword argument {unknown[0]!r}")
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise TypeError(f"{method}() got unexpected keyword arguments {names}")


def deprecated(new: str) -> None:
    """Warn the caller of a deprecated alias (two frames up) to call `new` instead."""
    warnings.warn(
        f"This function is deprecated in favor of {new} and will be removed by 0.1.2",
        DeprecationWarning,
        stacklevel=3,
    )
