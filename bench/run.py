#!/usr/bin/env python3
"""Benchmark oras-py (CLI and library) against the raw limit (curl, a minimal Python client).

Starts a CNCF Distribution registry on 127.0.0.1 (the test harness's `RegistryServer`), and a
second one for the copies between registries, then for every workload measures wall time, CPU
time (user + sys) and peak RSS of a fresh child process per measurement, interleaving the tools
run after run, and writes a Markdown report with medians, ratios to the raw baseline (to
`skopeo copy` for the copies) and the targets of issue 4. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import http.client
import json
import os
import platform
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.harness.link import LinkSimulator  # noqa: E402
from tests.harness.proxy import FaultProxy  # noqa: E402
from tests.harness.registry import REGISTRY_BINARY, RegistryServer  # noqa: E402

KiB, MiB, GiB = 1024, 1024**2, 1024**3

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.unknown.config.v1+json"
FILE_LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
DIR_LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
TITLE = "org.opencontainers.image.title"
UNPACK = "io.deis.oras.content.unpack"
EMPTY_CONFIG = b"{}"

#: Files up to this size are checked byte for byte (sha256) after every pull; larger ones by size.
VERIFY_LIMIT = 2 * GiB
#: How much of a failing command's stderr goes into the report.
ERROR_TAIL = 300

# Targets from issue 4.
PUSH_RATIO_TARGET = 1.05  # issue 13 (issue 4: 1.10)
PULL_RATIO_TARGET = 1.00
LAYERS_RATIO_TARGET = 0.50
#: The same many-layer target, over a link where every request waits a round trip.
# Targets from issue 13, through the link simulator (`tests/harness/link.py`).
LATENCY_RATIO_TARGET = 0.20
LINK_BIG_RATIO_TARGET = 0.25
HASH_RATIO_TARGET = 1.30
#: The simulated round trip of the link workloads (`--latency-ms`).
LATENCY_MS = 20.0
#: The simulated link's bandwidth per connection, MiB/s (`--link-rate`; 0: not limited).
LINK_RATE_MIB = 25.0
#: The release of upstream oras-py measured beside this one (its library API), installed into
#: a virtual environment of its own under .cache/ (`--upstream-python` names another).
UPSTREAM_VERSION = "0.2.43"
UPSTREAM_CACHE = REPO_ROOT / ".cache" / "upstream"
MEMORY_TARGET_MIB = 100.0
STARTUP_EXTRA_TARGET = 0.15

# -- child scripts ---------------------------------------------------------------------------

LIB_PUSH = """\
import sys
import oras.client

oras.client.OrasClient(insecure=True).push(files=sys.argv[2:], target=sys.argv[1])
"""

LIB_PULL = """\
import sys
import oras.client

oras.client.OrasClient(insecure=True).pull(target=sys.argv[1], outdir=sys.argv[2])
"""

LIB_IMPORT = "import oras.client"

#: The floor of a verified pull: Python's hashlib hashing the same file (1 MiB reads).
HASH_FILE = """\
import hashlib, sys

hasher, buffer = hashlib.sha256(), memoryview(bytearray(1 << 20))
with open(sys.argv[1], "rb", buffering=0) as fh:
    while n := fh.readinto(buffer):
        hasher.update(buffer[:n])
"""

#: Runs a command (after `sh -c SCRIPT sh PYTHON HASH_SCRIPT FILE`) while Python's hashlib
#: hashes FILE alongside: the least that computing the digest adds to an upload. It fails
#: when either fails.
ALONGSIDE = (
    'p=$1 s=$2 f=$3; shift 3; "$p" -c "$s" "$f" & h=$!; "$@"; r=$?; wait $h || exit 1; exit $r'
)

#: A copy between two registries with the library: the engine between two repository stores.
LIB_COPY = """\
import sys
import oras.client
from oras.copy import copy

source, destination, tag = sys.argv[1:4]
client = oras.client.OrasClient(insecure=True)
copy(client.repository(source), tag, client.repository(destination, push=True), tag)
"""

#: The "verified pull" baseline: one connection, one blob after another, streamed to disk with
#: large reads written in 32 KiB pieces (as oras and curl write: `oras.filewrite`), sha256 and
#: size checked, renamed into place.
VERIFIED_PULL = """\
import hashlib, http.client, json, os, sys


def write_in_pieces(out, view):
    for at in range(0, len(view), 32768):
        out.write(view[at:at + 32768])

host, repo, tag, outdir = sys.argv[1:5]
conn = http.client.HTTPConnection(host)
conn.request("GET", f"/v2/{repo}/manifests/{tag}",
             headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
response = conn.getresponse()
if response.status != 200:
    sys.exit(f"manifest: HTTP {response.status}")
manifest = json.loads(response.read())
os.makedirs(outdir, exist_ok=True)
buffer = memoryview(bytearray(1 << 20))
for layer in manifest["layers"]:
    conn.request("GET", f"/v2/{repo}/blobs/{layer['digest']}")
    response = conn.getresponse()
    if response.status != 200:
        sys.exit(f"blob: HTTP {response.status}")
    name = layer["annotations"]["org.opencontainers.image.title"]
    part = os.path.join(outdir, name + ".part")
    hasher, size = hashlib.sha256(), 0
    with open(part, "wb") as out:
        while n := response.readinto(buffer):
            hasher.update(buffer[:n])
            write_in_pieces(out, buffer[:n])
            size += n
    if size != layer["size"] or "sha256:" + hasher.hexdigest() != layer["digest"]:
        os.unlink(part)
        sys.exit(f"{name}: digest or size mismatch")
    os.replace(part, os.path.join(outdir, name))
"""


#: The verified loop with its hashing on a second thread (hashlib releases the GIL), overlapping
#: the download: the leanest verified pull Python can make of one large blob.
def _edited(text: str, *edits: tuple[str, str]) -> str:
    """`text` with each (old, new) replaced; AssertionError when an `old` is not in it (the
    script it derives from changed, and the edit would silently do nothing)."""
    for old, new in edits:
        assert old in text, f"not in the script any more: {old!r}"
        text = text.replace(old, new)
    return text


VERIFIED_THREADED = _edited(
    VERIFIED_PULL,
    (
        "import hashlib, http.client, json, os, sys",
        "import hashlib, http.client, json, os, queue, sys, threading",
    ),
    (
        "buffer = memoryview(bytearray(1 << 20))\n",
        "",
    ),
    (
        """    hasher, size = hashlib.sha256(), 0
    with open(part, "wb") as out:
        while n := response.readinto(buffer):
            hasher.update(buffer[:n])
            write_in_pieces(out, buffer[:n])
            size += n
""",
        """    hasher, size, chunks = hashlib.sha256(), 0, queue.Queue(2)

    def hash_chunks():
        while (chunk := chunks.get()) is not None:
            hasher.update(chunk)

    worker = threading.Thread(target=hash_chunks)
    worker.start()
    # 4 buffers in turn: one filling, two queued, one being hashed
    ring, turn = [memoryview(bytearray(1 << 20)) for _ in range(4)], 0
    with open(part, "wb") as out:
        while n := response.readinto(ring[turn % 4]):
            chunk = ring[turn % 4][:n]
            chunks.put(chunk)
            write_in_pieces(out, chunk)
            size, turn = size + n, turn + 1
    chunks.put(None)
    worker.join()
""",
    ),
)


# -- measuring -------------------------------------------------------------------------------


class StepFailed(RuntimeError):
    """A measured command exited non-zero, or its result did not check out."""


@dataclasses.dataclass
class Sample:
    """One measurement: wall and CPU seconds summed over its commands, the largest peak RSS."""

    wall: float = 0.0
    cpu: float = 0.0
    max_rss_kib: int = 0
    #: CPU seconds (user + sys) the registry process spent while the commands ran.
    registry_cpu: float = 0.0


def process_cpu(pid: int) -> float:
    """User + sys CPU seconds of a live process, from /proc (0.0 where it cannot be read)."""
    try:
        # Fields after the parenthesised command name; utime and stime are 14th and 15th.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: Measures a child's peak RSS from a small process: a child forked by the (large) driver
#: would report the driver's own RSS as its peak (exec keeps the old image's high-water mark).
GNU_TIME = "/usr/bin/time"

#: The fallback when GNU time is missing: a bare interpreter spawns the command and reports
#: its rusage. Its own ~9 MiB then sets a floor under every peak RSS.
RSS_LAUNCHER = """\
import os, sys
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(min(os.waitstatus_to_exitcode(status) & 0xFF or 0, 255))
"""


def rss_wrapper(python: str) -> tuple[list[str], str]:
    """The command prefix (followed by a report file, then the command) and what it is."""
    if os.access(GNU_TIME, os.X_OK):
        return [GNU_TIME, "-f", "%M", "-o"], "GNU time (%M)"
    return [python, "-S", "-I", "-c", RSS_LAUNCHER], "a minimal Python launcher (≥ 9 MiB floor)"


class Trial:
    """Runs the commands of one measurement, each in a fresh child, and adds up their costs.

    Wall time is taken around each command, CPU time (user + sys) from `wait4` on it, peak
    RSS from `rss_prefix` (see `rss_wrapper`). Only the commands are timed: what the driver
    does between them (writing a curl config, reading a header) costs microseconds.
    """

    def __init__(self, rss_prefix: Sequence[str], registry_pids: Sequence[int] = ()) -> None:
        self.rss_prefix = list(rss_prefix)
        #: Every registry the commands talk to (two for a copy between registries).
        self.registry_pids = [pid for pid in registry_pids if pid]
        self.sample = Sample()

    def _registry_cpu(self) -> float:
        return sum(process_cpu(pid) for pid in self.registry_pids)

    def run(
        self, command: Sequence[str], *, cwd: Optional[Path] = None, env: Optional[dict] = None
    ) -> str:
        """Run `command` to completion and return its stdout; StepFailed if it fails."""
        with contextlib.ExitStack() as files:
            out = files.enter_context(tempfile.TemporaryFile())
            err = files.enter_context(tempfile.TemporaryFile())
            rss = files.enter_context(tempfile.NamedTemporaryFile("r", suffix=".rss"))
            registry_before = self._registry_cpu()
            started = time.perf_counter()
            process = subprocess.Popen(
                [*self.rss_prefix, rss.name, *command],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
            self.sample.registry_cpu += self._registry_cpu() - registry_before
            process.returncode = os.waitstatus_to_exitcode(status)
            self.sample.wall += wall
            self.sample.cpu += usage.ru_utime + usage.ru_stime
            report = rss.read().split()
            if report and report[-1].isdigit():
                self.sample.max_rss_kib = max(self.sample.max_rss_kib, int(report[-1]))
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode(errors="replace")
            stderr = err.read().decode(errors="replace")
        if process.returncode != 0:
            tail = " ".join(stderr.split())[-ERROR_TAIL:]
            raise StepFailed(f"{Path(command[0]).name} exited {process.returncode}: {tail}")
        return stdout


# -- the registry, seen by the driver --------------------------------------------------------


@dataclasses.dataclass
class Blob:
    """A file to push as one layer (or the config): where it is and its descriptor."""

    path: Path
    digest: str
    size: int
    title: str
    media_type: str = FILE_LAYER_TYPE
    unpack: bool = False

    def layer(self) -> dict:
        annotations = {TITLE: self.title}
        if self.unpack:
            annotations[UNPACK] = "true"
        return {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
            "annotations": annotations,
        }


def sha256_file(path: Path) -> str:
    """The `sha256:` digest of a file, read in 4 MiB pieces."""
    hasher = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * MiB):
            hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


def describe(path: Path, title: str, **kwargs: object) -> Blob:
    """A `Blob` for `path` with its digest and size computed."""
    return Blob(path, sha256_file(path), path.stat().st_size, title, **kwargs)  # type: ignore[arg-type]


def manifest_bytes(layers: Sequence[Blob]) -> bytes:
    """An oras-py style image manifest: the empty `{}` config, titled layers."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {
            "mediaType": CONFIG_TYPE,
            "digest": "sha256:" + hashlib.sha256(EMPTY_CONFIG).hexdigest(),
            "size": len(EMPTY_CONFIG),
        },
        "layers": [blob.layer() for blob in layers],
        "annotations": {},
    }
    return json.dumps(manifest).encode()


