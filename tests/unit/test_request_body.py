"""File request bodies: read into memory, or sent from the page cache in segments."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from oras.remote.body import UPLOAD_READ_SIZE, FileRangeBody


@pytest.fixture
def data_file(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(2 * UPLOAD_READ_SIZE + 1000)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    return path, data


def _receive_all(sock: socket.socket, into: bytearray) -> None:
    while chunk := sock.recv(65536):
        into += chunk


def _sent(body: FileRangeBody) -> bytes:
    """What `body`'s segments put on a socket, sent as a plain HTTP connection sends them."""
    sender, receiver = socket.socketpair()
    received = bytearray()
    reader = threading.Thread(target=_receive_all, args=(receiver, received))
    reader.start()
    try:
        with sender:
            for segment in body.segments():
                segment.send_to(sender)
    finally:
        reader.join()
        receiver.close()
    return bytes(received)


def test_a_range_is_read_and_sent_alike(data_file: tuple[Path, bytes]) -> None:
    path, data = data_file
    counted: list[int] = []
    body = FileRangeBody(str(path), 500, len(data) - 700, on_read=counted.append)
    assert b"".join(body) == data[500:-200]
    assert counted == [UPLOAD_READ_SIZE, UPLOAD_READ_SIZE, 300]
    assert _sent(body) == data[500:-200]
    assert counted[3:] == [UPLOAD_READ_SIZE, UPLOAD_READ_SIZE, 300]


def test_a_file_that_shrinks_while_it_is_sent_is_an_error(data_file: tuple[Path, bytes]) -> None:
    path, data = data_file
    body = FileRangeBody(str(path))
    body.on_read = lambda _: os.truncate(path, UPLOAD_READ_SIZE + 10)  # after the first
    with pytest.raises(OSError, match="shrank while it was being uploaded"):
        _sent(body)
    with pytest.raises(OSError, match="shrank while it was being uploaded"):
        list(FileRangeBody(str(path), 0, len(data)))
