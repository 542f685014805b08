"""A search with 2 long-lived worker processes, asking this process's oracle for trials."""

import collections
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kerasforge.errors import TuningError
from kerasforge.tuning import load_trials, run_search

SPACE = {"layers": [1, 2], "units": [4, 8], "batch_size": [16, 32]}


def _records(folder: Path) -> list[dict]:
    paths = sorted((folder / "keras_tuner").glob("trial_*/kerasforge_trial.json"))
    return [json.loads(path.read_text()) for path in paths]


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            found += map(int, Path(f"/proc/{pid}/task/{task}/children").read_text().split())
        except OSError:
            continue
    return found


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


@pytest.mark.slow
def test_two_workers_each_run_several_trials_and_the_oracle_stays_in_this_process(tiny_recipe, tmp_path):
    children, stop = {}, threading.Event()
    # Children left by earlier tests (multiprocessing's resource tracker) are not the search's.
    earlier = set(_children(os.getpid()))

    def watch():
        while not stop.is_set():
            for child in set(_children(os.getpid())) - earlier:
                children.setdefault(child, _command_line(child))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        result = run_search(
            tiny_recipe(search={"max_trials": 6, **SPACE}), workers=2, run_dir=tmp_path / "s", verbose=0
        )
    finally:
        stop.set()
        watcher.join()
    assert sorted(result.trials["trial_id"]) == ["0", "1", "2", "3", "4", "5"]
    assert (result.trials["status"] == "COMPLETED").all()
    trials_per_pid = collections.Counter(record["pid"] for record in _records(tmp_path / "s"))
    # Long-lived: the 2 workers ran all 6 trials, each more than one.
    assert len(trials_per_pid) == 2 and min(trials_per_pid.values()) > 1, trials_per_pid
    assert set(trials_per_pid) <= set(children)
    # No chief: this process started only the 2 workers, and serves the oracle itself.
    assert len(children) == 2, children
    assert all("kerasforge.tuning.search_process" in line for line in children.values()), children
    assert (tmp_path / "s" / "keras_tuner" / "tuner0.json").exists()


@pytest.mark.slow
def test_workers_move_to_fresh_processes_after_trials_per_process(tiny_recipe, tmp_path):
    recipe = tiny_recipe(search={"max_trials": 6, "trials_per_process": 2, **SPACE})
    result = run_search(recipe, workers=2, run_dir=tmp_path / "s", verbose=0)
    assert sorted(result.trials["trial_id"]) == ["0", "1", "2", "3", "4", "5"]
    assert (result.trials["status"] == "COMPLETED").all()
    records = _records(tmp_path / "s")
    trials_per_pid = collections.Counter(record["pid"] for record in records)
    assert max(trials_per_pid.values()) <= 2 and len(trials_per_pid) >= 3, trials_per_pid
    assert {record["tuner_id"] for record in records} <= {"worker0", "worker1"}


@pytest.mark.slow
def test_failures_in_a_row_stop_a_two_worker_search_quietly_with_the_failed_trials_recorded(
    tiny_recipe, tmp_path, caplog
):
    recipe = tiny_recipe(
        training={"epochs": 2, "optimizer": "sgd"},
        callbacks={"gradient_monitor": {"enabled": False}, "early_stopping": {"enabled": False}},
        search={"max_trials": 6, "learning_rate": [1e12, 1e13, 1e14], "max_consecutive_failures": 2},
    )
    with pytest.raises(TuningError, match="search stopped: 2 trials failed in a row"):
        run_search(recipe, workers=2, run_dir=tmp_path / "s", verbose=0, prune="none")
    assert not [record for record in caplog.records if record.levelname == "ERROR"], caplog.text
    trials = load_trials(tmp_path / "s")
    # The other worker's trial, stopped with the search, runs again if the search is resumed.
    assert (trials["status"] == "FAILED").sum() >= 2, trials
    assert set(trials["status"]) <= {"FAILED", "RUNNING"}, trials


def test_starting_workers_early_imports_no_backend():
    # The command line starts the workers before its own imports, so theirs overlap.
    code = (
        "import sys, kerasforge.tuning.worker_pool; print(sorted({'keras', 'tensorflow'} & set(sys.modules)))"
    )
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert finished.stdout == "[]\n"
