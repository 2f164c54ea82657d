"""Properties of the parsers of local files and small answers: docker config files
(oras.credentials), token responses (oras.auth.token), annotation files (oras.oci, the CLI's
loader) and `file[:mediatype]` arguments (oras.pack)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from oras.auth.token import MAX_EXPIRES_IN, parse_token_body
from oras.cli.push import load_annotation_file
from oras.credentials.model import Credential
from oras.credentials.store import (
    CredentialStore,
    entry_credential,
    find_auth,
    read_config,
    split_server_key,
)
from oras.errors import (
    CredentialHelperError,
    CredentialsFileError,
    InvalidAnnotationsError,
    OrasError,
    ProtocolError,
)
from oras.oci import Annotations
from oras.pack import split_path_and_content
from tests.unit.properties.invariants import Refused, parse_or_refuse

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=15,
)
hosts = st.sampled_from(
    ["localhost:5000", "127.0.0.1:5000", "docker.io", "ghcr.io", "https://index.docker.io/v1/"]
)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def _write(data: bytes) -> Path:
    fd, name = tempfile.mkstemp(prefix="oras-props-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


# --- token responses ------------------------------------------------------------------------


@st.composite
def token_bodies(draw: st.DrawFn) -> bytes:
    body: dict[str, Any] = {}
    for key in ("token", "access_token", "expires_in", "issued_at", "refresh_token"):
        if draw(st.booleans()):
            body[key] = draw(
                json_values
                | st.text(max_size=40)
                | st.integers(min_value=-(10**500), max_value=10**500)
            )
    return _json_bytes(body)


@given(token_bodies() | st.binary(max_size=100) | json_values.map(_json_bytes))
@example(b'{"token": "t", "expires_in": 1e999}')
@example(b'{"token": "t", "expires_in": ' + b"9" * 400 + b"}")
@example(b'{"token": "t", "expires_in": -1}')
@example(b'{"token": "t\\r\\nX-Injected: 1"}')
@example(b'{"token": "t\xc3\xa9"}')
@example(b"[" * 100_000)
def test_token_bodies_give_a_usable_token_or_a_protocol_error(body: bytes) -> None:
    try:
        token, expires_in = parse_or_refuse(parse_token_body, body, "token response")
    except Refused as refused:
        assert isinstance(refused.error, ProtocolError)
        return
    assert token and all(" " <= c <= "~" for c in token)  # fits an Authorization header
    assert isinstance(expires_in, int) and 0 < expires_in <= MAX_EXPIRES_IN


# --- docker config files ------------------------------------------------------------------


@st.composite
def docker_configs(draw: st.DrawFn) -> Any:
    entry = st.fixed_dictionaries(
        {},
        optional={
            "auth": st.text(max_size=20) | json_values,
            "username": st.text(max_size=8) | json_values,
            "password": st.text(max_size=8),
            "identitytoken": st.text(max_size=8) | json_values,
            "registrytoken": st.text(max_size=8),
        },
    )
    config = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "auths": st.dictionaries(
                    hosts | st.text(max_size=20), entry | json_values, max_size=3
                )
                | json_values,
                "credHelpers": st.dictionaries(
                    hosts | st.text(max_size=10), st.text(max_size=10) | json_values, max_size=2
                )
                | json_values,
                "credsStore": st.text(max_size=10) | json_values,
            },
        )
    )
    return config


config_bytes = st.one_of(
    docker_configs().map(_json_bytes),
    st.binary(max_size=60),
    json_values.map(_json_bytes),
)


@given(config_bytes)
@example(b"\xff\xfe\x00{")
@example(b"[" * 100_000)
@example(b'{"credHelpers": {"localhost:5000": "x\\u0000y"}}')
@example(b'{"credsStore": "../../bin/sh"}')
def test_any_config_file_gives_a_credential_or_a_typed_error(data: bytes) -> None:
    path = _write(data)
    empty_path = tempfile.mkdtemp(prefix="oras-props-path-")
    saved = os.environ.get("PATH")
    os.environ["PATH"] = empty_path  # no helper can be found, none is run
    try:
        try:
            config = parse_or_refuse(read_config, path)
        except Refused as refused:
            assert isinstance(refused.error, CredentialsFileError)
            return
        assert isinstance(config, dict)
        for host in ("localhost:5000", "docker.io"):
            try:
                cred = parse_or_refuse(
                    CredentialStore([str(path)]).get, host, "ns/repo", also=(OrasError,)
                )
            except Refused as refused:
                assert isinstance(refused.error, CredentialHelperError)
                continue
            assert isinstance(cred, Credential)
    finally:
        os.environ["PATH"] = saved or ""
        path.unlink()
        os.rmdir(empty_path)


@given(st.dictionaries(hosts | st.text(max_size=20), json_values, max_size=4), hosts)
def test_find_auth_is_total(auths: dict[str, Any], host: str) -> None:
    assert isinstance(find_auth(auths, host, "ns/repo"), Credential)
    for entry in auths.values():
        assert isinstance(entry_credential(entry), Credential)


@given(st.text(max_size=40))
def test_server_keys_split_into_a_lowercase_host(key: str) -> None:
    host, namespace = split_server_key(key)
    assert host == host.lower() and "/" not in host
    assert not namespace.startswith("/") and not namespace.endswith("/")


@given(st.text(max_size=20).filter(lambda u: ":" not in u and u), st.text(min_size=1, max_size=20))
def test_basic_credentials_round_trip(username: str, password: str) -> None:
    cred = Credential(username, password)
    assert cred.basic is not None
    assert Credential.from_basic(cred.basic) == cred


@given(st.text(max_size=40))
def test_from_basic_is_total(encoded: str) -> None:
    assert isinstance(Credential.from_basic(encoded), Credential)


# --- annotation files -----------------------------------------------------------------------

annotation_documents = st.one_of(
    st.dictionaries(
        st.sampled_from(["$manifest", "$config", "a.txt", "dir/", ""]) | st.text(max_size=10),
        st.dictionaries(st.text(max_size=10), st.text(max_size=10) | json_values, max_size=3)
        | json_values,
        max_size=3,
    ),
    json_values,
)


@given(annotation_documents.map(_json_bytes) | st.binary(max_size=60))
@example(b"\xff\xfe{")
@example(b"[" * 100_000)
@example(b'{"$manifest": {"a": "' + b"\\ud800" + b'"}}')
def test_annotation_files_load_or_refuse_with_a_typed_error(data: bytes) -> None:
    path = _write(data)
    try:
        for load in (load_annotation_file, Annotations):
            try:
                loaded = parse_or_refuse(load, str(path))
            except Refused as refused:
                assert isinstance(refused.error, InvalidAnnotationsError)
                continue
            lookup = loaded if isinstance(loaded, dict) else loaded.lookup
            assert isinstance(lookup, dict)
            for section, values in lookup.items():
                assert isinstance(section, str) and isinstance(values, dict)
                assert all(isinstance(v, str) for v in values.values())
    finally:
        path.unlink()


@given(annotation_documents.filter(lambda d: isinstance(d, dict)))
@example({"$manifest": {"": "empty name"}})
@example({"$config": {"a": None}})
@example({"a.txt": ["not", "an", "object"]})
def test_annotation_mappings_load_or_refuse_with_a_typed_error(document: Any) -> None:
    try:
        annotations = parse_or_refuse(Annotations, document)
    except Refused as refused:
        assert isinstance(refused.error, InvalidAnnotationsError)
        return
    assert isinstance(annotations.get_annotations("$manifest"), dict)


# --- file[:mediatype] -----------------------------------------------------------------------


@given(st.text(max_size=40))
@example("C:\\file:text/plain")
@example("name:with:colons:")
@example("a\x00b:type")
def test_split_path_and_content_splits_at_a_colon(ref: str) -> None:
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as empty:  # no file of any generated name exists
        os.chdir(empty)
        try:
            spec = split_path_and_content(ref)
        finally:
            os.chdir(here)
    if spec.content is None:
        assert spec.path == ref or (ref.endswith(":") and spec.path + ":" == ref)
    else:
        assert f"{spec.path}:{spec.content}" == ref
        assert spec.content
