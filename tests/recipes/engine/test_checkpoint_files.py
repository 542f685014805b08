"""Checkpoint files: written whole or not at all, and a damaged one is never read back."""

import pytest

from kerasforge.recipes.engine.checkpoint_files import (
    CHECKPOINT_FOLDER,
    checkpoint_epochs,
    checkpoint_file_name,
    newest_checkpoint,
    prune,
    read_verified,
    write_atomically,
)


def _write(staging, epochs_done, payload=None):
    folder = staging / CHECKPOINT_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / checkpoint_file_name(epochs_done)
    write_atomically(path, payload or f"state after epoch {epochs_done}".encode())
    return path


def test_a_written_checkpoint_reads_back_and_leaves_no_temporary_file(tmp_path):
    path = _write(tmp_path, 1, b"\x00weights\xff" * 1000)
    assert read_verified(path) == b"\x00weights\xff" * 1000
    assert [child.name for child in path.parent.iterdir()] == [path.name]


@pytest.mark.parametrize(
    "damage",
    [lambda data: data[: len(data) // 2], lambda data: data[:-1], lambda data: data[:40] + b"X" + data[41:]],
    ids=["cut-in-half", "last-byte-missing", "one-byte-changed"],
)
def test_a_damaged_checkpoint_never_reads_back(tmp_path, damage):
    path = _write(tmp_path, 1, b"0123456789" * 100)
    path.write_bytes(damage(path.read_bytes()))
    assert read_verified(path) is None


def test_the_newest_whole_checkpoint_is_chosen_and_damaged_newer_ones_are_named(tmp_path):
    for epochs in (1, 2, 3):
        _write(tmp_path, epochs)
    newest = tmp_path / CHECKPOINT_FOLDER / checkpoint_file_name(3)
    newest.write_bytes(newest.read_bytes()[:-5])
    assert newest_checkpoint(tmp_path) == (2, b"state after epoch 2", [newest])


def test_no_whole_checkpoint_gives_none_and_names_every_damaged_file(tmp_path):
    path = _write(tmp_path, 1)
    path.write_bytes(b"")
    assert newest_checkpoint(tmp_path) == (0, None, [path])
    assert newest_checkpoint(tmp_path / "empty") == (0, None, [])


def test_prune_keeps_the_newest_two_and_removes_dead_writes(tmp_path):
    for epochs in (1, 2, 3, 4):
        _write(tmp_path, epochs)
    dead_write = tmp_path / CHECKPOINT_FOLDER / f".{checkpoint_file_name(5)}.999999999.tmp"
    dead_write.write_bytes(b"half")
    prune(tmp_path)
    assert checkpoint_epochs(tmp_path) == [4, 3]
    assert not dead_write.exists()
