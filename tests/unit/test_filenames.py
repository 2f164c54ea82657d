"""Which layer titles may name a file on pull, and one file per title."""

from __future__ import annotations

import pytest

from oras.errors import DuplicateTitleError, InvalidFileNameError
from oras.filenames import check_file_name, drop_duplicate_outputs


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
