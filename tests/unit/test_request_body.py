"""File request bodies: a range of a file, read in steps, counted for progress."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oras.remote.body import UPLOAD_READ_SIZE, FileRangeBody


@pytest.fixture
def data_file(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(2 * UPLOAD_READ_SIZE + 1000)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    return path, data


def test_a_range_is_read_in_steps_and_counted(data_file: tuple[Path, bytes]) -> None:
    path, data = data_file
    counted: list[int] = []
    body = FileRangeBody(str(path), 500, len(data) - 700, on_read=counted.append)
    assert b"".join(body) == data[500:-200]
    assert counted == [UPLOAD_READ_SIZE, UPLOAD_READ_SIZE, 300]
    assert b"".join(body) == data[500:-200]  # every iteration reads it again
    assert counted[3:] == [UPLOAD_READ_SIZE, UPLOAD_READ_SIZE, 300]


def test_a_file_that_shrinks_while_it_is_sent_is_an_error(data_file: tuple[Path, bytes]) -> None:
    path, data = data_file
    body = FileRangeBody(str(path))
    body.on_read = lambda _: os.truncate(path, UPLOAD_READ_SIZE + 10)  # after the first
    with pytest.raises(OSError, match="shrank while it was being uploaded"):
        list(body)
    with pytest.raises(OSError, match="shrank while it was being uploaded"):
        list(FileRangeBody(str(path), 0, len(data)))
