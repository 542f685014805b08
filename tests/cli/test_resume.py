"""Resuming killed runs: SIGKILL at three points, each resumed to the uninterrupted run's weights and metrics.

The runs are real `kerasforge` processes. `KERASFORGE_TEST_KILL=POINT:EPOCH` makes
the process SIGKILL itself at that point (no clean-up, as the out-of-memory
killer), so each test hits its point exactly: between epochs (just after a
checkpoint), halfway through an epoch's updates, and halfway through writing a
checkpoint's temporary file.
"""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from kerasforge.recipes import load_recipe
from kerasforge.recipes.engine.backend_settings import backend_facts
from kerasforge.recipes.engine.checkpoint_files import (
    CHECKPOINT_FOLDER,
    RECIPE_FILE,
    TEST_KILL_VARIABLE,
    checkpoint_epochs,
    checkpoint_file_name,
)
from kerasforge.recipes.engine.run_folder import LOCK_NAME, RunFolder
from kerasforge.recipes.schema.loading import recipe_to_yaml

# torch's trainer runs one update per call; the others several, as below.
_MOST_PER_CALL = backend_facts().max_steps_per_execution
# Small, with everything that holds state: Dropout (a SeedGenerator), Adam's slots, a
# learning-rate schedule, both monitors and EarlyStopping. 3 updates per graph call (1 on
# torch): an epoch has several calls to be killed between, and its 10 updates end in a short call.
SMALL = [
    "--set=training.epochs=6",
    "--set=data.max_train_rows=300",
    "--set=model.hidden=[16]",
    f"--set=training.steps_per_execution={min(3, _MOST_PER_CALL)}",
    "--set=training.learning_rate={schedule: cosine, peak: 3.0e-3, warmup_epochs: 1}",
    "--set=callbacks.early_stopping.patience=50",
    "--quiet",
]
# EarlyStopping stops this one at epoch 10 of 20 on TensorFlow (patience 2: waiting since epoch 9).
STOPPING = [
    "--set=training.epochs=20",
    "--set=data.max_train_rows=300",
    "--set=model.hidden=[16]",
    f"--set=training.steps_per_execution={min(2, _MOST_PER_CALL)}",
    "--set=callbacks.early_stopping.patience=2",
    "--set=callbacks.early_stopping.min_delta=0.2",
    "--quiet",
]
KILLED = -signal.SIGKILL


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_kerasforge(env, cwd, *args, kill_at=None):
    """Runs `kerasforge ARGS...` as a shell's foreground job would (Ctrl-C's default action)."""
    env = dict(env)
    env.pop(TEST_KILL_VARIABLE, None)
    if kill_at:
        env[TEST_KILL_VARIABLE] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "kerasforge", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
        preexec_fn=_default_sigint,
    )


def published(folder: Path) -> dict:
    """What a finished run folder says: its files, test metrics, history (without timings), weights."""
    history = pd.read_csv(folder / "history.csv").drop(columns="train_seconds")
    model = keras.saving.load_model(folder / "model.keras", compile=False)
    return {
        "files": sorted(str(path.relative_to(folder)) for path in folder.rglob("*")),
        "test": json.loads((folder / "metrics.json").read_text())["test"],
        "epochs_run": json.loads((folder / "metrics.json").read_text())["epochs_run"],
        "history": history,
        "events": json.loads((folder / "events.json").read_text()),
        "weights": model.get_weights(),
    }