class RegistryClient:
    """The driver's own minimal client, for seeding repositories and checking results."""

    def __init__(self, host: str) -> None:
        self.host = host

    def _request(
        self, method: str, url: str, body: object = None, headers: Optional[dict] = None
    ) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection(self.host, timeout=600, blocksize=MiB)
        conn.request(method, url, body=body, headers=headers or {})  # type: ignore[arg-type]
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    def push_blob(self, repo: str, path: Optional[Path], digest: str, data: bytes = b"") -> None:
        started = self._request("POST", f"/v2/{repo}/blobs/uploads/")
        location = started.getheader("Location") or ""
        url = location.split(self.host, 1)[-1] if "://" in location else location
        url += ("&" if "?" in url else "?") + "digest=" + digest
        size = path.stat().st_size if path is not None else len(data)
        headers = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
        if path is None:
            response = self._request("PUT", url, body=data, headers=headers)
        else:
            with open(path, "rb") as fh:
                response = self._request("PUT", url, body=fh, headers=headers)
        if response.status != 201:
            raise StepFailed(f"seeding {repo}: blob PUT answered {response.status}")

    def push_manifest(self, repo: str, tag: str, manifest: bytes) -> None:
        headers = {"Content-Type": MANIFEST_TYPE}
        response = self._request("PUT", f"/v2/{repo}/manifests/{tag}", manifest, headers)
        if response.status != 201:
            raise StepFailed(f"seeding {repo}: manifest PUT answered {response.status}")

    def push_artifact(self, repo: str, tag: str, layers: Sequence[Blob]) -> None:
        config_digest = "sha256:" + hashlib.sha256(EMPTY_CONFIG).hexdigest()
        self.push_blob(repo, None, config_digest, EMPTY_CONFIG)
        for blob in layers:
            self.push_blob(repo, blob.path, blob.digest)
        self.push_manifest(repo, tag, manifest_bytes(layers))

    def has_manifest(self, repo: str, tag: str) -> bool:
        return self.manifest_digest(repo, tag) is not None

    def manifest_digest(self, repo: str, tag: str) -> Optional[str]:
        """The digest the registry holds `repo:tag` under, None when it has no such manifest."""
        response = self._request(
            "HEAD", f"/v2/{repo}/manifests/{tag}", headers={"Accept": MANIFEST_TYPE}
        )
        if response.status != 200:
            return None
        return response.getheader("Docker-Content-Digest") or ""


# -- configuration and payloads --------------------------------------------------------------

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """`4096`, `4K`, `1M`, `1GiB`, `4g` -> bytes (binary units)."""
    match = _SIZE_RE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    number, unit = match.groups()
    return int(float(number) * 1024 ** "_kmgt".index(unit.lower() or "_"))


def human_size(size: int) -> str:
    """`1073741824` -> `1 GiB`; sizes that are not whole units get one decimal in MiB."""
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B" if size < KiB else f"{size / MiB:.1f} MiB"


@dataclasses.dataclass
class Sizes:
    """The workload sizes; the defaults are issue 4's."""

    big: int = GiB
    layers: int = 100
    layer_size: int = MiB
    small_files: int = 1000
    small_size: int = 4 * KiB
    sparse: int = 4 * GiB
    #: The one file of the `cp-big` copy between registries (its layers: `layers`).
    cp: int = GiB
    #: The one file pulled through the simulated link (`link-big`).
    link_big: int = 512 * MiB


QUICK = Sizes(
    big=2 * MiB,
    layers=5,
    layer_size=64 * KiB,
    small_files=20,
    small_size=4 * KiB,
    sparse=16 * MiB,
    cp=2 * MiB,
    link_big=4 * MiB,
)


@dataclasses.dataclass
class Payload:
    """What a workload moves: files named relative to `root`, or one directory in it."""

    key: str
    root: Path
    names: list[str]
    #: Layer blobs as pulled (for a directory: the seed's tar+gzip).
    blobs: list[Blob]
    directory: bool = False
    sparse: bool = False


def write_random(path: Path, size: int) -> None:
    """Fill `path` with `size` incompressible bytes."""
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            piece = min(left, 4 * MiB)
            fh.write(os.urandom(piece))
            left -= piece


def make_payload(key: str, sizes: Sizes, data_dir: Path) -> Payload:
    """Generate one workload's data under `data_dir / key` (not timed)."""
    root = data_dir / key
    root.mkdir(parents=True)
    if key in ("big", "cp-big", "link-big"):
        size = {"cp-big": sizes.cp, "link-big": sizes.link_big}.get(key, sizes.big)
        write_random(root / "big.bin", size)
        return Payload(key, root, ["big.bin"], [describe(root / "big.bin", "big.bin")])
    if key in ("layers", "latency", "cp-layers"):
        names = [f"layer-{i:03d}.bin" for i in range(sizes.layers)]
        for name in names:
            write_random(root / name, sizes.layer_size)
        return Payload(key, root, names, [describe(root / name, name) for name in names])
    if key == "dir":
        tree = root / "smallfiles"
        tree.mkdir()
        for i in range(sizes.small_files):
            write_random(tree / f"file-{i:04d}.dat", sizes.small_size)
        tarball = data_dir / "smallfiles.tar.gz"
        subprocess.run(["tar", "-czf", str(tarball), "-C", str(root), "smallfiles"], check=True)
        seed = describe(tarball, "smallfiles", media_type=DIR_LAYER_TYPE, unpack=True)
        return Payload(key, root, ["smallfiles"], [seed], directory=True)
    if key == "sparse":
        with open(root / "sparse.bin", "wb") as fh:
            fh.truncate(sizes.sparse)
        blobs = [describe(root / "sparse.bin", "sparse.bin")]
        return Payload(key, root, ["sparse.bin"], blobs, sparse=True)
    raise ValueError(f"unknown workload {key!r}")


# -- tools -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Context:
    """Everything a tool needs: the registry, the programs, a scratch area.

    Tools address `host` and `url`: the registry's own, or a delaying proxy's in front of it
    while a workload with `via` runs (see `run_workload`). `client` always talks to the
    registry directly: seeding and checking are not measured.
    """

    registry: RegistryServer
    client: RegistryClient
    python: str
    oras_cli: list[str]
    curl: str
    scratch: Path
    rss_prefix: list[str]
    host: str = ""
    url: str = ""
    counter: int = 0
    #: The destination of the copies between registries, and the driver's client for it.
    second: Optional[RegistryServer] = None
    second_client: Optional[RegistryClient] = None
    skopeo: str = ""
    #: The interpreter of upstream oras-py's environment ("": not measured).
    upstream_python: str = ""

    def __post_init__(self) -> None:
        self.host = self.host or self.registry.host
        self.url = self.url or self.registry.url

    def registry_pids(self, both: bool = False) -> list[int]:
        """The registry's process id; with `both`, the second registry's too."""
        registries = [self.registry, self.second] if both else [self.registry]
        return [r.pid for r in registries if r is not None and r.pid]

    def fresh_repo(self, label: str) -> str:
        self.counter += 1
        return f"bench/{label}-{self.counter:04d}"

    def child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARIABLES}
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        return env


_PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy"}
SEED_TAG = "v1"


def _curl_config(entries: Sequence[dict[str, object]]) -> str:
    """A curl `-K` config running `entries` one after another on one reused connection."""
    blocks = []
    for entry in entries:
        lines = ["silent", "show-error", 'write-out = "%{http_code}\\n"']
        for key, value in entry.items():
            if value is True:  # a switch without an argument
                lines.append(key)
                continue
            for item in value if isinstance(value, list) else [value]:
                lines.append(f"{key} = {json.dumps(str(item))}")
        blocks.append("\n".join(lines))
    return "\nnext\n".join(blocks) + "\n"


def _check_codes(stdout: str, expected: Sequence[int], what: str) -> None:
    codes = [int(code) for code in stdout.split()]
    if codes != list(expected):
        raise StepFailed(f"{what}: HTTP codes {codes}, expected {list(expected)}")


def _location_from(header_file: Path) -> str:
    for line in header_file.read_text(errors="replace").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "location":
            return value.strip()
    raise StepFailed(f"no Location in {header_file.name}")


