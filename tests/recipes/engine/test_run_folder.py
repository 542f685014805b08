import errno
import fcntl
import json
import os
import subprocess
import sys
import time

import pytest

from kerasforge.errors import RunDirError
from kerasforge.recipes import compare, find_learning_rate, load_recipe, train
from kerasforge.recipes.engine.run_folder import (
    LOCK_NAME,
    UNLOCKED_GRACE_SECONDS,
    RunFolder,
    check_writable,
    creation_error,
)


def dead_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def left_by_a_killed_run(parent, name="run", pid=None):
    """A staging folder as a run killed by SIGKILL leaves it: files, and a lock file nobody holds."""
    staging = parent / f".{name}.partial"
    (staging / "plots").mkdir(parents=True)
    (staging / "history.csv").write_text("epoch,loss\n1,0.5\n")
    owner = {"pid": pid or dead_pid(), "host": "somewhere", "boot_id": "x"}
    (staging / LOCK_NAME).write_text(json.dumps(owner))
    return staging


def test_a_killed_runs_partial_folder_is_taken_over(tmp_path):
    staging = left_by_a_killed_run(tmp_path)
    with RunFolder("digits", tmp_path / "run") as folder:
        assert folder.staging == staging
        assert sorted(path.name for path in staging.iterdir()) == [LOCK_NAME]  # emptied
        (folder.staging / "metrics.json").write_text("{}")
        path = folder.commit()
    assert sorted(item.name for item in path.iterdir()) == ["metrics.json"]
    assert sorted(item.name for item in tmp_path.iterdir()) == ["run"]


def test_a_live_runs_partial_folder_is_never_taken(tmp_path):
    staging = left_by_a_killed_run(tmp_path, pid=os.getpid())
    with open(staging / LOCK_NAME) as lock:  # held as a live run holds it
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(
            RunDirError, match=rf"'{tmp_path / 'run'}' is being written right now .*pid {os.getpid()}"
        ):
            with RunFolder("digits", tmp_path / "run"):
                pass
    assert (staging / "history.csv").exists()


def test_a_live_run_is_skipped_for_a_default_folder(tmp_path):
    with RunFolder("digits", root=tmp_path) as first, RunFolder("digits", root=tmp_path) as second:
        assert first.staging != second.staging
        assert second.path.name == f"{first.path.name}-2"


def test_stale_partial_folders_beside_a_new_run_are_removed(tmp_path):
    left_by_a_killed_run(tmp_path, "digits-20250101-120000")
    with RunFolder("digits", root=tmp_path) as folder:
        folder.commit()
    assert [item.name for item in tmp_path.iterdir()] == [folder.path.name]


@pytest.mark.parametrize("age, taken", [(UNLOCKED_GRACE_SECONDS + 60, True), (0, False)])
def test_a_partial_folder_without_a_lock_is_taken_only_once_it_is_old(tmp_path, age, taken):
    # Such a folder comes from an older kerasforge, or from a run in the instant before it locks it.
    staging = tmp_path / ".run.partial"
    staging.mkdir()
    os.utime(staging, (time.time() - age, time.time() - age))
    if taken:
        with RunFolder("digits", tmp_path / "run") as folder:
            assert folder.staging == staging
    else:
        with pytest.raises(RunDirError, match="is being written right now"):
            RunFolder("digits", tmp_path / "run").check()


def test_the_lock_is_held_while_the_run_writes_and_gone_once_published(tmp_path):
    with RunFolder("digits", tmp_path / "run") as folder:
        owner = json.loads((folder.staging / LOCK_NAME).read_text())
        assert owner["pid"] == os.getpid()
        with open(folder.staging / LOCK_NAME) as other, pytest.raises(BlockingIOError, match=r"Errno \d+"):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path = folder.commit()
    assert not (path / LOCK_NAME).exists()


def test_check_and_a_failed_run_leave_no_folder_behind(tmp_path):
    RunFolder("digits", tmp_path / "a" / "b" / "run").check()
    with pytest.raises(KeyError, match="the run failed"), RunFolder("digits", root=tmp_path / "runs"):
        raise KeyError("the run failed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda tmp: (tmp / "afile").touch() or tmp / "afile" / "run", r"'.*afile' is a file, not a folder"),
        (lambda tmp: (tmp / "run").touch() or tmp / "run", r"--run-dir '.*run' is a file, not a folder"),
        (lambda tmp: "/proc/kerasforge-run", r"'/proc' does not allow new folders"),
        (lambda tmp: "", r"Argument `run_dir` must name a folder. Received: run_dir=''"),
    ],
)
def test_a_run_folder_that_cannot_be_made_is_one_clear_error(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(RunDirError, match=message):
        RunFolder("digits", path).check()


def test_default_root_that_is_a_file_is_one_clear_error(tmp_path):
    (tmp_path / "runs").touch()
    with pytest.raises(
        RunDirError, match=r"cannot create the folder '.*runs': '.*runs' is a file, not a folder"
    ):
        RunFolder("digits", root=tmp_path / "runs").check()


@pytest.mark.parametrize(
    "code, reason",
    [
        (errno.EROFS, "'{parent}' is on a read-only file system"),
        (errno.EACCES, "no permission to create folders in '{parent}'"),
        (errno.ENOSPC, "'{parent}' does not allow new folders (No space left on device)"),
    ],
)
def test_creation_errors_say_why(tmp_path, code, reason):
    error = creation_error(tmp_path / "run", OSError(code, os.strerror(code)))
    assert isinstance(error, RunDirError)
    reason = reason.format(parent=tmp_path)
    assert str(error) == f"cannot create the folder '{tmp_path / 'run'}': {reason}; choose another --run-dir"


def test_check_writable_refuses_a_folder_that_takes_no_new_folders():
    with pytest.raises(RunDirError, match=r"no permission to create folders in '/sys'"):
        check_writable("/sys/kerasforge-search")


@pytest.mark.parametrize(
    "module, call",
    [
        ("engine.run", lambda recipe, path: train(recipe, run_dir=path, verbose=0)),
        (
            "engine.lr_find",
            lambda recipe, path: find_learning_rate(recipe, run_dir=path, verbose=0),
        ),
        ("engine.compare", lambda recipe, path: compare(recipe, run_dir=path, verbose=0)),
    ],
)
def test_the_run_folder_is_checked_before_the_data_is_read(tmp_path, monkeypatch, module, call):
    def read_data(recipe):
        raise AssertionError("the data was read before the run folder was checked")

    monkeypatch.setattr(f"kerasforge.recipes.{module}.prepare_data", read_data)
    (tmp_path / "afile").touch()
    recipe = load_recipe("gd_variants")
    with pytest.raises(RunDirError, match=r"/afile' is a file, not a folder"):
        call(recipe, tmp_path / "afile" / "run")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["afile"]