def assert_same_run(resumed: dict, reference: dict) -> None:
    assert resumed["files"] == reference["files"]
    assert resumed["epochs_run"] == reference["epochs_run"]
    assert resumed["events"] == reference["events"]
    assert list(resumed["history"].columns) == list(reference["history"].columns)
    np.testing.assert_allclose(resumed["history"].to_numpy(), reference["history"].to_numpy(), atol=1e-6)
    assert resumed["test"].keys() == reference["test"].keys()
    for key, value in reference["test"].items():
        assert resumed["test"][key] == pytest.approx(value, abs=1e-5)
    assert len(resumed["weights"]) == len(reference["weights"])
    for got, expected in zip(resumed["weights"], reference["weights"], strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted runs of SMALL and STOPPING, in the same environment as the killed ones."""
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    folder = tmp_path_factory.mktemp("uninterrupted")
    runs = {}
    for name, overrides in (("small", SMALL), ("stopping", STOPPING)):
        result = run_kerasforge(env, folder, "train", "digits_mlp", *overrides, "--run-dir", name)
        assert result.returncode == 0, result.stderr
        runs[name] = {**published(folder / name), "stdout": result.stdout}
    return runs


def kill_and_resume(env, cwd, overrides, kill_at, between=None):
    """Kills a run at `kill_at`, checks what it left, runs `between(cwd)`, resumes; returns the resume."""
    killed = run_kerasforge(env, cwd, "train", "digits_mlp", *overrides, "--run-dir", "run", kill_at=kill_at)
    assert killed.returncode == KILLED, killed.stderr
    staging = cwd / ".run.partial"
    assert (staging / LOCK_NAME).exists()  # a stale lock: its process is dead
    assert not (cwd / "run").exists()
    if between is not None:
        between(cwd)
    return run_kerasforge(env, cwd, "train", "--resume", "run", "--quiet")


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill_at, checkpoints_left",
    [("after_checkpoint:3", [3, 2]), ("mid_epoch:4", [3, 2]), ("checkpoint_write:4", [3, 2])],
    ids=["between-epochs", "mid-epoch", "during-checkpoint-write"],
)
def test_a_run_killed_at_any_point_resumes_to_the_uninterrupted_weights_and_metrics(
    fresh_env, tmp_path, reference, kill_at, checkpoints_left
):
    def check_left(cwd):
        staging = cwd / ".run.partial"
        assert checkpoint_epochs(staging) == checkpoints_left
        temporary = list((staging / CHECKPOINT_FOLDER).glob(".*.tmp"))
        assert bool(temporary) == kill_at.startswith("checkpoint_write")  # half-written, never renamed

    resumed = kill_and_resume(fresh_env, tmp_path, SMALL, kill_at, between=check_left)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming 'run' after epoch 3" in resumed.stdout
    assert sorted(os.listdir(tmp_path)) == ["run"]
    assert_same_run(published(tmp_path / "run"), reference["small"])


@pytest.mark.slow
def test_a_damaged_newest_checkpoint_is_skipped_for_the_one_before(fresh_env, tmp_path, reference):
    def damage_newest(cwd):
        newest = cwd / ".run.partial" / CHECKPOINT_FOLDER / checkpoint_file_name(3)
        data = bytearray(newest.read_bytes())
        data[len(data) // 2] ^= 0xFF  # one flipped byte, as a torn disk write
        newest.write_bytes(bytes(data))

    resumed = kill_and_resume(fresh_env, tmp_path, SMALL, "after_checkpoint:3", between=damage_newest)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming 'run' after epoch 2" in resumed.stdout
    assert "skipped the damaged checkpoint" in resumed.stderr
    assert_same_run(published(tmp_path / "run"), reference["small"])


@pytest.mark.slow
def test_no_whole_checkpoint_is_one_line_and_the_run_stays_resumable_or_fresh(fresh_env, tmp_path):
    def truncate_all(cwd):
        for epochs in checkpoint_epochs(cwd / ".run.partial"):
            path = cwd / ".run.partial" / CHECKPOINT_FOLDER / checkpoint_file_name(epochs)
            path.write_bytes(path.read_bytes()[:1000])

    resumed = kill_and_resume(fresh_env, tmp_path, SMALL, "after_checkpoint:2", between=truncate_all)
    assert resumed.returncode == 2
    assert re.fullmatch(
        r"kerasforge: error: no checkpoint in '.*checkpoint' reads back whole \(2 damaged file\(s\)\); "
        r"start afresh with --fresh\n",
        resumed.stderr,
    )
    assert (tmp_path / ".run.partial" / CHECKPOINT_FOLDER).is_dir()  # nothing was removed


def _early_stopping_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("EarlyStopping stopped"))


@pytest.mark.slow
@pytest.mark.parametrize("before_stop", [1, 0], ids=["while-waiting", "after-the-stopping-epoch"])
def test_early_stopping_state_survives_a_resume(fresh_env, tmp_path, reference, before_stop):
    # The uninterrupted run stops early: at epoch 10 of 20 on TensorFlow, 9 on torch.
    stop = reference["stopping"]["epochs_run"]
    assert stop < 20
    line = _early_stopping_line(reference["stopping"]["stdout"])
    if keras.backend.backend() == "tensorflow":
        assert line == "EarlyStopping stopped at epoch 10 (patience); best val_loss=2.09862 at epoch 8."
    resumed = kill_and_resume(fresh_env, tmp_path, STOPPING, f"after_checkpoint:{stop - before_stop}")
    assert resumed.returncode == 0, resumed.stderr
    assert _early_stopping_line(resumed.stdout) == line
    assert_same_run(published(tmp_path / "run"), reference["stopping"])


def fake_killed_run(cwd: Path, epochs_done: int = 3, recipe=None) -> Path:
    """A killed run's staging folder as the command line sees it before TensorFlow: names only."""
    folder = cwd / ".run.partial" / CHECKPOINT_FOLDER
    folder.mkdir(parents=True)
    (cwd / ".run.partial" / LOCK_NAME).write_text("{}")
    recipe = recipe or load_recipe("digits_mlp", ["training.epochs=6"])
    (folder / RECIPE_FILE).write_text(recipe_to_yaml(recipe))
    for epochs in range(max(1, epochs_done - 1), epochs_done + 1):
        (folder / checkpoint_file_name(epochs)).write_bytes(b"not read by these checks")
    return folder


def test_reusing_a_killed_runs_folder_offers_resume_or_fresh_in_one_line(kerasforge, tmp_path):
    fake_killed_run(tmp_path, epochs_done=3)
    result = kerasforge("train", "digits_mlp", "--set", "training.epochs=6", "--run-dir", "run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "kerasforge: error: --run-dir 'run' holds the checkpoint of a killed run (3 epoch(s) done); "
        "resume it: kerasforge train --resume run; "
        "or start afresh: kerasforge train digits_mlp --set training.epochs=6 --run-dir run --fresh\n"
    )
    assert checkpoint_epochs(tmp_path / ".run.partial") == [3, 2]


def test_a_default_run_folder_never_removes_a_killed_runs_checkpoint(tmp_path):
    runs = tmp_path / "runs"
    fake_killed_run(runs)
    dead_without_checkpoint = runs / ".old.partial"
    dead_without_checkpoint.mkdir()
    (dead_without_checkpoint / LOCK_NAME).write_text("{}")
    RunFolder("digits_mlp", root=runs).check()  # removes the staging folders of dead runs
    assert checkpoint_epochs(runs / ".run.partial") == [3, 2]
    assert not dead_without_checkpoint.exists()


@pytest.mark.parametrize(
    "args, key, saved, given",
    [
        (["digits_mlp", "--set", "training.epochs=7"], "training.epochs", "6", "7"),
        (["--set", "model.dropout=0.3"], "model.dropout", "0.2", "0.3"),
    ],
    ids=["other-recipe", "set-on-the-killed-runs-recipe"],
)
def test_resuming_with_another_recipe_is_one_line_naming_the_key(
    kerasforge, tmp_path, args, key, saved, given
):
    fake_killed_run(tmp_path)
    result = kerasforge("train", *args, "--resume", "run", cwd=tmp_path, imports=True)
    assert result.returncode == 2
    assert result.stderr == (
        f"kerasforge: error: --resume 'run': the recipe differs from the killed run's at `{key}`: "
        f"checkpoint {saved}, given {given}; leave out RECIPE and --set to resume the run as it was, "
        "or start afresh with --fresh\n"
    )
    assert result.stdout.splitlines()[-1] == "imported the backend: False"


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--resume", "nothing"],
            r"--resume 'nothing': no killed run to resume there \(no checkpoint in '.*'\)",
        ),
        (
            ["--resume", "run", "--run-dir", "other"],
            r"--resume RUN_DIR names the run folder; leave out --run-dir",
        ),
        ([], r"train needs a RECIPE, or --resume RUN_DIR to continue a killed run"),
    ],
    ids=["no-killed-run", "two-folders", "no-recipe"],
)
def test_resume_mistakes_are_one_line(kerasforge, tmp_path, args, message):
    fake_killed_run(tmp_path)
    result = kerasforge("train", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert re.fullmatch(rf"kerasforge: error: {message}[^\n]*\n", result.stderr)


def test_a_finished_run_has_nothing_to_resume(kerasforge, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    result = kerasforge("train", "--resume", "run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "kerasforge: error: --resume 'run': that run finished and was published; nothing to resume\n"
    )


@pytest.mark.slow
def test_fresh_discards_a_killed_runs_checkpoint(kerasforge, tmp_path):
    fake_killed_run(tmp_path)
    small = ["--set=training.epochs=1", "--set=model.hidden=[16]", "--set=data.max_train_rows=200", "--quiet"]
    result = kerasforge("train", "digits_mlp", *small, "--run-dir", "run", "--fresh", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["run"]
    assert not (tmp_path / "run" / CHECKPOINT_FOLDER).exists()


@pytest.mark.slow
def test_a_streamed_run_killed_mid_epoch_resumes_to_the_uninterrupted_weights(fresh_env, tmp_path):
    # A streamed source orders each epoch from (seed, epoch) too: the resumed fit's stream must
    # start at the epoch it resumes, not at epoch 0, or its batches differ from the uninterrupted run's.
    from sklearn.datasets import load_digits

    digits = load_digits(as_frame=True).frame.sample(400, random_state=0)
    digits.to_csv(tmp_path / "digits.csv", index=False)
    streamed = [
        f"--set=data.source={tmp_path / 'digits.csv'}",
        "--set=data.stream=true",
        "--set=data.shuffle_buffer=64",
        *[flag for flag in SMALL if "max_train_rows" not in flag and "epochs=" not in flag],
        "--set=training.epochs=4",
    ]
    uninterrupted = run_kerasforge(
        fresh_env, tmp_path, "train", "digits_mlp", *streamed, "--run-dir", "whole"
    )
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    resumed = kill_and_resume(fresh_env, tmp_path, streamed, "mid_epoch:3")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming 'run' after epoch 2" in resumed.stdout
    got, expected = published(tmp_path / "run"), published(tmp_path / "whole")
    np.testing.assert_allclose(got["history"].to_numpy(), expected["history"].to_numpy(), atol=1e-6)
    for got_weights, expected_weights in zip(got["weights"], expected["weights"], strict=True):
        np.testing.assert_allclose(got_weights, expected_weights, atol=1e-6, rtol=0)