def curl_push(
    ctx: Context,
    payload: Payload,
    trial: Trial,
    work: Path,
    parallel: int = 0,
    hash_alongside: bool = False,
) -> str:
    """Raw push: (tar+gzip and sha256sum for a directory), POSTs, then PUTs and the manifest.

    With `parallel`, curl runs that many POSTs (then PUTs) at a time, and the manifest once
    every blob is in: the leanest concurrent client, to show what concurrency can buy here.
    With `hash_alongside`, hashlib hashes the (single) file while curl uploads it: the floor
    of a client that computes the digest, which the plain baseline knows beforehand.
    """
    suffix = "-parallel" if parallel else "-hashing" if hash_alongside else ""
    repo = ctx.fresh_repo(f"{payload.key}-curl{suffix}")
    curl = [ctx.curl, *_parallel_options(parallel)]
    base = f"{ctx.url}/v2/{repo}"
    if payload.directory:
        tarball = work / "smallfiles.tar.gz"
        trial.run(["tar", "-czf", str(tarball), "-C", str(payload.root), payload.names[0]])
        digest = "sha256:" + trial.run(["sha256sum", str(tarball)]).split()[0]
        size = tarball.stat().st_size
        layers = [Blob(tarball, digest, size, "smallfiles", DIR_LAYER_TYPE, unpack=True)]
    else:
        layers = payload.blobs
    config = work / "config.json"
    config.write_bytes(EMPTY_CONFIG)
    uploads = [Blob(config, "sha256:" + hashlib.sha256(EMPTY_CONFIG).hexdigest(), 2, "")]
    uploads += layers
    posts = [
        {
            "url": f"{base}/blobs/uploads/",
            "request": "POST",
            "output": "/dev/null",
            "dump-header": work / f"h{i}",
        }
        for i in range(len(uploads))
    ]
    (work / "posts.cfg").write_text(_curl_config(posts))
    _check_codes(trial.run([*curl, "-K", str(work / "posts.cfg")]), [202] * len(uploads), "POST")
    manifest = work / "manifest.json"
    manifest.write_bytes(manifest_bytes(layers))
    puts: list[dict[str, object]] = []
    for i, blob in enumerate(uploads):
        location = _location_from(work / f"h{i}")
        separator = "&" if "?" in location else "?"
        puts.append(
            {
                "url": f"{location}{separator}digest={blob.digest}",
                "upload-file": blob.path,
                "header": ["Content-Type: application/octet-stream", "Expect:"],
                "output": "/dev/null",
            }
        )
    manifest_put = {
        "url": f"{base}/manifests/{SEED_TAG}",
        "upload-file": manifest,
        "header": [f"Content-Type: {MANIFEST_TYPE}", "Expect:"],
        "output": "/dev/null",
    }
    # In parallel the manifest must wait for its blobs: the registry checks they exist.
    batches = [puts, [manifest_put]] if parallel else [[*puts, manifest_put]]
    for n, batch in enumerate(batches):
        config_file = work / f"puts{n}.cfg"
        config_file.write_text(_curl_config(batch))
        command = [*curl, "-K", str(config_file)]
        if hash_alongside:
            [blob] = layers
            command = ["sh", "-c", ALONGSIDE, "sh", ctx.python, HASH_FILE, str(blob.path), *command]
        _check_codes(trial.run(command), [201] * len(batch), "PUT")
    return repo


def _parallel_options(parallel: int) -> list[str]:
    return ["--parallel", "--parallel-max", str(parallel)] if parallel else []


def curl_push_hashing(ctx: Context, payload: Payload, trial: Trial, work: Path) -> str:
    return curl_push(ctx, payload, trial, work, hash_alongside=True)


def curl_push_parallel(ctx: Context, payload: Payload, trial: Trial, work: Path) -> str:
    return curl_push(ctx, payload, trial, work, PUSH_PARALLEL)


def curl_push_link(ctx: Context, payload: Payload, trial: Trial, work: Path) -> str:
    return curl_push(ctx, payload, trial, work, LINK_PARALLEL)


def oras_cli_push(
    ctx: Context, payload: Payload, trial: Trial, work: Path, options: Sequence[str] = ()
) -> str:
    """`oras-py push --plain-http [options] REF FILES...` from the payload's directory."""
    repo = ctx.fresh_repo(f"{payload.key}-cli")
    ref = f"{ctx.host}/{repo}:{SEED_TAG}"
    command = [*ctx.oras_cli, "push", "--plain-http", *options, ref, *payload.names]
    trial.run(command, cwd=payload.root, env=ctx.child_env())
    return repo


def oras_cli_push_serial(ctx: Context, payload: Payload, trial: Trial, work: Path) -> str:
    return oras_cli_push(ctx, payload, trial, work, SERIAL_OPTIONS)


def oras_lib_push(ctx: Context, payload: Payload, trial: Trial, work: Path) -> str:
    """`OrasClient(insecure=True).push(...)` in a fresh interpreter."""
    repo = ctx.fresh_repo(f"{payload.key}-lib")
    ref = f"{ctx.host}/{repo}:{SEED_TAG}"
    command = [ctx.python, "-c", LIB_PUSH, ref, *payload.names]
    trial.run(command, cwd=payload.root, env=ctx.child_env())
    return repo


def curl_pull(
    ctx: Context, payload: Payload, trial: Trial, work: Path, repo: str, parallel: int = 0
) -> None:
    """Raw pull: the manifest, then every blob to a file, on one connection (then untar);
    with `parallel`, that many requests at a time."""
    out = work / "out"
    out.mkdir()
    base = f"{ctx.url}/v2/{repo}"
    entries: list[dict[str, object]] = [
        {
            "url": f"{base}/manifests/{SEED_TAG}",
            "header": f"Accept: {MANIFEST_TYPE}",
            "output": work / "manifest.json",
        }
    ]
    for blob in payload.blobs:
        target = work / "blob.tar.gz" if payload.directory else out / blob.title
        entries.append({"url": f"{base}/blobs/{blob.digest}", "location": True, "output": target})
    (work / "pull.cfg").write_text(_curl_config(entries))
    command = [ctx.curl, *_parallel_options(parallel), "-K", str(work / "pull.cfg")]
    _check_codes(trial.run(command), [200] * len(entries), "GET")
    if payload.directory:
        trial.run(["tar", "-xzf", str(work / "blob.tar.gz"), "-C", str(out)])


def curl_pull_parallel(ctx: Context, payload: Payload, trial: Trial, work: Path, repo: str) -> None:
    curl_pull(ctx, payload, trial, work, repo, PULL_PARALLEL)


def curl_pull_link(ctx: Context, payload: Payload, trial: Trial, work: Path, repo: str) -> None:
    curl_pull(ctx, payload, trial, work, repo, LINK_PARALLEL)


def verified_pull(ctx: Context, payload: Payload, trial: Trial, work: Path, repo: str) -> None:
    """The minimal single-threaded verified pull (`VERIFIED_PULL`)."""
    command = [ctx.python, "-c", VERIFIED_PULL, ctx.host, repo, SEED_TAG]
    trial.run([*command, str(work / "out")], env=ctx.child_env())


def verified_threaded_pull(
    ctx: Context, payload: Payload, trial: Trial, work: Path, repo: str
) -> None:
    """`VERIFIED_THREADED`: the verified loop hashing on a second thread."""
    command = [ctx.python, "-c", VERIFIED_THREADED, ctx.host, repo, SEED_TAG]
    trial.run([*command, str(work / "out")], env=ctx.child_env())


def oras_cli_pull(
    ctx: Context,
    payload: Payload,
    trial: Trial,
    work: Path,
    repo: str,
    options: Sequence[str] = (),
) -> None:
    """`oras-py pull --plain-http [options] REF -o DIR`."""
    ref = f"{ctx.host}/{repo}:{SEED_TAG}"
    command = [*ctx.oras_cli, "pull", "--plain-http", *options, ref, "-o", str(work / "out")]
    trial.run(command, cwd=work, env=ctx.child_env())


def oras_cli_pull_serial(
    ctx: Context, payload: Payload, trial: Trial, work: Path, repo: str
) -> None:
    oras_cli_pull(ctx, payload, trial, work, repo, SERIAL_OPTIONS)


def oras_cli_pull_one_stream(
    ctx: Context, payload: Payload, trial: Trial, work: Path, repo: str
) -> None:
    oras_cli_pull(ctx, payload, trial, work, repo, ONE_STREAM_OPTIONS)


def oras_lib_pull(ctx: Context, payload: Payload, trial: Trial, work: Path, repo: str) -> None:
    """`OrasClient(insecure=True).pull(...)` in a fresh interpreter."""
    ref = f"{ctx.host}/{repo}:{SEED_TAG}"
    trial.run([ctx.python, "-c", LIB_PULL, ref, str(work / "out")], cwd=work, env=ctx.child_env())


def upstream_push(ctx: Context, payload: Payload, trial: Trial, work: Path) -> str:
    """Upstream oras-py's `OrasClient(insecure=True).push(...)`, in its own environment."""
    repo = ctx.fresh_repo(f"{payload.key}-upstream")
    ref = f"{ctx.host}/{repo}:{SEED_TAG}"
    command = [ctx.upstream_python, "-c", LIB_PUSH, ref, *payload.names]
    trial.run(command, cwd=payload.root, env=ctx.child_env())
    return repo


def upstream_pull(ctx: Context, payload: Payload, trial: Trial, work: Path, repo: str) -> None:
    """Upstream oras-py's `OrasClient(insecure=True).pull(...)`, in its own environment."""
    ref = f"{ctx.host}/{repo}:{SEED_TAG}"
    command = [ctx.upstream_python, "-c", LIB_PULL, ref, str(work / "out")]
    trial.run(command, cwd=work, env=ctx.child_env())


def hash_file(ctx: Context, payload: Payload, trial: Trial, work: Path, repo: str) -> None:
    """`HASH_FILE`: hashlib's SHA-256 of the (page-cached) source file, the verified floor."""
    trial.run([ctx.python, "-c", HASH_FILE, str(payload.root / payload.names[0])])


