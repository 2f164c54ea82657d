"""Hostile tar+gzip archives, built cheaply, and a way to publish them as layers to unpack.

Bombs are written without compressing their whole payload: gzip allows a file of several
members one after another (readers decompress them as one stream), so a block of zeros or of
tar headers compressed once and repeated makes a 1 GiB or million-member archive of a few
hundred KiB in milliseconds.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zlib
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import requests

__all__ = [
    "Member",
    "directory",
    "file",
    "fingerprint",
    "gzip_member",
    "header_bomb",
    "link",
    "plain_layer",
    "member_bomb",
    "publish",
    "special",
    "targz",
    "unpack_layer",
    "zero_bomb",
]

Member = tuple[tarfile.TarInfo, Optional[bytes]]

TARGZ = "application/vnd.oci.image.layer.v1.tar+gzip"
UNPACK = "io.deis.oras.content.unpack"
TITLE = "org.opencontainers.image.title"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY_CONFIG = b"{}"


def file(name: str, data: bytes = b"x", mode: int = 0o644) -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def directory(name: str, mode: int = 0o755) -> Member:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    return info, None


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def special(name: str, kind: bytes) -> Member:
    """A character or block device (major 1, minor 3: /dev/null) or a FIFO."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.devmajor, info.devminor = 1, 3
    return info, None


def tar_bytes(members: Iterable[Member], end: bool = True) -> bytes:
    """The uncompressed tar of `members` (PAX, so any name fits), with its end blocks if `end`."""
    out = io.BytesIO()
    tar = tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)
    for info, data in members:
        tar.addfile(info, io.BytesIO(data) if data is not None else None)
    if end:
        tar.close()
        return out.getvalue()
    tar.fileobj = io.BytesIO()  # closing must not write the end blocks into `out`
    tar.close()
    return out.getvalue()


def gzip_member(data: bytes) -> bytes:
    """`data` as one complete gzip member."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def targz(members: Iterable[Member]) -> bytes:
    return gzip_member(tar_bytes(members))


def zero_bomb(size: int, name: str = "zeros", block: int = 1024 * 1024) -> bytes:
    """A tar+gzip holding one file of `size` zero bytes (a multiple of `block`), a few KiB
    per MiB."""
    assert size % block == 0
    info = tarfile.TarInfo(name)
    info.size = size
    header = info.tobuf(tarfile.PAX_FORMAT)
    zeros = gzip_member(bytes(block))
    return gzip_member(header) + zeros * (size // block) + gzip_member(bytes(1024))


def member_bomb(count: int, per_block: int = 1000) -> bytes:
    """A tar+gzip of `count` empty files (a multiple of `per_block`): names f0..f{per_block-1},
    repeated."""
    assert count % per_block == 0
    headers = tar_bytes((file(f"f{i}", b"") for i in range(per_block)), end=False)
    return gzip_member(headers) * (count // per_block) + gzip_member(bytes(1024))


def header_bomb(size: int, block: int = 1024 * 1024) -> bytes:
    """A tar+gzip whose first member is a PAX extended header of `size` bytes (a multiple of
    `block`), followed by an ordinary file: a reader that loads headers whole needs `size`
    bytes of memory."""
    assert size % block == 0
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = size
    header = info.tobuf(tarfile.USTAR_FORMAT)
    after = tar_bytes([file("after", b"1")])
    return gzip_member(header) + gzip_member(bytes(block)) * (size // block) + gzip_member(after)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _upload(base: str, repo: str, data: bytes) -> dict[str, Any]:
    digest = _digest(data)
    start = requests.post(f"{base}/v2/{repo}/blobs/uploads/", timeout=30)
    start.raise_for_status()
    location = start.headers["Location"]
    if location.startswith("/"):
        location = base + location
    glue = "&" if "?" in location else "?"
    done = requests.put(
        f"{location}{glue}digest={digest}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=60,
    )
    done.raise_for_status()
    return {"digest": digest, "size": len(data)}


def publish(
    base: str,
    repo: str,
    tag: str,
    layers: list[tuple[bytes, dict[str, Any]]],
) -> str:
    """Push `layers` (blob, descriptor fields such as mediaType and annotations) and a manifest
    listing them to the registry at `base` (http://host:port) by plain HTTP requests, as a
    hostile publisher would; returns host:port/repo:tag."""
    descriptors = []
    for blob, fields in layers:
        descriptors.append(
            {"mediaType": "application/octet-stream", **_upload(base, repo, blob), **fields}
        )
    config = {"mediaType": "application/vnd.oci.empty.v1+json", **_upload(base, repo, EMPTY_CONFIG)}
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": MANIFEST, "config": config, "layers": descriptors}
    ).encode()
    put = requests.put(
        f"{base}/v2/{repo}/manifests/{tag}",
        data=manifest,
        headers={"Content-Type": MANIFEST},
        timeout=30,
    )
    put.raise_for_status()
    return f"{base.split('://', 1)[1]}/{repo}:{tag}"


def unpack_layer(archive: bytes, title: str) -> tuple[bytes, dict[str, Any]]:
    """`archive` as a layer marked for unpacking (as oras pushes a directory)."""
    return archive, {"mediaType": TARGZ, "annotations": {TITLE: title, UNPACK: "true"}}


def plain_layer(data: bytes, title: str) -> tuple[bytes, dict[str, Any]]:
    return data, {"annotations": {TITLE: title}}


def fingerprint(root: Union[str, Path]) -> dict[str, tuple[int, int]]:
    """Every path below `root` (not following links) with its mode and size: compared before
    and after, it shows anything written, removed or changed."""
    result: dict[str, tuple[int, int]] = {}
    pending = [os.fspath(root)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                result[entry.path] = (st.st_mode, st.st_size)
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
    return result
