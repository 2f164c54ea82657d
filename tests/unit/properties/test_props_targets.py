"""The fuzz targets of scripts/fuzz.py, on a few generated inputs each: they run, and they hold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.properties.targets import TARGETS

#: Seeds for the structured targets: inputs that reach deep into each parser at once.
SEEDS = {
    "reference": [b"localhost:5000/a/b:v1@sha256:" + b"0" * 64, b"[00]/x"],
    "manifest": [b'{"layers": [{"digest": "sha256:x", "size": 1e999}]}', b"[" * 50_000],
    "link": [b'<http://[>; rel="next"', b"<" * 65_536],
    "challenge": [b'Bearer realm="a\\"b",service=x, Basic realm=y'],
    "token": [b'{"token": "t", "expires_in": 1e999}', b'{"token": "a\\nb"}'],
    "docker-config": [b"\xff", b'{"credsStore": "../x"}', b'{"auths": {"localhost:5000": 1}}'],
    "annotations": [b"\xff{", b'{"$manifest": {"": "x"}}'],
    "tar": [b"\x00a\n\x01a/b\n\x03h\tmissing", b"\x02l\t@\n\x00l/x", b"\x00\xc3\xa9\x00b"],
    "platform": [b"linux/arm/v7:10", b"/"],
    "file-spec": [b"C:\\f:text/plain", b"a:"],
}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_target_holds_on_its_seeds(name: str) -> None:
    for seed in SEEDS.get(name, []):
        TARGETS[name](seed)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_target_holds_on_generated_bytes(name: str) -> None:
    @settings(max_examples=25)
    @given(st.binary(max_size=300))
    def run(data: bytes) -> None:
        TARGETS[name](data)

    run()