def curl_ranges(ctx: Context, payload: Payload, trial: Trial, work: Path, repo: str) -> None:
    """curl fetching the one blob as RANGES byte ranges at once (`--parallel`, `-r`), each
    into a file of its own (not joined, not verified): what N connections get through the
    link, the proof that the simulator is not the bottleneck."""
    [blob] = payload.blobs
    out = work / "parts"
    out.mkdir()
    step = -(-blob.size // RANGES)
    entries: list[dict[str, object]] = [
        {
            "url": f"{ctx.url}/v2/{repo}/blobs/{blob.digest}",
            "location": True,
            "range": f"{start}-{min(start + step, blob.size) - 1}",
            "output": out / f"part-{i:02d}",
        }
        for i, start in enumerate(range(0, blob.size, step))
    ]
    (work / "ranges.cfg").write_text(_curl_config(entries))
    # Without --parallel-immediate curl waits for the first connection, to multiplex on it.
    parallel = [*_parallel_options(len(entries)), "--parallel-immediate"]
    command = [ctx.curl, *parallel, "-K", str(work / "ranges.cfg")]
    _check_codes(trial.run(command), [206] * len(entries), "GET")
    got = sum(p.stat().st_size for p in out.iterdir())
    if got != blob.size:
        raise StepFailed(f"the ranges add up to {got} bytes, not {blob.size}")


def check_pulled(payload: Payload, out: Path) -> None:
    """The pulled files have the pushed sizes (and bytes, below VERIFY_LIMIT)."""
    if payload.directory:
        tree = out / payload.names[0]
        source = payload.root / payload.names[0]
        expected = sorted(p.name for p in source.iterdir())
        got = sorted(p.name for p in tree.iterdir()) if tree.is_dir() else []
        if got != expected:
            raise StepFailed(f"pulled directory has {len(got)} files, expected {len(expected)}")
        for name in expected:
            if (tree / name).read_bytes() != (source / name).read_bytes():
                raise StepFailed(f"pulled {name} differs")
        return
    for blob in payload.blobs:
        path = out / blob.title
        if not path.is_file() or path.stat().st_size != blob.size:
            raise StepFailed(f"pulled {blob.title} missing or of the wrong size")
        if blob.size <= VERIFY_LIMIT and not payload.sparse and sha256_file(path) != blob.digest:
            raise StepFailed(f"pulled {blob.title} has the wrong digest")


# -- copies between registries ---------------------------------------------------------------

#: skopeo's user when the benchmark runs as root (see `skopeo_copy`): nobody.
SKOPEO_UID = 65534
SKOPEO_POLICY = {"default": [{"type": "insecureAcceptAnything"}]}


def _copy_refs(ctx: Context, source: str, destination: str) -> tuple[str, str]:
    """`host/repo:tag` of the source (the first registry) and of the destination (the second)."""
    assert ctx.second is not None
    return f"{ctx.host}/{source}:{SEED_TAG}", f"{ctx.second.host}/{destination}:{SEED_TAG}"


def skopeo_copy(ctx: Context, trial: Trial, work: Path, source: str, destination: str) -> None:
    """`skopeo copy --all --preserve-digests docker://SRC docker://DST`, the manifest unchanged.

    containers/image remembers where it saw every blob (its blob-info cache) and mounts a blob
    from an earlier destination repository of the same registry instead of copying it; that
    would turn every run after the first into a few mounts. The cache is per user, and root's
    is the machine-wide /var/lib/containers/cache, so every run gets a fresh HOME, and as root
    skopeo runs as the user nobody, whose cache is then under that HOME. That HOME is made in
    the system temporary directory, not in the work directory (mode 0700), so that nobody can
    reach it.
    """
    src, dst = _copy_refs(ctx, source, destination)
    home = Path(tempfile.mkdtemp(prefix="oras-bench-skopeo-"))
    try:
        policy = home / "policy.json"
        policy.write_text(json.dumps(SKOPEO_POLICY))
        (home / "registries.d").mkdir()
        prefix: list[str] = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                raise StepFailed("setpriv (util-linux) is needed to run skopeo as nobody")
            for path in (home, policy, home / "registries.d"):
                os.chown(path, SKOPEO_UID, SKOPEO_UID)
            prefix = [setpriv, f"--reuid={SKOPEO_UID}", f"--regid={SKOPEO_UID}", "--clear-groups"]
            prefix.append("--")
        env = ctx.child_env()
        env.update(
            HOME=str(home),
            XDG_DATA_HOME=str(home / "share"),
            XDG_RUNTIME_DIR=str(home / "run"),
            TMPDIR=str(home),
        )
        command = [
            *prefix,
            ctx.skopeo,
            "--policy",
            str(policy),
            "--registries.d",
            str(home / "registries.d"),
            "copy",
            "--quiet",
            "--all",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--src-no-creds",
            "--dest-no-creds",
            f"docker://{src}",
            f"docker://{dst}",
        ]
        trial.run(command, cwd=home, env=env)
    finally:
        shutil.rmtree(home, ignore_errors=True)


#: One blob from the source to the destination: curl GET piped into a monolithic curl PUT.
_PIPE = (
    '"$0" -sS --fail "$1" | "$0" -sS -T - -H "Content-Type: application/octet-stream"'
    ' -H "Expect:" -o /dev/null -w "%{http_code}\\n" "$2"'
)


def curl_pipe_copy(
    ctx: Context, trial: Trial, work: Path, source: str, destination: str, blobs: Sequence[Blob]
) -> None:
    """The raw floor of a copy: the POSTs, then for every blob `curl GET | curl PUT` (streamed,
    the digest known from the manifest), then the manifest GET and PUT on one connection."""
    assert ctx.second is not None
    src_base, dst_base = f"{ctx.url}/v2/{source}", f"{ctx.second.url}/v2/{destination}"
    config = "sha256:" + hashlib.sha256(EMPTY_CONFIG).hexdigest()
    digests = [config, *(blob.digest for blob in blobs)]
    posts = [
        {
            "url": f"{dst_base}/blobs/uploads/",
            "request": "POST",
            "output": "/dev/null",
            "dump-header": work / f"h{i}",
        }
        for i in range(len(digests))
    ]
    (work / "posts.cfg").write_text(_curl_config(posts))
    _check_codes(trial.run([ctx.curl, "-K", str(work / "posts.cfg")]), [202] * len(digests), "POST")
    for i, digest in enumerate(digests):
        location = _location_from(work / f"h{i}")
        put = f"{location}{'&' if '?' in location else '?'}digest={digest}"
        codes = trial.run(["sh", "-c", _PIPE, ctx.curl, f"{src_base}/blobs/{digest}", put])
        _check_codes(codes, [201], f"piped PUT of {digest}")
    manifest = work / "manifest.json"
    entries: list[dict[str, object]] = [
        {
            "url": f"{src_base}/manifests/{SEED_TAG}",
            "header": f"Accept: {MANIFEST_TYPE}",
            "output": manifest,
        },
        {
            "url": f"{dst_base}/manifests/{SEED_TAG}",
            "upload-file": manifest,
            "header": [f"Content-Type: {MANIFEST_TYPE}", "Expect:"],
            "output": "/dev/null",
        },
    ]
    (work / "manifest.cfg").write_text(_curl_config(entries))
    _check_codes(trial.run([ctx.curl, "-K", str(work / "manifest.cfg")]), [200, 201], "manifest")


def oras_cli_copy(ctx: Context, trial: Trial, work: Path, source: str, destination: str) -> None:
    """`oras-py cp --from-plain-http --to-plain-http SRC DST`."""
    src, dst = _copy_refs(ctx, source, destination)
    command = [*ctx.oras_cli, "cp", "--from-plain-http", "--to-plain-http", src, dst]
    trial.run(command, cwd=work, env=ctx.child_env())


def oras_lib_copy(ctx: Context, trial: Trial, work: Path, source: str, destination: str) -> None:
    """`oras.copy.copy` between two `OrasClient(insecure=True).repository(...)` stores."""
    assert ctx.second is not None
    src, dst = f"{ctx.host}/{source}", f"{ctx.second.host}/{destination}"
    trial.run([ctx.python, "-c", LIB_COPY, src, dst, SEED_TAG], cwd=work, env=ctx.child_env())


def check_copied(ctx: Context, destination: str, digest: str) -> None:
    """The destination holds the source's manifest digest, and no blob of it was mounted."""
    assert ctx.second is not None and ctx.second_client is not None
    got = ctx.second_client.manifest_digest(destination, SEED_TAG)
    if got != digest:
        raise StepFailed(f"{destination}:{SEED_TAG} is {got or 'missing'}, expected {digest}")
    mounted = re.compile(
        rf'"POST /v2/{re.escape(destination)}/blobs/uploads/\?[^"]*mount=[^"]*" 201 '
    )
    if mounted.search(ctx.second.log_path.read_text(errors="replace")):
        raise StepFailed(f"a blob was mounted into {destination} instead of copied")


# -- workloads -------------------------------------------------------------------------------

PushTool = Callable[[Context, Payload, Trial, Path], str]
PullTool = Callable[[Context, Payload, Trial, Path, str], None]


@dataclasses.dataclass
class Tool:
    """One way of doing a workload; `raw` marks the baseline that ratios are taken against."""

    name: str
    measure: Callable[[Context, Trial, Path], None]
    raw: bool = False
    samples: list[Sample] = dataclasses.field(default_factory=list)
    error: str = ""

    def median(self, field: str) -> float:
        return statistics.median(getattr(s, field) for s in self.samples)

    @property
    def peak_rss_mib(self) -> float:
        return max(s.max_rss_kib for s in self.samples) / 1024


@dataclasses.dataclass
class Workload:
    """One row group of the table: a transfer (or start-up) and the tools that do it."""

    key: str
    title: str
    tools: list[Tool]
    #: A proxy every tool goes through instead of talking to the registry directly.
    via: Optional[FaultProxy] = None
    #: A copy from the registry to the second one: the CPU of both registries is counted.
    across: bool = False
    #: What the ratio column calls the baseline.
    baseline: str = "raw"

    def tool(self, name: str) -> Optional[Tool]:
        return next((t for t in self.tools if t.name == name and t.samples), None)

    @property
    def raw(self) -> Optional[Tool]:
        return next((t for t in self.tools if t.raw and t.samples), None)


CURL, VERIFIED, CLI, LIB = "curl", "python verified loop", "oras-py CLI", "oras library"
UPSTREAM = f"oras-py {UPSTREAM_VERSION} library"
HASHLIB = "python hashlib (no transfer)"
VERIFIED_THREADED_NAME = "python verified loop, hashing thread"
#: The ranges curl fetches at once in `link-big` (oras' default number of ranges).
RANGES = 8
CURL_RANGES = f"curl {RANGES} ranges --parallel"
#: For information on the many-layer workloads: curl itself with oras' default concurrency.
PUSH_PARALLEL, PULL_PARALLEL = 5, 3
CURL_PUSH_PARALLEL = f"curl --parallel-max {PUSH_PARALLEL}"
#: The floor of the 1 GiB push: curl's upload with hashlib hashing the file at the same time
#: (the plain baseline's digest is computed beforehand, untimed; oras must compute it).
CURL_HASHING = "curl, hashlib hashing the file alongside"
CURL_PULL_PARALLEL = f"curl --parallel-max {PULL_PARALLEL}"
#: For information through the link: curl at the most blobs oras moves at once
#: (`oras.concurrency.MAX_CONCURRENCY`), what the leanest client gets there on this machine.
LINK_PARALLEL = 16
CURL_LINK_PARALLEL = f"curl --parallel-max {LINK_PARALLEL}"
#: For information on the many-layer workloads: what the engine's parallelism itself buys.
SERIAL_OPTIONS = ("--concurrency", "1")
CLI_SERIAL = "oras-py CLI --concurrency 1"
#: For information on the one-blob pulls: what the parallel ranges themselves buy.
ONE_STREAM_OPTIONS = ("--ranges", "1")
CLI_ONE_STREAM = "oras-py CLI --ranges 1"


def push_workload(key: str, title: str, payload: Payload, upstream: bool = False) -> Workload:
    """Raw curl push, the CLI and the library, each to a fresh repository, checked after."""

    def wrap(tool: PushTool) -> Callable[[Context, Trial, Path], None]:
        def measure(ctx: Context, trial: Trial, work: Path) -> None:
            repo = tool(ctx, payload, trial, work)
            if not ctx.client.has_manifest(repo, SEED_TAG):
                raise StepFailed(f"{repo}:{SEED_TAG} not in the registry after the push")

        return measure

    tools = [
        Tool("tar + sha256sum + curl" if payload.directory else CURL, wrap(curl_push), raw=True),
        Tool(CLI, wrap(oras_cli_push)),
        Tool(LIB, wrap(oras_lib_push)),
    ]
    if upstream and not payload.sparse:
        tools.append(Tool(UPSTREAM, wrap(upstream_push)))
    if key == "push-big":
        tools.append(Tool(CURL_HASHING, wrap(curl_push_hashing)))
    if len(payload.blobs) > 1:
        tools.append(Tool(CLI_SERIAL, wrap(oras_cli_push_serial)))
        tools.append(Tool(CURL_PUSH_PARALLEL, wrap(curl_push_parallel)))
    if len(payload.blobs) > 1 and key in LINK_PUSHES:
        tools.append(Tool(CURL_LINK_PARALLEL, wrap(curl_push_link)))
    return Workload(key, title, tools)


def pull_workload(
    key: str, title: str, payload: Payload, repo: str, upstream: bool = False
) -> Workload:
    """Raw curl pull, the verified loop (files), the CLI and the library (and upstream
    oras-py's), each checked after; for one large blob, hashlib hashing it too (the floor)."""

    def wrap(tool: PullTool) -> Callable[[Context, Trial, Path], None]:
        def measure(ctx: Context, trial: Trial, work: Path) -> None:
            tool(ctx, payload, trial, work, repo)
            check_pulled(payload, work / "out")

        return measure

    tools = [Tool("curl + tar" if payload.directory else CURL, wrap(curl_pull), raw=True)]
    if not payload.directory and key != "pull-link-big":
        tools.append(Tool(VERIFIED, wrap(verified_pull)))
    if key == "pull-big":
        tools.append(
            Tool(HASHLIB, lambda ctx, trial, work: hash_file(ctx, payload, trial, work, repo))
        )
        tools.append(Tool(VERIFIED_THREADED_NAME, wrap(verified_threaded_pull)))
    if key == "pull-link-big":
        tools.append(
            Tool(CURL_RANGES, lambda ctx, trial, work: curl_ranges(ctx, payload, trial, work, repo))
        )
    tools += [Tool(CLI, wrap(oras_cli_pull)), Tool(LIB, wrap(oras_lib_pull))]
    if upstream and not payload.sparse:
        tools.append(Tool(UPSTREAM, wrap(upstream_pull)))
    if key in ("pull-big", "pull-link-big"):
        tools.append(Tool(CLI_ONE_STREAM, wrap(oras_cli_pull_one_stream)))
    if len(payload.blobs) > 1:
        tools.append(Tool(CLI_SERIAL, wrap(oras_cli_pull_serial)))
        tools.append(Tool(CURL_PULL_PARALLEL, wrap(curl_pull_parallel)))
    if len(payload.blobs) > 1 and key in LINK_PULLS:
        tools.append(Tool(CURL_LINK_PARALLEL, wrap(curl_pull_link)))
    return Workload(key, title, tools)


CopyTool = Callable[[Context, Trial, Path, str, str], None]
SKOPEO_COPY, CURL_PIPE = "skopeo copy", "curl GET piped to curl PUT"


def copy_workload(key: str, title: str, payload: Payload, source: str, digest: str) -> Workload:
    """skopeo (the baseline), the CLI and the library (and, for a single blob, curl piped into
    curl) copying `source` to a fresh repository of the second registry, each checked after."""

    def wrap(tool: CopyTool) -> Callable[[Context, Trial, Path], None]:
        def measure(ctx: Context, trial: Trial, work: Path) -> None:
            destination = ctx.fresh_repo(key)
            tool(ctx, trial, work, source, destination)
            check_copied(ctx, destination, digest)

        return measure

    def curl_pipe(ctx: Context, trial: Trial, work: Path, source: str, destination: str) -> None:
        curl_pipe_copy(ctx, trial, work, source, destination, payload.blobs)

    tools = [
        Tool(SKOPEO_COPY, wrap(skopeo_copy), raw=True),
        Tool(CLI, wrap(oras_cli_copy)),
        Tool(LIB, wrap(oras_lib_copy)),
    ]
    if len(payload.blobs) == 1:
        tools.append(Tool(CURL_PIPE, wrap(curl_pipe)))
    return Workload(key, title, tools, across=True, baseline="skopeo")


def startup_workload(ctx_python: str, oras_cli: list[str]) -> Workload:
    """`python -c pass` (raw), `oras-py --help`, and `import oras.client` for information."""

    def command(argv: list[str]) -> Callable[[Context, Trial, Path], None]:
        def measure(ctx: Context, trial: Trial, work: Path) -> None:
            trial.run(argv, cwd=work, env=ctx.child_env())

        return measure

    tools = [
        Tool("python -c pass", command([ctx_python, "-c", "pass"]), raw=True),
        Tool("oras-py --help", command([*oras_cli, "--help"])),
        Tool("python -c 'import oras.client'", command([ctx_python, "-c", LIB_IMPORT])),
    ]
    return Workload("startup", "start-up", tools)


@contextlib.contextmanager
def via_proxy(ctx: Context, proxy: FaultProxy) -> Iterator[None]:
    """Point the tools at `proxy` (which forwards the client's Host, so Location URLs too)."""
    host, url = ctx.host, ctx.url
    ctx.host, ctx.url = proxy.host, proxy.url
    try:
        yield
    finally:
        ctx.host, ctx.url = host, url


def run_workload(ctx: Context, workload: Workload, runs: int, log: Callable[[str], None]) -> None:
    """Measure every tool `runs` times, interleaved, each in a fresh scratch directory. Every
    run after the first takes the tools in another order (shuffled, the same for the same
    workload and run), so that no tool always follows the same one: what a row leaves behind
    (memory it freed, which a virtual machine may hand back to its host and the next writer
    then pays to fault in again) does not always fall on the same row."""
    for run in range(1, runs + 1):
        tools = list(workload.tools)
        if run > 1:
            random.Random(f"{workload.key}/{run}").shuffle(tools)
        for tool in tools:
            if tool.error:
                continue
            work = Path(tempfile.mkdtemp(prefix="trial-", dir=ctx.scratch))
            trial = Trial(ctx.rss_prefix, ctx.registry_pids(workload.across))
            seen = len(workload.via.log(settle=0)) if workload.via else 0
            try:
                if workload.via is None:
                    tool.measure(ctx, trial, work)
                else:
                    with via_proxy(ctx, workload.via):
                        tool.measure(ctx, trial, work)
                    if len(workload.via.log(settle=0)) == seen:
                        raise StepFailed("no request went through the delaying proxy")
            except StepFailed as err:
                tool.error = str(err)
                log(f"  {workload.title} / {tool.name}: FAILED: {err}")
            else:
                tool.samples.append(trial.sample)
                log(
                    f"  {workload.title} / {tool.name} run {run}: {trial.sample.wall:.3f} s wall,"
                    f" {trial.sample.cpu:.3f} s CPU, {trial.sample.max_rss_kib / 1024:.1f} MiB"
                )
            finally:
                shutil.rmtree(work, ignore_errors=True)
                os.sync()  # written-back pulls must not slow down the next measurement


# -- report ----------------------------------------------------------------------------------


def _cell(tool: Tool, raw: Optional[Tool], baseline: str = "raw") -> list[str]:
    if not tool.samples:
        return ["failed", "", "", "", f"`{tool.error[:160]}`"]
    wall, cpu = tool.median("wall"), tool.median("cpu")
    ratio = f"1.00 ({baseline})" if tool is raw else ""
    ratio = ratio or (f"{wall / raw.median('wall'):.2f}" if raw else "")
    registry_cpu = f"{tool.median('registry_cpu'):.3f}"
    return [f"{wall:.3f}", f"{cpu:.3f}", registry_cpu, f"{tool.peak_rss_mib:.1f}", ratio]


def results_table(workloads: Sequence[Workload]) -> str:
    """The Markdown results table, one row per workload and tool."""
    rows = [
        "| Workload | Tool | Wall median (s) | CPU median (s) | Registry CPU median (s)"
        " | Peak RSS (MiB) | × raw wall |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for workload in workloads:
        raw = workload.raw
        for tool in workload.tools:
            cells = _cell(tool, raw, workload.baseline)
            rows.append("| " + " | ".join([workload.title, tool.name, *cells]) + " |")
    return "\n".join(rows)


@dataclasses.dataclass
class TargetResult:
    target: str
    measured: str
    passed: Optional[bool]  # None: not measured
    #: False when no client as lean as the baseline could meet it here (see `cpu_floor`), or
    #: curl's own parallel mode does not either.
    reachable: bool = True

    @property
    def verdict(self) -> str:
        if self.passed is False and not self.reachable:
            return "FAIL (out of reach on this machine)"
        return {True: "PASS", False: "FAIL", None: "not measured"}[self.passed]


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_floor(base: Tool, cpus: int) -> float:
    """The least wall time in which a client as lean as the baseline could make its requests.

    The registry shares the machine's cores with the client: however the client schedules
    its requests, the registry spends the CPU time it spent serving the baseline and the
    client at least the baseline's own; at best both are spread evenly over every core.
    """
    return (base.median("registry_cpu") + base.median("cpu")) / cpus


def _ratio_target(
    workload: Optional[Workload],
    baseline: str,
    limit: float,
    target: str,
    cpus: Optional[int] = None,
) -> TargetResult:
    """`target` met when the CLI's and the library's wall medians are at most `limit` × the
    baseline's; with `cpus`, also whether the registry's own CPU time leaves it in reach."""
    if workload is None:
        return TargetResult(target, "", None)
    base = workload.tool(baseline)
    parts, verdicts = [], []
    for name in (CLI, LIB):
        tool = workload.tool(name)
        if base is None or tool is None:
            parts.append(f"{name}: failed")
            verdicts.append(False)
            continue
        ratio = tool.median("wall") / base.median("wall")
        parts.append(f"{name} {ratio:.2f}×")
        verdicts.append(ratio <= limit)
    measured = ", ".join(parts)
    serial, parallel = workload.tool(CLI_SERIAL), workload.tool(CLI)
    if serial is not None and parallel is not None and base is not None:
        measured += (
            f" (for information, CLI `--concurrency 1`:"
            f" {serial.median('wall') / base.median('wall'):.2f}×; the default concurrency"
            f" takes {parallel.median('wall') / serial.median('wall'):.2f}× its time)"
        )
    lean_ratio: Optional[float] = None
    for name in (CURL_PUSH_PARALLEL, CURL_PULL_PARALLEL, CURL_LINK_PARALLEL):
        lean = workload.tool(name)
        if lean is not None and base is not None:
            ratio = lean.median("wall") / base.median("wall")
            lean_ratio = ratio if lean_ratio is None else min(lean_ratio, ratio)
            measured += f"; `{name}` itself: {ratio:.2f}×"
    reachable = True
    if workload.key in (*LINK_PUSHES, *LINK_PULLS) and lean_ratio is not None:
        # Out of reach when the leanest concurrent client there is misses it as well.
        reachable = lean_ratio <= limit
    if cpus and base is not None and base.median("registry_cpu") > 0:
        floor = cpu_floor(base, cpus)
        goal = limit * base.median("wall")
        # Out of reach when the floor is above the target, or the leanest concurrent client
        # there is (curl's own parallel mode) misses it as well.
        reachable = floor <= goal and (lean_ratio is None or lean_ratio <= limit)
        measured += (
            f"; CPU-bound floor {floor / base.median('wall'):.2f}×: the registry's"
            f" {base.median('registry_cpu'):.3f} s and {baseline}'s own"
            f" {base.median('cpu'):.3f} s of CPU, spread evenly over {cpus} cores, take at"
            f" least {floor:.3f} s against a target of {goal:.3f} s"
        )
    return TargetResult(target, measured, all(verdicts), reachable)


def _judge_by_floor(
    result: TargetResult,
    workload: Optional[Workload],
    baseline: str,
    floor_name: str,
    limit: float,
) -> None:
    """Show the `floor_name` row's ratio to `baseline` beside `result`: the target is out of
    reach where that row, a lean client doing no more than the work any client must do,
    misses it as well."""
    base = workload.tool(baseline) if workload else None
    floor = workload.tool(floor_name) if workload else None
    if base is None or floor is None or not base.samples or not floor.samples:
        return
    ratio = floor.median("wall") / base.median("wall")
    result.measured += f"; `{floor_name}` itself: {ratio:.2f}×"
    result.reachable = ratio <= limit


def evaluate_targets(
    by_key: dict[str, Workload],
    sizes: Sizes,
    latency_ms: float = LATENCY_MS,
    link_rate: float = LINK_RATE_MIB,
) -> list[TargetResult]:
    """Issue 4's and issue 13's targets, each PASS only when both the CLI and the library
    meet it."""
    big, layers = human_size(sizes.big), f"{sizes.layers} layers of {human_size(sizes.layer_size)}"
    cpus = usable_cpus()
    pushed = _ratio_target(
        by_key.get("push-big"),
        CURL,
        PUSH_RATIO_TARGET,
        f"push of {big}: ≤ {PUSH_RATIO_TARGET:.2f} × curl monolithic upload",
    )
    # Out of reach when curl itself, with the hashing any client that computes the digest
    # must do, misses it as well.
    _judge_by_floor(pushed, by_key.get("push-big"), CURL, CURL_HASHING, PUSH_RATIO_TARGET)
    results = [
        pushed,
        _ratio_target(
            by_key.get("pull-big"),
            VERIFIED,
            PULL_RATIO_TARGET,
            f"pull of {big}, verified: ≤ {PULL_RATIO_TARGET:.2f} × the Python verified loop",
        ),
        _ratio_target(
            by_key.get("push-layers"),
            CURL,
            LAYERS_RATIO_TARGET,
            f"push of {layers}: ≤ {LAYERS_RATIO_TARGET:.2f} × curl one after another",
            cpus,
        ),
        _ratio_target(
            by_key.get("pull-layers"),
            CURL,
            LAYERS_RATIO_TARGET,
            f"pull of {layers}: ≤ {LAYERS_RATIO_TARGET:.2f} × curl one after another",
            cpus,
        ),
    ]
    hashed = _ratio_target(
        by_key.get("pull-big"),
        HASHLIB,
        HASH_RATIO_TARGET,
        f"pull of {big}, verified: ≤ {HASH_RATIO_TARGET:.2f} × hashlib hashing the file",
    )
    pull_big = by_key.get("pull-big")
    curl, hasher = (pull_big.tool(CURL), pull_big.tool(HASHLIB)) if pull_big else (None, None)
    if curl is not None and hasher is not None and curl.samples and hasher.samples:
        # The download alone, unverified, is the other floor: hashing can only overlap it.
        hashed.measured += (
            f" (for information, curl's download alone, not hashed, takes"
            f" {curl.median('wall') / hasher.median('wall'):.2f}× hashlib's time)"
        )
        # Out of reach when the leanest verified pull there is misses it as well.
        _judge_by_floor(hashed, pull_big, HASHLIB, VERIFIED_THREADED_NAME, HASH_RATIO_TARGET)
    results.append(hashed)
    link = f"through the {latency_ms:g} ms, {link_rate:g} MiB/s link"
    for direction in ("push", "pull"):
        for baseline, what in ((CURL, "curl one after another"), (UPSTREAM, UPSTREAM)):
            results.append(
                _ratio_target(
                    by_key.get(f"{direction}-latency"),
                    baseline,
                    LATENCY_RATIO_TARGET,
                    f"{direction} of {layers} {link}: ≤ {LATENCY_RATIO_TARGET:.2f} × {what}",
                )
            )
    link_big = by_key.get("pull-link-big")
    results.append(
        _ratio_target(
            link_big,
            CURL,
            LINK_BIG_RATIO_TARGET,
            f"pull of {human_size(sizes.link_big)} {link}:"
            f" ≤ {LINK_BIG_RATIO_TARGET:.2f} × curl as one stream",
        )
    )
    if link_big is not None:
        peaks = [(name, link_big.tool(name)) for name in (CLI, LIB)]
        results.append(
            TargetResult(
                f"peak RSS of that pull: < {MEMORY_TARGET_MIB:.0f} MiB",
                ", ".join(
                    f"{name} {tool.peak_rss_mib:.0f} MiB" if tool else f"{name}: failed"
                    for name, tool in peaks
                ),
                all(
                    tool is not None and tool.peak_rss_mib < MEMORY_TARGET_MIB for _, tool in peaks
                ),
            )
        )
    results.append(
        _ratio_target(
            by_key.get("cp-big"),
            SKOPEO_COPY,
            1.00,
            f"cp of {human_size(sizes.cp)} between registries: ≤ 1.00 × skopeo copy",
        )
    )
    sparse = human_size(sizes.sparse)
    memory_parts, memory_ok = [], []
    measured_memory = False
    for key in ("push-sparse", "pull-sparse"):
        workload = by_key.get(key)
        if workload is None:
            continue
        measured_memory = True
        for name in (CLI, LIB):
            tool = workload.tool(name)
            if tool is None:
                memory_parts.append(f"{key.split('-')[0]} {name}: failed")
                memory_ok.append(False)
            else:
                memory_parts.append(f"{key.split('-')[0]} {name} {tool.peak_rss_mib:.0f} MiB")
                memory_ok.append(tool.peak_rss_mib < MEMORY_TARGET_MIB)
    results.append(
        TargetResult(
            f"peak RSS of the {sparse} push and pull: < {MEMORY_TARGET_MIB:.0f} MiB",
            ", ".join(memory_parts),
            all(memory_ok) if measured_memory else None,
        )
    )
    startup = by_key.get("startup")
    help_tool = startup.tool("oras-py --help") if startup else None
    base_tool = startup.tool("python -c pass") if startup else None
    if startup is None:
        results.append(TargetResult("`oras-py --help` start-up", "", None))
    elif help_tool is None or base_tool is None:
        results.append(TargetResult("`oras-py --help` start-up", "failed", False))
    else:
        extra = help_tool.median("wall") - base_tool.median("wall")
        results.append(
            TargetResult(
                f"`oras-py --help`: ≤ `python -c pass` + {STARTUP_EXTRA_TARGET:.2f} s",
                f"+{extra:.3f} s",
                extra <= STARTUP_EXTRA_TARGET,
            )
        )
    return results


def _first_line(command: Sequence[str]) -> str:
    try:
        result = subprocess.run(list(command), capture_output=True, text=True, timeout=30)
    except OSError as err:
        return f"unknown ({err})"
    text = (result.stdout or result.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def machine_facts(ctx: Context, workdir: Path) -> list[tuple[str, str]]:
    """What the figures depend on: CPUs, memory, versions, the disk."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        first = Path("/proc/meminfo").read_text().split("\n", 1)[0]  # MemTotal: N kB
        memory = f"{int(first.split()[1]) / MiB:.1f} GiB"
    except OSError:
        memory = "unknown"
    commit = _first_line(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"])
    dirty = _first_line(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", "oras"])
    if dirty not in ("unknown", ""):
        commit += " (oras/ has uncommitted changes)"
    usable = usable_cpus()
    filesystem = _first_line(["findmnt", "-no", "SOURCE,FSTYPE", "-T", str(workdir)])
    return [
        ("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")),
        ("CPUs (nproc)", f"{usable} × {cpu}"),
        ("memory", memory),
        ("kernel", f"{platform.system()} {platform.release()}"),
        ("Python", _first_line([ctx.python, "-c", "import sys; print(sys.version)"])),
        (
            "oras",
            _first_line([ctx.python, "-c", "import oras.version as v; print(v.__version__)"])
            + f", commit {commit}",
        ),
        ("registry", _first_line([REGISTRY_BINARY, "--version"])),
        ("curl", " ".join(_first_line([ctx.curl, "--version"]).split()[:2])),
        *([("skopeo", _first_line([ctx.skopeo, "--version"]))] if ctx.skopeo else []),
        ("work directory", f"{workdir} ({filesystem})"),
    ]


def render_report(
    command: str,
    facts: Sequence[tuple[str, str]],
    sizes: Sizes,
    runs: int,
    quick: bool,
    workloads: Sequence[Workload],
    latency_ms: float = LATENCY_MS,
    link_rate: float = LINK_RATE_MIB,
) -> str:
    by_key = {w.key: w for w in workloads}
    targets = evaluate_targets(by_key, sizes, latency_ms, link_rate)
    lines = [
        "# Benchmarks",
        "",
        "Produced by `bench/run.py` (see `bench/README.md` for what each row measures):",
        "",
        "```",
        command,
        "```",
        "",
    ]
    if quick:
        lines += [
            "**Quick run**: tiny sizes for a smoke test; the figures say nothing about the"
            " targets.",
            "",
        ]
    lines += ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in facts]
    lines += [
        "",
        "## Results",
        "",
        f"Medians of {runs} run(s); CPU is user + sys of the tool, registry CPU that of the"
        " registry process while the tool ran (it shares the machine's cores with the tool);"
        " peak RSS is the largest of the runs"
        " (for a row made of several commands, of its largest command). Sizes: one file of"
        f" {human_size(sizes.big)}; {sizes.layers} files of {human_size(sizes.layer_size)} as"
        f" {sizes.layers} layers; a directory of {sizes.small_files} files of"
        f" {human_size(sizes.small_size)} (one tar+gzip layer); a sparse file of"
        f" {human_size(sizes.sparse)}."
        + (
            f' The "over {latency_ms:g} ms" rows move the same data through the link simulator'
            f" (`tests/harness/link.py`), a loopback proxy that holds every request"
            f" {latency_ms:g} ms before forwarding it (one simulated round trip per request)"
            + (
                f" and relays every body at most {link_rate:g} MiB/s per connection, both ways"
                if link_rate
                else ""
            )
            + ", for every tool."
            if any(w.via is not None for w in workloads)
            else ""
        )
        + (
            " The cp rows copy an artifact, pushed once to the registry (one file of"
            f" {human_size(sizes.cp)}, or the {sizes.layers} layers), to a second registry on"
            " the same disk, every run to a fresh repository, checked after (the source's"
            " manifest digest, no blob mounted); their ratios are to `skopeo copy`, and their"
            " registry CPU is both registries'."
            if any(w.across for w in workloads)
            else ""
        ),
        "",
        results_table(workloads),
        "",
        "## Targets (issues 4 and 13)",
        "",
        "| Target | Measured | Result |",
        "|---|---|---|",
    ]
    lines += [f"| {t.target} | {t.measured} | {t.verdict} |" for t in targets]
    return "\n".join(lines) + "\n"


# -- main ------------------------------------------------------------------------------------

#: Copies from the registry to a second one.
COPY_WORKLOADS = ("cp-big", "cp-layers")
#: Through the simulated link.
LINK_WORKLOADS = ("latency", "link-big")
#: The many-layer workloads through the link (where curl also runs at oras' most blobs at once).
LINK_PUSHES, LINK_PULLS = ("push-latency",), ("pull-latency",)
WORKLOADS = ("startup", "big", "layers", *LINK_WORKLOADS, "dir", "sparse", *COPY_WORKLOADS)
#: `--quick` without `--only`: everything but the simulated link (select it with `--only`).
QUICK_WORKLOADS = tuple(k for k in WORKLOADS if k not in LINK_WORKLOADS)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    defaults = Sizes()
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per tool (median; default 3)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO_ROOT / "docs" / "benchmarks.md",
        help="Markdown report to write (default docs/benchmarks.md)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=WORKLOADS,
        help="run only these workloads (repeatable; default all, with --quick all but latency)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=LATENCY_MS,
        help=f"round trip of the simulated link (default {LATENCY_MS:g})",
    )
    parser.add_argument(
        "--link-rate",
        type=float,
        default=LINK_RATE_MIB,
        help=f"MiB/s per connection of the simulated link (default {LINK_RATE_MIB:g}; 0: no cap)",
    )
    parser.add_argument(
        "--link-size",
        type=parse_size,
        help=f"the file of link-big (default {human_size(defaults.link_big)})",
    )
    parser.add_argument(
        "--upstream-python",
        help=f"an interpreter with oras {UPSTREAM_VERSION} installed (default: one set up in"
        " .cache/upstream/venv)",
    )
    parser.add_argument(
        "--no-upstream", action="store_true", help=f"do not measure oras-py {UPSTREAM_VERSION}"
    )
    parser.add_argument("--big-size", type=parse_size, help=f"default {human_size(defaults.big)}")
    parser.add_argument("--layers", type=int, help=f"default {defaults.layers}")
    parser.add_argument(
        "--layer-size", type=parse_size, help=f"default {human_size(defaults.layer_size)}"
    )
    parser.add_argument("--small-files", type=int, help=f"default {defaults.small_files}")
    parser.add_argument(
        "--small-size", type=parse_size, help=f"default {human_size(defaults.small_size)}"
    )
    parser.add_argument(
        "--sparse-size", type=parse_size, help=f"default {human_size(defaults.sparse)}"
    )
    parser.add_argument(
        "--cp-size",
        type=parse_size,
        help=f"the file of cp-big (default {human_size(defaults.cp)}; cp-layers copies"
        " --layers × --layer-size)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where data, registry storage and pulls go (default: a temp dir under $TMPDIR)",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter with oras installed (default: this; when it has this checkout"
        " installed in editable mode, a plain view of it under .cache/bench-checkout)",
    )
    parser.add_argument(
        "--oras-cli", help="the oras-py executable (default: next to --python, else on PATH)"
    )
    parser.add_argument("--curl", default="curl", help="curl executable (default: curl)")
    parser.add_argument(
        "--skopeo", default="skopeo", help="skopeo executable, for the cp rows (default: skopeo)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    return parser.parse_args(argv)


def resolve_sizes(args: argparse.Namespace) -> Sizes:
    sizes = dataclasses.replace(QUICK) if args.quick else Sizes()
    overrides = {
        "big": args.big_size,
        "layers": args.layers,
        "layer_size": args.layer_size,
        "small_files": args.small_files,
        "small_size": args.small_size,
        "sparse": args.sparse_size,
        "cp": args.cp_size,
        "link_big": args.link_size,
    }
    return dataclasses.replace(sizes, **{k: v for k, v in overrides.items() if v is not None})


def find_oras_cli(python: str, explicit: Optional[str]) -> list[str]:
    """`--oras-cli`, else `oras-py` next to the interpreter, on PATH, or `python -m oras.cli`."""
    if explicit:
        return [explicit]
    beside = Path(python).parent / "oras-py"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    on_path = shutil.which("oras-py")
    return [on_path] if on_path else [python, "-m", "oras.cli"]


#: Where the benchmark puts an environment that imports this checkout as a regular install.
CHECKOUT_CACHE = REPO_ROOT / ".cache" / "bench-checkout"

CLI_LAUNCHER = """#!{python}
import sys
from oras.cli.main import main
sys.exit(main())
"""


def plain_install(python: str, log: Callable[[str], None]) -> tuple[str, Optional[str]]:
    """An interpreter that imports this checkout's oras as `pip install .` would, and its
    `oras-py` launcher (None: `python` itself, when oras is not installed from this checkout
    in editable mode). An editable install adds a finder to every start-up (setuptools'
    `__editable__` hook imports pathlib and more, about 25 ms) that users' installations do
    not have: the environment made here (under .cache/, once) has the checkout and
    `python`'s site-packages (the dependencies) on its path, without that hook."""
    probe = (
        "import json, os, site, oras; print(json.dumps([os.path.dirname(oras.__file__),"
        " site.getsitepackages()]))"
    )
    try:
        found = subprocess.run(
            [python, "-c", probe],
            capture_output=True,
            text=True,
            check=True,
            cwd=tempfile.gettempdir(),
        )
        package, site_dirs = json.loads(found.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return python, None
    editable = any(next(Path(d).glob("__editable__*oras*.pth"), None) for d in site_dirs)
    if Path(package).resolve() != (REPO_ROOT / "oras").resolve() or not editable:
        return python, None
    venv = CHECKOUT_CACHE / "venv"
    interpreter = venv / "bin" / "python"
    try:
        if not interpreter.is_file():
            log(f"setting up a plain (not editable) view of the checkout in {venv}")
            subprocess.run(
                [python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
            )
        lib = subprocess.run(
            [str(interpreter), "-c", "import site; print(site.getsitepackages()[0])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        Path(lib, "oras-checkout.pth").write_text("\n".join([str(REPO_ROOT), *site_dirs]) + "\n")
        launcher = venv / "bin" / "oras-py"
        launcher.write_text(CLI_LAUNCHER.format(python=interpreter))
        launcher.chmod(0o755)
        subprocess.run(
            [str(interpreter), "-c", "import oras.client, requests"],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.SubprocessError) as err:
        log(f"no plain view of the checkout ({err}): measuring the editable install")
        return python, None
    return str(interpreter), str(launcher)


def compile_package(python: str) -> str:
    """Byte-compile the oras package `python` imports, as pip does when it installs one.

    From a source checkout (an editable install) every module changed since its last
    `.pyc` would otherwise be compiled again by every measured process whenever
    PYTHONDONTWRITEBYTECODE is set, which start-up figures would then include.
    Returns where the package is, or why it could not be compiled.
    """
    where = "import os, oras; print(os.path.dirname(oras.__file__))"
    try:
        found = subprocess.run([python, "-c", where], capture_output=True, text=True, check=True)
        package = found.stdout.strip()
        subprocess.run([python, "-m", "compileall", "-q", package], check=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as err:
        return f"not byte-compiled ({err})"
    return f"{package}, byte-compiled before measuring"


def disk_needed(sizes: Sizes, wanted: set[str]) -> int:
    """A generous estimate: sources, the registry's copies and uploads, one pull at a time."""
    need = 64 * MiB
    if "big" in wanted:
        need += 4 * sizes.big
    for key in ("layers", "latency"):
        if key in wanted:
            need += 4 * sizes.layers * sizes.layer_size
    if "dir" in wanted:
        need += 4 * sizes.small_files * max(sizes.small_size, 4 * KiB)
    if "sparse" in wanted:
        need += 3 * sizes.sparse
    if "cp-big" in wanted:
        need += 4 * sizes.cp
    if "link-big" in wanted:
        need += 4 * sizes.link_big
    if "cp-layers" in wanted:
        need += 4 * sizes.layers * sizes.layer_size
    return need


def upstream_python(explicit: Optional[str], python: str, log: Callable[[str], None]) -> str:
    """An interpreter with upstream oras-py installed: `explicit`, else a virtual environment
    under .cache/upstream/ (created once, with pip from the package index); "" when that
    fails (the upstream rows are then left out, and the report says so)."""
    if explicit:
        return explicit
    venv = UPSTREAM_CACHE / "venv"
    interpreter = venv / "bin" / "python"
    check = [
        str(interpreter),
        "-c",
        f"import importlib.metadata as m; assert m.version('oras') == '{UPSTREAM_VERSION}'",
    ]
    # Run away from the checkout, whose own `oras` would be found first.
    UPSTREAM_CACHE.mkdir(parents=True, exist_ok=True)
    where = {"cwd": UPSTREAM_CACHE, "capture_output": True}
    if interpreter.is_file() and subprocess.run(check, **where).returncode == 0:
        return str(interpreter)
    log(f"setting up oras-py {UPSTREAM_VERSION} in {venv}")
    wheel = UPSTREAM_CACHE / f"oras-{UPSTREAM_VERSION}-py3-none-any.whl"
    requirement = str(wheel) if wheel.is_file() else f"oras=={UPSTREAM_VERSION}"
    try:
        subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        subprocess.run(
            [
                str(interpreter),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                requirement,
            ],
            check=True,
            timeout=600,
        )
        subprocess.run(check, check=True, **where)
    except (OSError, subprocess.SubprocessError) as err:
        log(f"oras-py {UPSTREAM_VERSION} could not be set up ({err}): its rows are left out")
        return ""
    return str(interpreter)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmark; 0 when every measurement succeeded, 1 when one failed, 2 on set-up."""
    args = parse_args(argv)
    sizes = resolve_sizes(args)
    wanted = set(args.only or (QUICK_WORKLOADS if args.quick else WORKLOADS))
    if args.latency_ms < 0:
        print("error: --latency-ms must not be negative", file=sys.stderr)
        return 2
    curl = shutil.which(args.curl)
    if curl is None:
        print(f"error: {args.curl} not found (Debian: apt-get install curl)", file=sys.stderr)
        return 2
    copies = wanted.intersection(COPY_WORKLOADS)
    skopeo = shutil.which(args.skopeo) if copies else ""
    if skopeo is None:
        print(f"error: {args.skopeo} not found (Debian: apt-get install skopeo)", file=sys.stderr)
        return 2
    plain = args.python == sys.executable and not args.oras_cli
    if plain:
        args.python, args.oras_cli = plain_install(args.python, lambda m: print(m, file=sys.stderr))
    oras_cli = find_oras_cli(args.python, args.oras_cli)
    package = compile_package(args.python)
    if plain and args.oras_cli:
        package += f" (a plain view of the checkout: {args.python}, not the editable install)"

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="oras-bench-", dir=args.workdir))
    else:
        workdir = Path(tempfile.mkdtemp(prefix="oras-bench-"))
    free = shutil.disk_usage(workdir).free
    need = disk_needed(sizes, wanted)
    if free < need:
        print(f"error: {workdir} has {free / GiB:.1f} GiB free, needs ~{need / GiB:.1f} GiB")
        shutil.rmtree(workdir, ignore_errors=True)
        return 2

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    registry = RegistryServer("plain", workdir=workdir / "registry", log_level="error")
    # The destination of the copies: another registry process, its storage on the same disk.
    second = (
        RegistryServer("plain", workdir=workdir / "registry2", log_level="error")
        if copies
        else None
    )
    proxy: Optional[LinkSimulator] = None
    try:
        log(f"work directory {workdir} (needs {need / GiB:.1f} GiB at most)")
        data_dir = workdir / "data"
        data_dir.mkdir()
        registry.start()
        if second is not None:
            second.start()
        scratch = workdir / "scratch"
        scratch.mkdir()
        client = RegistryClient(registry.host)
        if wanted.intersection(LINK_WORKLOADS):
            rate = int(args.link_rate * MiB)
            proxy = LinkSimulator(registry.url, args.latency_ms / 1000, rate).start()
        load_at_start = os.getloadavg()[0]
        rss_prefix, rss_method = rss_wrapper(args.python)
        ctx = Context(registry, client, args.python, oras_cli, curl, scratch, rss_prefix)
        if second is not None:
            ctx.second, ctx.second_client = second, RegistryClient(second.host)
            ctx.skopeo = skopeo
        if not args.no_upstream:
            ctx.upstream_python = upstream_python(args.upstream_python, args.python, log)
        upstream = bool(ctx.upstream_python)

        workloads: list[Workload] = []
        if "startup" in wanted:
            workloads.append(startup_workload(args.python, oras_cli))
            log(f"{workloads[-1].title}:")
            run_workload(ctx, workloads[-1], args.runs, log)
        titles = {
            "big": f"1 file of {human_size(sizes.big)}",
            "layers": f"{sizes.layers} × {human_size(sizes.layer_size)} layers",
            "latency": f"{sizes.layers} × {human_size(sizes.layer_size)} layers"
            f" over {args.latency_ms:g} ms",
            "link-big": f"1 file of {human_size(sizes.link_big)} over {args.latency_ms:g} ms",
            "dir": f"dir of {sizes.small_files} × {human_size(sizes.small_size)}",
            "sparse": f"sparse {human_size(sizes.sparse)}",
            "cp-big": f"cp 1 file of {human_size(sizes.cp)}",
            "cp-layers": f"cp {sizes.layers} × {human_size(sizes.layer_size)} layers",
        }
        # One payload at a time, generated just before its workloads and deleted after, so
        # that writing back one workload's data never slows down another's measurements.
        for key in (k for k in WORKLOADS if k in wanted and k != "startup"):
            payload = make_payload(key, sizes, data_dir)
            seed = f"bench/seed-{key}"
            client.push_artifact(seed, SEED_TAG, payload.blobs)
            if key in COPY_WORKLOADS:
                # The registry holds the source: its files are not needed any more.
                shutil.rmtree(payload.root, ignore_errors=True)
                os.sync()
                digest = client.manifest_digest(seed, SEED_TAG)
                if not digest:
                    raise StepFailed(f"{seed}:{SEED_TAG} not in the registry after seeding")
                workload = copy_workload(key, titles[key], payload, seed, digest)
                log(f"{workload.title}:")
                run_workload(ctx, workload, args.runs, log)
                workloads.append(workload)
                continue
            os.sync()
            pair = [
                push_workload(f"push-{key}", f"push {titles[key]}", payload, upstream),
                pull_workload(f"pull-{key}", f"pull {titles[key]}", payload, seed, upstream),
            ]
            if key == "link-big":  # issue 13 asks for the pull; a push is one stream anyway
                pair = pair[1:]
            for workload in pair:
                workload.via = proxy if key in LINK_WORKLOADS else None
                log(f"{workload.title}:")
                run_workload(ctx, workload, args.runs, log)
            workloads += pair
            shutil.rmtree(payload.root, ignore_errors=True)

        command = shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
        report = render_report(
            command,
            [
                *machine_facts(ctx, workdir),
                ("peak RSS measured by", rss_method),
                ("oras package", package),
                (
                    f"oras-py {UPSTREAM_VERSION}",
                    ctx.upstream_python or "not measured",
                ),
                (
                    "load average (1 min)",
                    f"{load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
                    " (other work on the machine skews the figures)",
                ),
            ],
            sizes,
            args.runs,
            args.quick,
            workloads,
            args.latency_ms,
            args.link_rate,
        )
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
        print(report)
        log(f"written to {args.output}")
        return 0 if all(tool.samples for w in workloads for tool in w.tools) else 1
    finally:
        if proxy is not None:
            proxy.stop()
        registry.stop()
        if second is not None:
            second.stop()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
