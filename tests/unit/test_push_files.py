"""`oras.push.push_files` into a store that does not report progress itself (a layout, memory):
the copy reports every blob, so `push --oci-layout` shows the same lines as a registry push."""

from __future__ import annotations

from pathlib import Path

from oras.content.memory import MemoryStore
from oras.progress import DONE, EXISTS, STARTED, ProgressEvent
from oras.push import ConfigSpec, PushOptions, prepare_entries, push_files


def _push(store: MemoryStore, path: Path, seen: list[ProgressEvent]) -> None:
    _, entries = prepare_entries([str(path)], None, True, None, None)
    push_files(
        entries, store, ConfigSpec(), reference="v1", options=PushOptions(progress=seen.append)
    )


def test_each_blob_is_reported_started_counted_and_done(tmp_path: Path) -> None:
    data = tmp_path / "a.txt"
    data.write_bytes(b"x" * 100_000)
    seen: list[ProgressEvent] = []
    _push(MemoryStore(), data, seen)
    layer = [e for e in seen if e.name == "a.txt"]
    assert layer[0].status == STARTED and layer[-1].status == DONE
    assert layer[-1].done == 100_000
    config = [e.status for e in seen if e.name != "a.txt"]
    assert config[0] == STARTED and config[-1] == DONE


def test_a_blob_the_store_holds_is_reported_once_as_existing(tmp_path: Path) -> None:
    data = tmp_path / "a.txt"
    data.write_bytes(b"again")
    store = MemoryStore()
    _push(store, data, [])
    seen: list[ProgressEvent] = []
    _push(store, data, seen)
    assert [e.status for e in seen if e.name == "a.txt"] == [EXISTS]
