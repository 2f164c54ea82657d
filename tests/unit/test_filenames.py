"""Which layer titles may name a file on pull, and one file per title."""

from __future__ import annotations

import pytest

from oras.errors import DuplicateTitleError, InvalidFileNameError, OutputConflictError
from oras.filenames import (
    check_file_name,
    check_output_dir,
    check_replaceable,
    drop_duplicate_outputs,
)


@pytest.mark.parametrize("name", ["a.txt", "dir/a.txt", " spaced ", "ünïcode", "a/../b", ".hidden"])
def test_ordinary_names_pass(name):
    assert check_file_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "./",
        "..",
        "a/..",
        "a/../..",
        "x\x00y",
        "tab\there",
        "bell\x07",
        "del\x7f",
        "csi\x9b",
    ],
)
def test_unsafe_names_are_refused(name):
    with pytest.raises(InvalidFileNameError):
        check_file_name(name)


@pytest.mark.parametrize("name", [None, 5, ["a"]])
def test_non_string_titles_are_refused(name):
    with pytest.raises(InvalidFileNameError, match="not a string"):
        check_file_name(name)


def test_identical_repeats_are_dropped_and_different_layers_refused():
    a = {"digest": "sha256:" + "a" * 64, "size": 1}
    b = {"digest": "sha256:" + "b" * 64, "size": 1}
    assert drop_duplicate_outputs([(a, "/o/x"), (b, "/o/y"), (dict(a), "/o/x")]) == [
        (a, "/o/x"),
        (b, "/o/y"),
    ]
    with pytest.raises(DuplicateTitleError, match="/o/x"):
        drop_duplicate_outputs([(a, "/o/x"), (b, "/o/x")])


def test_output_dir_must_not_be_or_lie_below_a_file(tmp_path):
    check_output_dir(str(tmp_path / "new" / "deeper"))  # missing: created later
    check_output_dir(str(tmp_path))
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputConflictError, match="it is a file"):
        check_output_dir(str(tmp_path / "f"))
    with pytest.raises(OutputConflictError, match="is below"):
        check_output_dir(str(tmp_path / "f" / "sub"))


def test_replaceable_outputs(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    check_replaceable(str(tmp_path), str(tmp_path / "file"))  # a file over a file
    check_replaceable(str(tmp_path), str(tmp_path / "dir" / "new"))
    check_replaceable(str(tmp_path), str(tmp_path / "dir"), directory=True)
    with pytest.raises(OutputConflictError, match="replace the directory"):
        check_replaceable(str(tmp_path), str(tmp_path / "dir"))
    with pytest.raises(OutputConflictError, match="replace the file"):
        check_replaceable(str(tmp_path), str(tmp_path / "file" / "inner"))
