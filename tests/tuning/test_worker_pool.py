"""Searches in several processes: 2 long-lived workers asking this process's oracle for trials,
and one-process searches run in child processes; what happens when those processes are killed."""

import collections
import json
import os
import signal
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
                # Read again while it lives: between fork and exec it still shows this process's line.
                children[child] = _command_line(child) or children.get(child, "")
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


def _two_long_trials(tiny_recipe, epochs: int, **search):
    """A search of 2 trials that run all their epochs (no early stopping), so a kill lands mid-trial."""
    return tiny_recipe(
        training={"epochs": epochs, "batch_size": 32},
        callbacks={"early_stopping": {"enabled": False}},
        search={"max_trials": 2, **SPACE, **search},
    )


def _running_trials(folder: Path) -> list[Path]:
    """Trial folders the oracle made whose worker has not written its record yet."""
    return [
        path.parent
        for path in (folder / "keras_tuner").glob("trial_*/trial.json")
        if not (path.parent / "kerasforge_trial.json").exists()
    ]


def _wait_for(condition, seconds: float = 120.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"waited {seconds:g} s for {getattr(condition, '__name__', condition)}")


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_its_trial_runs_again_until_a_second_kill_fails_it(
    tiny_recipe, tmp_path
):
    # 2 trials of 200 epochs, one per worker: both are mid-trial when they are killed.
    recipe = _two_long_trials(tiny_recipe, 200, max_consecutive_failures=3)
    folder = tmp_path / "s"
    earlier = set(_children(os.getpid()))
    kills = []

    def kill_workers():
        def workers():
            return set(_children(os.getpid())) - earlier - set(kills)

        def two_trials_running():
            return len(_running_trials(folder)) == 2 and len(workers()) == 2

        _wait_for(two_trials_running)
        first = workers()
        for pid in first:  # both mid-trial: each comes back in a fresh process
            os.kill(pid, signal.SIGKILL)
        kills.extend(first)
        # One of the fresh processes is killed as well, still importing: its trial's second kill.
        second = sorted(_wait_for(workers))[0]
        os.kill(second, signal.SIGKILL)
        kills.append(second)

    killer = threading.Thread(target=kill_workers, daemon=True)
    killer.start()
    result = run_search(recipe, workers=2, run_dir=folder, verbose=0, prune="none")
    killer.join(timeout=1)
    assert len(kills) == 3, kills
    trials = result.trials.set_index("trial_id")
    assert sorted(trials["status"]) == ["COMPLETED", "FAILED"], trials
    failed = trials[trials["status"] == "FAILED"].iloc[0]
    assert "killed by SIGKILL 2 times" in failed["reason"], failed["reason"]
    # The trial killed once ran again, to the end, in a process that was not killed.
    (record,) = [
        r for r in _records(folder) if r["trial_id"] == trials.index[trials["status"] == "COMPLETED"][0]
    ]
    assert record["pid"] not in kills and len(record["history"]["loss"]) == 200


@pytest.mark.parametrize("times", [1, 2])
@pytest.mark.slow
def test_a_worker_killed_outside_a_trial_is_replaced_once_then_reported(tiny_recipe, tmp_path, times):
    # Long enough for the fresh worker to start before the other one ends its trial.
    recipe = _two_long_trials(tiny_recipe, 200 if times == 1 else 20)
    folder = tmp_path / "s"
    earlier = set(_children(os.getpid()))
    kills, idle_at_kill = [], []

    def kill_a_starting_worker():
        def new_workers():
            found = sorted(set(_children(os.getpid())) - earlier - set(kills))
            return found if len(found) == 2 else None

        # Both workers still import when the first is killed: it has had no trial.
        target, other = _wait_for(new_workers)
        idle_at_kill.append(not list((folder / "keras_tuner").glob("trial_*")))
        os.kill(target, signal.SIGKILL)
        kills.append(target)
        if times == 2:  # and the process that replaced it, while it imports in turn
            replacement = _wait_for(lambda: sorted(set(_children(os.getpid())) - earlier - {other, *kills}))
            os.kill(replacement[0], signal.SIGKILL)
            kills.append(replacement[0])

    killer = threading.Thread(target=kill_a_starting_worker, daemon=True)
    killer.start()
    if times == 1:
        result = run_search(recipe, workers=2, run_dir=folder, verbose=0, prune="none")
        trials = result.trials
    else:
        reported = r"search stopped: worker\d was killed by SIGKILL 2 times outside a trial, and not started"
        with pytest.raises(TuningError, match=reported):
            run_search(recipe, workers=2, run_dir=folder, verbose=0, prune="none")
        trials = load_trials(folder)
    killer.join(timeout=1)
    assert len(kills) == times and all(idle_at_kill), (kills, idle_at_kill)
    assert sorted(trials["trial_id"]) == ["0", "1"] and (trials["status"] == "COMPLETED").all(), trials
    records = _records(folder)
    assert not {record["pid"] for record in records} & set(kills)
    # Replaced once, both worker ids ran a trial; not replaced after a second kill, one ran both.
    assert len({record["tuner_id"] for record in records}) == 3 - times, records


def _kill_trial_children(folder: Path, kills: list[int], times: int) -> None:
    """SIGKILLs this process's trial child (a spawned one) `times` times: first mid-trial, then
    each fresh one as soon as it starts."""

    def trial_child():
        children = [pid for pid in _children(os.getpid()) if "spawn_main" in _command_line(pid)]
        fresh = sorted(set(children) - set(kills))
        return fresh if fresh and (kills or _running_trials(folder)) else None

    for _ in range(times):
        child = _wait_for(trial_child)[0]
        os.kill(child, signal.SIGKILL)
        kills.append(child)


@pytest.mark.slow
def test_a_killed_trial_child_is_replaced_and_a_second_kill_in_the_same_trial_stops_the_search(
    tiny_recipe, tmp_path
):
    # More trials than `trials_per_process`: they run in child processes, one trial each.
    recipe = _two_long_trials(tiny_recipe, 100, trials_per_process=1)
    for times in (1, 2):
        folder, kills = tmp_path / f"killed-{times}", []
        killer = threading.Thread(target=_kill_trial_children, args=(folder, kills, times), daemon=True)
        killer.start()
        if times == 1:
            result = run_search(recipe, run_dir=folder, verbose=0, prune="none")
            # The killed trial ran again in a fresh child, to its end.
            assert sorted(result.trials["trial_id"]) == ["0", "1"]
            assert (result.trials["status"] == "COMPLETED").all(), result.trials
            assert not {record["pid"] for record in _records(folder)} & set(kills)
        else:
            with pytest.raises(TuningError, match=r"process was killed by SIGKILL 2 times in the same trial"):
                run_search(recipe, run_dir=folder, verbose=0, prune="none")
        killer.join(timeout=1)
        assert len(kills) == times, kills


def test_starting_workers_early_imports_no_backend():
    # The command line starts the workers before its own imports, so theirs overlap.
    code = (
        "import sys, kerasforge.tuning.worker_pool; print(sorted({'keras', 'tensorflow'} & set(sys.modules)))"
    )
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert finished.stdout == "[]\n"
