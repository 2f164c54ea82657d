"""oras.filenames: titles too long to name a file are refused before a pull writes anything."""

from __future__ import annotations

import pytest

import oras.filenames
from oras.errors import InvalidFileNameError
from oras.filenames import check_file_name, check_path_length


@pytest.mark.parametrize("title", ["n" * 255, "a/" + "n" * 255, "é" * 127, "CON", "a\\b"])
def test_names_within_name_max_are_accepted(title: str) -> None:
    assert check_file_name(title) == title


@pytest.mark.parametrize(
    "title,size",
    [("n" * 256, 256), ("ok/" + "n" * 300 + "/x", 300), ("é" * 128, 256)],
)
def test_a_component_over_name_max_is_refused(title: str, size: int) -> None:
    with pytest.raises(InvalidFileNameError, match=f"a name of {size} bytes, more than 255") as e:
        check_file_name(title)
    assert isinstance(e.value, ValueError)
    assert len(str(e.value)) < 200  # the title is shortened


def test_path_length_counts_bytes_and_reads_the_limit_when_called(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = "/out/" + "/".join(["p" * 200] * 20)
    with pytest.raises(InvalidFileNameError, match=r"its path is 4024 bytes long, more than 4000"):
        monkeypatch.setattr(oras.filenames, "MAX_PATH_BYTES", 4000)
        check_path_length(path, path[5:])
    monkeypatch.setattr(oras.filenames, "MAX_PATH_BYTES", 4095)
    assert check_path_length(path, path[5:]) == path
