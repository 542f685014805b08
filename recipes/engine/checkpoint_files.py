"""The files of a run's per-epoch checkpoint: names, atomic writes, verified reads.

A live run's staging folder (see `run_folder`) holds `checkpoint/`: the
resolved `recipe.yaml`, written when training starts (plain YAML), and one file per
complete epoch, `epoch-NNNNNN.ckpt`, of which the newest `KEEP` stay. Each
file is written to a hidden temporary name, flushed to disk (fsync), renamed
into place and the folder fsynced, so a file with the final name is always
whole; it also ends with the SHA-256 of its contents, so a file damaged later
(a torn disk write, a truncated copy) is recognised and never loaded.

This module imports only the standard library, so the command line can tell
whether a run folder holds a checkpoint before it imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
from pathlib import Path

CHECKPOINT_FOLDER = "checkpoint"
RECIPE_FILE = "recipe.yaml"
# The newest checkpoints kept: the one before the newest is the fallback if the newest is damaged.
KEEP = 2
_MAGIC = b"kerasforge-checkpoint-1\n"
_NAME = re.compile(r"^epoch-(\d{6})\.ckpt$")
_DIGEST_BYTES = hashlib.sha256().digest_size

# Test hook: `POINT:EPOCH` kills this process with SIGKILL, as the out-of-memory killer does, at
# one of `TEST_KILL_POINTS` of the 1-based EPOCH. Only the resume tests set it.
TEST_KILL_VARIABLE = "KERASFORGE_TEST_KILL"
TEST_KILL_POINTS = ("mid_epoch", "checkpoint_write", "after_checkpoint")


def checkpoint_file_name(epochs_done: int) -> str:
    """The file name of the checkpoint taken after `epochs_done` complete epochs."""
    return f"epoch-{epochs_done:06d}.ckpt"


def checkpoint_epochs(staging: Path) -> list[int]:
    """The epoch counts of the checkpoint files in `staging`, newest first (unverified)."""
    folder = Path(staging) / CHECKPOINT_FOLDER
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted((int(match[1]) for name in names if (match := _NAME.match(name))), reverse=True)


def has_checkpoint(staging: Path) -> bool:
    """Whether `staging` holds at least one epoch's checkpoint file."""
    return bool(checkpoint_epochs(staging))


def test_kill_point() -> str:
    """The point of the test hook (one of `TEST_KILL_POINTS`), or "" when it is not set."""
    return os.environ.get(TEST_KILL_VARIABLE, "").partition(":")[0]


def test_kill_wanted(point: str, epoch: int) -> bool:
    """Whether the test hook asks to be killed at `point` of the 0-based `epoch`."""
    return os.environ.get(TEST_KILL_VARIABLE, "") == f"{point}:{epoch + 1}"


def kill_for_test() -> None:
    """SIGKILL to this very process: no clean-up, no `finally`, as the out-of-memory killer."""
    os.kill(os.getpid(), signal.SIGKILL)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomically(path: Path, payload: bytes, verified: bool = True, kill_halfway: bool = False) -> None:
    """Writes `payload` to `path` so that `path` is either absent, old or whole.

    Args:
        path: The final file.
        payload: Bytes to store.
        verified: Boolean. Frame `payload` with a header and its digest, for
            `read_verified`. False writes the bytes as they are.
        kill_halfway: Boolean. Test hook: SIGKILL this process once half
            the temporary file is on disk, before the rename.
    """
    path = Path(path)
    data = _MAGIC + payload + hashlib.sha256(payload).digest() if verified else payload
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if kill_halfway:
            os.write(descriptor, data[: len(data) // 2])
            os.fsync(descriptor)
            kill_for_test()
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    _fsync_folder(path.parent)


def read_verified(path: Path) -> bytes | None:
    """The payload of a file `write_atomically` wrote, or None if it is missing, cut short or damaged."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + _DIGEST_BYTES:
        return None
    payload, digest = data[len(_MAGIC) : -_DIGEST_BYTES], data[-_DIGEST_BYTES:]
    return payload if hashlib.sha256(payload).digest() == digest else None


def newest_checkpoint(staging: Path) -> tuple[int, bytes | None, list[Path]]:
    """The newest checkpoint of `staging` that reads back whole.

    Returns:
        `(epochs_done, payload, damaged)`: `payload` is None when no file
        verifies (then `epochs_done` is 0), and `damaged` lists the newer
        files that failed their check and were skipped.
    """
    folder = Path(staging) / CHECKPOINT_FOLDER
    damaged = []
    for epochs_done in checkpoint_epochs(staging):
        path = folder / checkpoint_file_name(epochs_done)
        payload = read_verified(path)
        if payload is not None:
            return epochs_done, payload, damaged
        damaged.append(path)
    return 0, None, damaged


def prune(staging: Path, keep: int = KEEP) -> None:
    """Removes all but the newest `keep` checkpoint files, and temporary files of dead writes."""
    folder = Path(staging) / CHECKPOINT_FOLDER
    for epochs_done in checkpoint_epochs(staging)[keep:]:
        with contextlib.suppress(OSError):
            (folder / checkpoint_file_name(epochs_done)).unlink()
    with contextlib.suppress(OSError):
        for temporary in folder.glob(".*.tmp"):
            if not temporary.name.endswith(f".{os.getpid()}.tmp"):
                temporary.unlink()
