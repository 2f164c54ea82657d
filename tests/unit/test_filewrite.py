"""Received bytes reach files in pieces of at most WRITE_PIECE bytes."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

import oras.filewrite
from oras.content.reader import copy_stream
from oras.filewrite import WRITE_PIECE, pwrite_all, write_pieces


class _Recorder:
    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def write(self, data: memoryview) -> int:
        self.pieces.append(bytes(data))
        return len(data)


@pytest.mark.parametrize("size", [0, 1, WRITE_PIECE, WRITE_PIECE + 1, 3 * WRITE_PIECE + 5])
def test_write_pieces_hands_over_every_byte_in_order_in_small_pieces(size: int) -> None:
    data = os.urandom(size)
    sink = _Recorder()
    write_pieces(sink.write, bytearray(data))
    assert b"".join(sink.pieces) == data
    assert all(len(piece) <= WRITE_PIECE for piece in sink.pieces)
    assert len(sink.pieces) == max(1, -(-size // WRITE_PIECE))


def test_pwrite_all_goes_on_after_short_writes(tmp_path: Path, monkeypatch) -> None:
    """os.pwrite may write less than it is given: the rest follows at the right offset."""
    calls: list[int] = []
    real = os.pwrite

    def short(fd: int, data: memoryview, offset: int) -> int:
        calls.append(len(data))
        return real(fd, data[:1000], offset)

    monkeypatch.setattr(oras.filewrite.os, "pwrite", short)
    data = os.urandom(2 * WRITE_PIECE + 123)
    path = tmp_path / "out.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        os.write(fd, b"head")
        pwrite_all(fd, data, 4)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"head" + data
    assert max(calls) <= WRITE_PIECE
    assert len(calls) == -(-len(data) // 1000)


def test_copy_stream_reads_large_and_writes_small() -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    sink = _Recorder()
    assert copy_stream(io.BytesIO(data), sink) == len(data)
    assert b"".join(sink.pieces) == data
    assert max(len(piece) for piece in sink.pieces) == WRITE_PIECE
