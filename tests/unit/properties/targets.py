"""Fuzz targets: one function per parser of outside input, taking raw bytes.

A target returns normally when the parser returned a well-formed value or refused the input
with one of the library's typed errors (one line); anything else (an IndexError, a
RecursionError, a write outside the output directory, a broken round trip) raises. The same
targets run under atheris (coverage-guided) or Hypothesis in scripts/fuzz.py, and a few
examples of each run in CI (test_props_targets.py) so that they cannot rot.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Callable

from tests.unit.properties.invariants import Refused, parse_or_refuse, time_bound

_BASE = "http://127.0.0.1:5000/v2/repo/tags/list?n=10"


def _text(data: bytes) -> str:
    # Lone surrogates included: a str from a header or argv can hold them.
    return data.decode("utf-8", "surrogateescape")


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def reference(data: bytes) -> None:
    from oras.container import Container
    from oras.reference import parse_reference, split_tags

    text = _text(data)
    with time_bound():
        try:
            ref = parse_or_refuse(parse_reference, text)
            assert parse_reference(str(ref)) == ref, "reference round trip"
        except Refused:
            pass
        try:
            container = parse_or_refuse(Container, text)
            assert Container(container.uri).uri == container.uri, "container round trip"
        except Refused:
            pass
        try:
            parse_or_refuse(split_tags, text)
        except Refused:
            pass


def file_spec(data: bytes) -> None:
    from oras.pack import split_path_and_content

    text = _text(data)
    spec = split_path_and_content(text)
    if spec.content is not None:
        assert f"{spec.path}:{spec.content}" == text


def manifest(data: bytes) -> None:
    from oras import defaults
    from oras.descriptor import Descriptor, check_manifest, parse_manifest
    from oras.digest import digest_bytes
    from oras.manifest import Platform, select_platform, successors

    with time_bound():
        for media_type in (defaults.default_manifest_media_type, defaults.default_index_media_type):
            node = Descriptor(media_type, digest_bytes(data), len(data))
            try:
                for desc in parse_or_refuse(successors, node, data):
                    assert isinstance(desc.size, int) and desc.size >= 0
            except Refused:
                pass
        try:
            document = parse_or_refuse(parse_manifest, data, "fuzz")
            parse_or_refuse(check_manifest, document, "fuzz")
        except Refused:
            pass
        index = Descriptor(defaults.default_index_media_type, digest_bytes(data), len(data))
        try:
            parse_or_refuse(select_platform, index, data, Platform("linux", "amd64"))
        except Refused:
            pass
        value = _json(data)
        try:
            parse_or_refuse(Descriptor.from_dict, value)
        except Refused:
            pass


def platform(data: bytes) -> None:
    from oras.manifest import Platform

    try:
        parsed = parse_or_refuse(Platform.parse, _text(data))
    except Refused:
        return
    assert Platform.parse(str(parsed)) == parsed, "platform round trip"


def challenge(data: bytes) -> None:
    from oras.auth.utils import parse_auth_header
    from oras.remote.challenge import merge_scopes, parse_challenges

    text = _text(data)
    with time_bound():
        for found in parse_challenges(text):
            assert found.scheme == found.scheme.lower()
            merge_scopes(found.scopes)
        parse_auth_header(text)


def link(data: bytes) -> None:
    from oras.remote.response import parse_next_link

    with time_bound():
        try:
            parse_or_refuse(parse_next_link, _text(data), _BASE)
        except Refused:
            pass


def token(data: bytes) -> None:
    from oras.auth.token import MAX_EXPIRES_IN, parse_token_body

    try:
        value, expires_in = parse_or_refuse(parse_token_body, data, "token response")
    except Refused:
        return
    assert value.isprintable() and 0 < expires_in <= MAX_EXPIRES_IN


def _scratch_file(data: bytes) -> Path:
    fd, name = tempfile.mkstemp(prefix="oras-fuzz-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


def docker_config(data: bytes) -> None:
    from oras.credentials.store import CredentialStore, find_auth, read_config
    from oras.errors import CredentialHelperError

    path = _scratch_file(data)
    saved = os.environ.get("PATH")
    os.environ["PATH"] = ""  # no helper is found, none runs
    try:
        try:
            config = parse_or_refuse(read_config, path)
        except Refused:
            return
        auths = config.get("auths")
        if isinstance(auths, dict):
            find_auth(auths, "localhost:5000", "ns/repo")
        try:
            store = CredentialStore([str(path)])
            parse_or_refuse(store.get, "localhost:5000", "ns/repo", also=(CredentialHelperError,))
        except Refused as refused:
            assert isinstance(refused.error, CredentialHelperError)
    finally:
        os.environ["PATH"] = saved or ""
        path.unlink()


def annotations(data: bytes) -> None:
    from oras.cli.push import load_annotation_file
    from oras.oci import Annotations

    path = _scratch_file(data)
    try:
        for load in (load_annotation_file, Annotations):
            try:
                parse_or_refuse(load, str(path))
            except Refused:
                pass
    finally:
        path.unlink()


_TAR_TYPES = [
    tarfile.REGTYPE,
    tarfile.DIRTYPE,
    tarfile.SYMTYPE,
    tarfile.LNKTYPE,
    tarfile.CHRTYPE,
    tarfile.FIFOTYPE,
    b"Z",
]


def _tar_from(data: bytes, outside: str) -> bytes:
    """A tar+gzip whose members come from `data`: one per line, `<type byte><name>\\t<link>`;
    `@` in a name stands for the absolute path of a directory outside the output."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for line in data.split(b"\n")[:16]:
            if not line:
                continue
            kind = _TAR_TYPES[line[0] % len(_TAR_TYPES)]
            name, _, target = line[1:].partition(b"\t")
            info = tarfile.TarInfo(_text(name).replace("@", outside))
            info.type = kind
            info.linkname = _text(target).replace("@", outside)
            info.mode = 0o4755 if line[0] & 0x80 else 0o644
            try:
                if kind == tarfile.REGTYPE:
                    info.size = len(line)
                    tar.addfile(info, io.BytesIO(line))
                else:
                    tar.addfile(info)
            except (ValueError, UnicodeError, tarfile.TarError):
                continue
    return buffer.getvalue()


