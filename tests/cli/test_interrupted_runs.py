"""Interrupted runs, with real signals: one line, a clean exit status, nothing half-written left behind."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kerasforge.recipes.engine.checkpoint_files import checkpoint_epochs
from kerasforge.recipes.engine.run_folder import LOCK_NAME

# Long enough to interrupt: no early stopping, many epochs of a tiny model.
LONG_TRAINING = [
    "--set=training.epochs=2000",
    "--set=model.hidden=[16]",
    "--set=callbacks.early_stopping.enabled=false",
    "--set=callbacks.activation_monitor.enabled=false",
    "--quiet",
]
# A search whose trials run in child processes (one trial each) and take a few seconds.
SEARCH_RECIPE = """
name: tiny_search
seed: 3
data: {source: synthetic, synthetic: {rows: 300, features: 6, classes: 3}}
model: {hidden: [8]}
training: {epochs: 100, batch_size: 16}
callbacks: {early_stopping: {enabled: false}, activation_monitor: {enabled: false}}
search: {max_trials: 8, units: [4, 8, 16], learning_rate: {min: 1.0e-4, max: 1.0e-2}, trials_per_process: 1}
"""
RESUME = "run the same command again to resume the search"


def descendants(pid: int) -> list[int]:
    """The processes below `pid`, read from /proc."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Running:
    """A `kerasforge` process in its own process group, its stdout read line by line meanwhile."""

    def __init__(self, env, cwd, *args):
        env = {**env, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kerasforge", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
            start_new_session=True,  # its own group, as a shell's foreground job, for Ctrl-C
            # A shell's foreground job starts with Ctrl-C's default action. A test run started
            # in the background of a script inherits SIGINT ignored, and kerasforge rightly
            # leaves an ignored SIGINT ignored (as `nohup` wants), so it is reset here.
            preexec_fn=_default_sigint,
        )
        self.lines, self.errors = [], []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self.lines), (self.process.stderr, self.errors))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, lines):
        for line in stream:
            lines.append(line)

    def wait_for(self, condition, timeout=240):
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"ended early: {''.join(self.errors)}"
            assert time.monotonic() < deadline, "timed out waiting"
            time.sleep(0.2)

    def printed(self, pattern):
        return lambda: any(re.search(pattern, line) for line in self.lines)

    def stop(self, signum, group=False):
        """Sends `signum` (to the group, as Ctrl-C does); returns status, stderr, children left running."""
        children = descendants(self.process.pid)
        if group:
            os.killpg(self.process.pid, signum)
        else:
            os.kill(self.process.pid, signum)
        status = self.process.wait(timeout=180)
        deadline = time.monotonic() + 15
        while any(alive(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        for reader in self._readers:
            reader.join(timeout=5)  # a child left running would hold the pipes open
        return status, "".join(self.errors), [child for child in children if alive(child)]


@pytest.fixture
def search_recipe(tmp_path):
    path = tmp_path / "search.yaml"
    path.write_text(SEARCH_RECIPE)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["TERM", "INT"])
def test_a_stopped_train_is_one_line_and_keeps_only_its_checkpoint_to_resume(
    fresh_env, tmp_path, signum, status
):
    run = Running(fresh_env, tmp_path, "train", "digits_mlp", *LONG_TRAINING, "--run-dir", "myrun")
    run.wait_for(run.printed(r"^Epoch 2/"))
    code, stderr, _ = run.stop(signum)
    assert code == status
    name = signal.Signals(signum).name
    assert stderr.splitlines() == [
        f"kerasforge: train interrupted ({name}); resume with: kerasforge train --resume myrun"
    ]
    assert os.listdir(tmp_path) == [".myrun.partial"]  # hidden: no run folder appears
    assert checkpoint_epochs(tmp_path / ".myrun.partial")


@pytest.mark.slow
def test_a_killed_run_does_not_block_the_next_one(fresh_env, tmp_path, kerasforge):
    run = Running(fresh_env, tmp_path, "train", "digits_mlp", *LONG_TRAINING, "--run-dir", "myrun")
    run.wait_for(run.printed(r"^Epoch 2/"))
    assert (tmp_path / ".myrun.partial" / LOCK_NAME).exists()
    run.stop(signal.SIGKILL)  # as the out-of-memory killer does: no clean-up at all
    assert (tmp_path / ".myrun.partial").exists()
    small = ["--set=training.epochs=1", "--set=model.hidden=[16]", "--set=data.max_train_rows=200", "--quiet"]
    offered = kerasforge("train", "digits_mlp", *small, "--run-dir", "myrun", cwd=tmp_path)
    assert offered.returncode == 2
    assert "holds the checkpoint of a killed run" in offered.stderr
    result = kerasforge("train", "digits_mlp", *small, "--run-dir", "myrun", "--fresh", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert os.listdir(tmp_path) == ["myrun"]
    assert (tmp_path / "myrun" / "metrics.json").exists()
    assert not (tmp_path / "myrun" / LOCK_NAME).exists()


@pytest.mark.slow
def test_a_live_run_folder_is_never_taken(fresh_env, tmp_path, kerasforge):
    run = Running(fresh_env, tmp_path, "train", "digits_mlp", *LONG_TRAINING, "--run-dir", "myrun")
    run.wait_for(run.printed(r"^Epoch 2/"))
    result = kerasforge("train", "digits_mlp", "--run-dir", "myrun", cwd=tmp_path)
    run.stop(signal.SIGTERM)
    assert result.returncode == 2
    assert re.fullmatch(
        rf"kerasforge: error: --run-dir 'myrun' is being written right now by another kerasforge run "
        rf"\(pid {run.process.pid} on .*\); choose another folder\n",
        result.stderr,
    )


@pytest.mark.slow
def test_an_interrupted_compare_leaves_no_folder(fresh_env, tmp_path):
    run = Running(fresh_env, tmp_path, "compare", "gd_variants", *LONG_TRAINING, "--run-dir", "cmp")
    run.wait_for(run.printed(r"^Epoch 2/"))
    code, stderr, _ = run.stop(signal.SIGINT)
    assert code == 130
    assert stderr.splitlines() == ["kerasforge: compare interrupted (SIGINT); nothing was written"]
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_gradient_monitor_raise_is_one_line_naming_the_event_and_leaves_nothing(kerasforge, tmp_path):
    small = ["--set=training.epochs=2", "--set=data.max_train_rows=200", "--quiet"]
    raising = "--set=callbacks.gradient_monitor.on_detect=raise"
    result = kerasforge("train", "exploding_gradients", raising, *small, cwd=tmp_path)
    assert result.returncode == 2
    assert re.fullmatch(
        r"kerasforge: error: training stopped by callbacks.gradient_monitor.on_detect=raise at epoch 1: "
        r"(non_finite|exploding) in layer `\w+`, value [\d.e+]+ \(.+\).*; the partial run folder was removed "
        r"\(on_detect: stop ends training and keeps the run\)\n",
        result.stderr,
    )
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
@pytest.mark.parametrize("group", [True, False], ids=["ctrl-c", "kill-int-to-the-parent"])
def test_an_interrupted_search_stops_its_trial_process_and_says_how_to_resume(
    fresh_env, tmp_path, search_recipe, group
):
    run = Running(fresh_env, tmp_path, "tune", search_recipe, "--run-dir", "s")
    run.wait_for(run.printed(r"^trial 1 of 8"))
    run.wait_for(lambda: len(descendants(run.process.pid)) >= 1)
    code, stderr, left_running = run.stop(signal.SIGINT, group=group)
    assert code == 130
    assert re.fullmatch(
        rf"kerasforge: tune interrupted \(SIGINT\); \d of 8 trials finished.*; {RESUME} in 's'\n", stderr
    )
    assert left_running == []


@pytest.mark.slow
@pytest.mark.parametrize("group", [True, False], ids=["ctrl-c", "kill-int-to-the-parent"])
def test_an_interrupted_search_stops_its_workers(fresh_env, tmp_path, search_recipe, group):
    run = Running(fresh_env, tmp_path, "tune", search_recipe, "--workers", "2", "--run-dir", "s")
    run.wait_for(run.printed(r"^\[worker\d\] trial \d of 8"))
    code, stderr, left_running = run.stop(signal.SIGINT, group=group)
    assert code == 130
    assert re.fullmatch(
        rf"kerasforge: tune interrupted \(SIGINT\); \d of 8 trials finished.*; {RESUME} in 's'\n", stderr
    )
    assert left_running == []


@pytest.mark.slow
def test_an_interrupted_two_worker_search_resumes_keeping_its_finished_trials(
    fresh_env, tmp_path, kerasforge
):
    (tmp_path / "search.yaml").write_text(SEARCH_RECIPE.replace("max_trials: 8", "max_trials: 4"))
    command = ("tune", "search.yaml", "--workers", "2", "--run-dir", "s", "--prune", "none")
    run = Running(fresh_env, tmp_path, *command)
    run.wait_for(run.printed(r"^\[worker\d\] trial \d of 4"))
    code, stderr, left_running = run.stop(signal.SIGTERM)
    assert code == 143 and left_running == []
    assert re.fullmatch(
        rf"kerasforge: tune interrupted \(SIGTERM\); \d of 4 trials finished.*; {RESUME} in 's'\n", stderr
    )
    project = tmp_path / "s" / "keras_tuner"
    finished = {
        path.parent.name: path.read_text()
        for path in project.glob("trial_*/kerasforge_trial.json")
        if '"reason": null' in path.read_text()
    }
    assert 1 <= len(finished) < 4
    result = kerasforge(*command, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(resuming)" in result.stdout
    rows = (tmp_path / "s" / "trials.csv").read_text().splitlines()
    assert len(rows) == 5 and all(",COMPLETED," in row for row in rows[1:]), rows
    # The trials finished before the stop kept their records; the others ran in the second search.
    for name, record in finished.items():
        assert (project / name / "kerasforge_trial.json").read_text() == record


# Six trials of a few seconds each, all in the process that the command started.
SIX_TRIALS = """
name: six_trials
seed: 3
data: {source: synthetic, synthetic: {rows: 300, features: 6, classes: 3}}
model: {hidden: [8]}
training: {epochs: 30, batch_size: 16}
callbacks: {early_stopping: {enabled: false}, activation_monitor: {enabled: false}}
search: {max_trials: 6, units: [4, 8, 16], learning_rate: {min: 1.0e-4, max: 1.0e-2}}
"""


def _finished_rows(folder: Path):
    import pandas as pd

    trials = pd.read_csv(folder / "trials.csv", dtype={"trial_id": str})
    return trials[trials["status"] == "COMPLETED"]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_stopped_search_keeps_its_finished_trials_and_says_how_to_resume(fresh_env, tmp_path, signum):
    from kerasforge.recipes import load_recipe

    (tmp_path / "six.yaml").write_text(SIX_TRIALS)
    run = Running(fresh_env, tmp_path, "tune", "six.yaml", "--run-dir", "s", "--prune", "none")
    run.wait_for(run.printed(r"^trial 2 of 6"))
    code, stderr, left_running = run.stop(signum)
    finished = sum(1 for line in run.lines if re.match(r"trial \d of 6", line))
    name = signal.Signals(signum).name
    assert (code, left_running) == (128 + signum, [])
    assert stderr == (
        f"kerasforge: tune interrupted ({name}); {finished} of 6 trials finished, kept in 's/trials.csv'; "
        f"{RESUME} in 's'\n"
    )
    assert len(_finished_rows(tmp_path / "s")) == finished >= 2
    assert load_recipe(tmp_path / "s" / "best_recipe.yaml").search is None


def _killed_search(fresh_env, tmp_path, hook):
    """Runs `tune --max-trials 6`, SIGKILLed by the test hook `hook`; returns the search folder."""
    from kerasforge.recipes.engine.checkpoint_files import TEST_KILL_VARIABLE

    (tmp_path / "six.yaml").write_text(SIX_TRIALS.replace("epochs: 30", "epochs: 3"))
    command = [sys.executable, "-m", "kerasforge", "tune", "six.yaml", "--run-dir", "s", "--prune", "none"]
    result = subprocess.run(
        command, cwd=tmp_path, env={**fresh_env, TEST_KILL_VARIABLE: hook}, capture_output=True, timeout=600
    )
    assert result.returncode == -signal.SIGKILL
    return tmp_path / "s"


@pytest.mark.slow
def test_a_search_killed_after_three_trials_keeps_them_and_resumes(fresh_env, tmp_path, kerasforge):
    from kerasforge.recipes import load_recipe

    folder = _killed_search(fresh_env, tmp_path, "after_results:3")
    assert list(_finished_rows(folder)["trial_id"]) == ["0", "1", "2"]
    histories = (folder / "histories.csv").read_text().splitlines()
    assert {line.split(",")[0] for line in histories[1:]} == {"0", "1", "2"}
    assert load_recipe(folder / "best_recipe.yaml").training.epochs == 3
    resumed = kerasforge("tune", "six.yaml", "--run-dir", "s", "--prune", "none", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "(resuming)" in resumed.stdout
    assert list(_finished_rows(folder)["trial_id"]) == [str(trial) for trial in range(6)]


@pytest.mark.slow
def test_a_search_killed_while_writing_its_results_leaves_the_previous_whole_files(fresh_env, tmp_path):
    from kerasforge.recipes import load_recipe

    folder = _killed_search(fresh_env, tmp_path, "results_write:3")
    # Killed halfway through writing trials.csv after trial 3: the file of trial 2 is whole.
    assert list(_finished_rows(folder)["trial_id"]) == ["0", "1"]
    assert (folder / "trials.csv").read_text().count("\n") == 3
    assert any(folder.glob(".trials.csv.*.tmp"))  # the half-written file never took the name
    assert load_recipe(folder / "best_recipe.yaml").search is None


@pytest.mark.slow
def test_a_search_killed_from_outside_keeps_every_finished_trial(fresh_env, tmp_path):
    from kerasforge.recipes import load_recipe

    (tmp_path / "six.yaml").write_text(SIX_TRIALS)
    run = Running(fresh_env, tmp_path, "tune", "six.yaml", "--run-dir", "s", "--prune", "none")
    run.wait_for(run.printed(r"^trial 2 of 6"))
    code, _, _ = run.stop(signal.SIGKILL)
    printed = sum(1 for line in run.lines if re.match(r"trial \d of 6", line))
    assert code == -signal.SIGKILL
    # The files are written before a trial's line is printed: every printed trial is in them.
    assert len(_finished_rows(tmp_path / "s")) >= printed >= 2
    assert load_recipe(tmp_path / "s" / "best_recipe.yaml").search is None


# A Ctrl-C that lands while the parent starts a trial child: the start takes as long as the child
# needs to start Python and read its pickled job, and a SIGINT ignored meanwhile was lost (the
# search ran on to its end, exit status 0).
_CTRL_C_WHILE_A_CHILD_STARTS = """
import multiprocessing, os, signal, sys
from multiprocessing.context import SpawnProcess

signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
signal.signal(signal.SIGINT, signal.default_int_handler)
from kerasforge._stop_signals import Stopped, stop_signals_as_interrupts
from kerasforge.recipes import load_recipe
from kerasforge.tuning import run_search

start = SpawnProcess.start


def start_interrupted(self):
    os.kill(os.getpid(), signal.SIGINT)
    start(self)


SpawnProcess.start = start_interrupted
recipe = load_recipe(sys.argv[1], {"search.max_trials": 3, "training.epochs": 2})
with stop_signals_as_interrupts():
    try:
        run_search(recipe, run_dir=sys.argv[2], verbose=0)
        print("the search ran to its end")
    except Stopped as stopped:
        print("stopped by", stopped.signum)
print("children left:", len(multiprocessing.active_children()))
"""


@pytest.mark.slow
def test_a_ctrl_c_while_a_trial_child_starts_stops_the_search(fresh_env, tmp_path):
    (tmp_path / "search.yaml").write_text(SEARCH_RECIPE)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _CTRL_C_WHILE_A_CHILD_STARTS,
            str(tmp_path / "search.yaml"),
            str(tmp_path / "s"),
        ],
        capture_output=True,
        text=True,
        env=fresh_env,
        timeout=300,
    )
    stderr_tail = result.stderr[-2000:]
    assert (result.returncode, result.stdout) == (0, "stopped by 2\nchildren left: 0\n"), stderr_tail
