"""The manifest cap is read when it is used: a program that sets
`oras.descriptor.MAX_MANIFEST_SIZE` changes what every reader accepts."""

from __future__ import annotations

import io

import pytest

import oras.descriptor
from oras.content.reader import read_all
from oras.descriptor import Descriptor
from oras.digest import digest_bytes
from oras.errors import ProtocolError


def test_read_all_takes_the_cap_set_after_import(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b'{"schemaVersion": 2}'
    desc = Descriptor("application/json", digest_bytes(data), len(data))
    assert read_all(io.BytesIO(data), desc) == data
    monkeypatch.setattr(oras.descriptor, "MAX_MANIFEST_SIZE", len(data) - 1)
    with pytest.raises(ProtocolError, match=f"over the {len(data) - 1} byte limit"):
        read_all(io.BytesIO(data), desc)
