"""`import oras.client` stays cheap: what only some runs need is imported where it is used.

Not timed (timings are noisy): a fresh interpreter imports `oras.client` and the test checks
which modules that loaded. A standard-library module counts only when `import requests` alone
does not load it, so that a change in requests does not break the test. The deferred code
paths themselves (packing, pulling, credential helpers, ...) are exercised by the other tests.
"""

from __future__ import annotations

import json
import subprocess
import sys

#: Standard-library modules `import oras.client` must not load (unless requests does).
DEFERRED_STDLIB = (
    "concurrent.futures",  # transfers side by side (oras.concurrency.map_concurrently)
    "gzip",  # directory packing and unpacking (oras.archive)
    "platform",  # version(), Platform.current(), colour on a terminal
    "secrets",
    "subprocess",  # credential helpers
    "tarfile",
)

#: oras modules `import oras.client` must not load: push, pull, copy and their machinery, and
#: the runner of docker-credential-* helpers.
DEFERRED_ORAS = (
    "oras.archive",
    "oras.content",
    "oras.copy",
    "oras.credentials.helpers",
    "oras.hooks",
    "oras.manifest",
    "oras.pack",
    "oras.progress",
    "oras.pull",
    "oras.push",
    "oras.referrers",
    "oras.remote.blob_push",
    "oras.remote.download",
    "oras.remote.ranged",
    "oras.remote.repository",
    "oras.remote.upload",
)

_PROBE = """
import json, sys
{statement}
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(statement: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return set(json.loads(out))


def test_import_oras_client_defers_what_most_runs_never_use() -> None:
    by_requests = _modules_after("import requests")
    by_oras = _modules_after("import oras.client")
    assert "requests" in by_oras and "oras.provider" in by_oras
    expected_absent = [m for m in DEFERRED_STDLIB if m not in by_requests] + list(DEFERRED_ORAS)
    assert sorted(m for m in expected_absent if m in by_oras) == []


def test_deferred_names_stay_importable_from_their_modules() -> None:
    """oras-py's names keep their modules (and objects) although they load on first use."""
    import oras.pack
    import oras.remote.ranged
    import oras.remote.ranged_options
    import oras.utils
    import oras.utils.fileio
    from oras.provider import Registry
    from oras.utils import PathAndOptionalContent, split_path_and_content

    assert split_path_and_content is oras.utils.fileio.split_path_and_content
    assert split_path_and_content is oras.pack.split_path_and_content
    assert PathAndOptionalContent is oras.pack.PathAndOptionalContent
    assert {"split_path_and_content", "PathAndOptionalContent"} <= set(dir(oras.utils))
    assert oras.remote.ranged.RangedOptions is oras.remote.ranged_options.RangedOptions
    assert isinstance(Registry().ranged, oras.remote.ranged.RangedOptions)
    assert Registry().version(return_items=True)["Python version"].count(".") >= 2