def tar(data: bytes) -> None:
    from oras.archive import safe_extract_targz

    sandbox = tempfile.mkdtemp(prefix="oras-fuzz-tar-")
    try:
        outside = os.path.join(sandbox, "outside")
        os.mkdir(outside)
        out = os.path.join(sandbox, "out")
        layer = os.path.join(sandbox, "layer.tar.gz")
        with open(layer, "wb") as fh:
            fh.write(_tar_from(data, outside))
        try:
            with time_bound(10.0):
                parse_or_refuse(safe_extract_targz, layer, out)
        except Refused:
            assert not os.path.exists(out), "a refused archive left its output behind"
        assert os.listdir(outside) == [], "extraction wrote outside the output directory"
        assert sorted(os.listdir(sandbox)) in (
            ["layer.tar.gz", "out", "outside"],
            ["layer.tar.gz", "outside"],
        )
        real_out = os.path.realpath(out)
        for dirpath, dirnames, filenames in os.walk(out):
            for entry in dirnames + filenames:
                resolved = os.path.realpath(os.path.join(dirpath, entry))
                assert resolved.startswith(real_out + os.sep), f"{entry} leads outside"
    finally:
        for dirpath, dirnames, _ in os.walk(sandbox):
            for d in dirnames:
                if not os.path.islink(os.path.join(dirpath, d)):
                    os.chmod(os.path.join(dirpath, d), 0o700)
        shutil.rmtree(sandbox)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "reference": reference,
    "file-spec": file_spec,
    "annotations": annotations,
    "manifest": manifest,
    "platform": platform,
    "challenge": challenge,
    "link": link,
    "docker-config": docker_config,
    "token": token,
    "tar": tar,
}
