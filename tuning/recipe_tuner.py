"""`RecipeTuner`: what every kerasforge tuner adds to KerasTuner's, and the tuner factory."""

import gc
import json
import math
import os
import time
from pathlib import Path

import keras
import keras_tuner as kt

from kerasforge._keras_compat import print_msg
from kerasforge._stop_signals import raise_if_stopping
from kerasforge.errors import TuningError
from kerasforge.recipes.engine.json_file import write_json
from kerasforge.tuning._keras_tuner_compat import build_without_parent_weights, quiet_keras_tuner
from kerasforge.tuning.recipe_hyper_model import RecipeHyperModel, shown_score
from kerasforge.tuning.search_arguments import TUNER_NAMES
from kerasforge.tuning.trial_pruning import TrialPruning

TRIAL_RECORD = "kerasforge_trial.json"
_UNFINISHED = ("RUNNING", "IDLE")
TUNERS = dict(
    zip(TUNER_NAMES, (kt.RandomSearch, kt.Hyperband, kt.BayesianOptimization, kt.GridSearch), strict=True)
)


def resident_memory_mb() -> float | None:
    """Current resident memory of this process in MB (Linux), else None."""
    try:
        with open("/proc/self/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _freeze_long_lived_objects() -> None:
    """Moves every object alive now out of the garbage collector's reach, for one search.

    KerasTuner runs two full garbage collections before each trial
    (`clear_session` and its own `gc.collect`), and each one walks every
    object of TensorFlow, Keras and pandas: about 0.3 s apiece here, which
    made a search trial slower than the same fit run directly. What is alive
    when the search begins (the imports, the prepared data) outlives the
    search, so it is frozen (`gc.freeze`) while the search runs; objects of
    its trials are collected as before. `RecipeTuner.search` freezes them and
    unfreezes them when it ends, however it ends: in a process that goes on
    (a notebook, a test run), an object frozen for good is never collected,
    even once it is garbage.
    """
    gc.collect()
    gc.freeze()


class TrialLimitReached(Exception):
    """Raised after a process has run its `trial_limit` trials; the search resumes elsewhere."""


class RecipeTuner:
    """Mixin for KerasTuner tuners: records every trial and prints one line per trial.

    Beside KerasTuner's `trial.json`, each trial folder gets
    `kerasforge_trial.json` with the per-epoch history, the duration, the
    tuner (worker) that ran it, the process's resident memory after the
    trial and, for a failed trial, the reason. The line printed after each
    trial shows `trial k of N`, the objective, the best so far and the time
    elapsed. KerasTuner's own display is silenced.

    With `prune` other than `none`, each trial trains with a `TrialPruner`
    (see `TrialPruning`) fed the search's completed trials so far; a trial it
    stops is recorded with `pruned` (`kind`, `evidence`, `epoch`) and its
    reason, and reported to the oracle as completed with its best value so
    far, so it never counts toward the consecutive-failures stop.

    Use `make_tuner` rather than this class directly.

    Attributes:
        total_trials: Integer. The N of "trial k of N" (None if unknown).
        verbose: Integer. 0 prints nothing.
        trial_limit: Integer or None. After this many trials in this
            process, `search` raises `TrialLimitReached` (the oracle state is
            saved first, so the search can resume in a fresh process).
        search_started: `time.time()` when the search started, for the
            elapsed time; set when the search continues in another process.
        prune: One of `PRUNE_MODES`. Defaults to `"none"` here; `run_search`
            sets the search's mode.
        after_trial: A function of no arguments called after each trial
            has ended and been saved, before its line is printed, or None.
            `run_search` sets `write_after_trial`, so the result files hold
            every finished trial.
    """

    total_trials = None
    verbose = 1
    trial_limit = None
    search_started = None
    prune = "none"
    after_trial = None
    _trials_here = 0

    def search(self, *args, **kwargs):
        # Python unfreezes all or nothing, so objects the caller froze itself are left to it.
        freezing = gc.get_freeze_count() == 0
        if freezing:
            _freeze_long_lived_objects()
        try:
            return super().search(*args, **kwargs)
        finally:
            if freezing:
                gc.unfreeze()

    def on_search_begin(self):
        if self.search_started is None:
            self.search_started = time.time()
        super().on_search_begin()

    def run_trial(self, trial, *args, **kwargs):
        started = time.perf_counter()
        record = {"trial_id": trial.trial_id, "tuner_id": self.tuner_id, "pid": os.getpid(), "reason": None}
        record["initial_epoch"] = trial.hyperparameters.values.get("tuner/initial_epoch", 0)
        objective = self.oracle.objective
        self.hypermodel.pruning = (
            None
            if self.prune == "none"
            else TrialPruning.from_folder(
                self.prune, self.project_dir, TRIAL_RECORD, objective.name, objective.direction
            )
        )
        self.hypermodel.pruned_ = None
        if self.hypermodel.keep_checkpoints:
            parent = trial.hyperparameters.values.get("tuner/trial_id")
            self.hypermodel.trial_dir = self.get_trial_dir(trial.trial_id)
            self.hypermodel.parent_dir = self.get_trial_dir(parent) if parent else None
        try:
            return super().run_trial(trial, *args, **kwargs)
        except Exception as error:
            # KerasTuner would record the error as a failed trial and go on: a stop signal that
            # came back as another error stops the search instead, the trial left to run again.
            raise_if_stopping(error)
            if isinstance(error, kt.errors.FailedTrialError):
                record["reason"] = str(error)
            else:
                record["reason"] = f"{type(error).__name__}: {error}"
            raise
        finally:
            record["seconds"] = round(time.perf_counter() - started, 3)
            record["rss_mb"] = resident_memory_mb()
            record["history"] = self.hypermodel.history_
            record["pruned"] = self.hypermodel.pruned_
            if record["pruned"] and record["reason"] is None:
                record["reason"] = f"{record['pruned']['kind']}: {record['pruned']['evidence']}"
            path = Path(self.get_trial_dir(trial.trial_id)) / TRIAL_RECORD
            write_json(path, record, indent=None)

    def _build_hypermodel(self, hp):
        # A promoted Hyperband trial gets its parent's whole training state in the fit (see
        # `trial_state`), not KerasTuner's best-epoch weights without the optimizer's.
        return build_without_parent_weights(self, hp)

    def _try_build(self, hp):
        # KerasTuner's own clears the session, which already collects garbage, and then collects
        # it again: a second full pass over the objects made since the search froze the older ones
        # (see `on_search_begin`), which frees nothing.
        if self.max_model_size:
            return super()._try_build(hp)
        keras.backend.clear_session()
        return self._build_hypermodel(hp)

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        # KerasTuner imports tensorboard here for every trial, even with no
        # TensorBoard callback; tensorboard is not a dependency of kerasforge.
        if any(type(callback).__name__ == "TensorBoard" for callback in callbacks):
            super()._configure_tensorboard_dir(callbacks, trial, execution)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.after_trial is not None:
            self.after_trial()
        if self.verbose:
            self._report(trial)
        self._trials_here += 1
        if self.trial_limit is not None and self._trials_here >= self.trial_limit:
            raise TrialLimitReached(f"{self._trials_here} trials run in this process")

    def _report(self, trial):
        ended = self.oracle.get_trial(trial.trial_id)
        trials = self.oracle.get_best_trials(10**6)
        best = trials[0] if trials and trials[0].status == "COMPLETED" else None
        # Trials other workers are still running are not counted in "trial k".
        finished = sum(1 for each in trials if each.status not in _UNFINISHED)
        name = self.oracle.objective.name
        total = f" of {self.total_trials}" if self.total_trials else ""
        record = _record(self.get_trial_dir(trial.trial_id))
        pruned = record.get("pruned") if ended.status == "COMPLETED" else None
        if pruned:
            why = f"{pruned['kind']}: {pruned['evidence']}"
            outcome = f"pruned at epoch {pruned['epoch']} ({why}), {name} {shown_score(ended.score):.4f}"
        elif ended.status == "COMPLETED":
            outcome = f"{name} {ended.score:.4f}"
        else:
            outcome = f"{ended.status.lower()}: {_reason(record, ended)}"
        if best is None:
            best_text = "no trial completed yet"
        elif math.isnan(shown_score(best.score)):
            best_text = f"no trial has reached a finite {name} yet"  # each one so far diverged
        else:
            best_text = f"best {best.score:.4f} (trial {best.trial_id})"
        elapsed = time.time() - (self.search_started or time.time())
        values = ", ".join(
            f"{key}={_short(value)}"
            for key, value in ended.hyperparameters.values.items()
            if not key.startswith("tuner/")
        )
        who = f"[{self.tuner_id}] " if os.environ.get("KERASTUNER_ORACLE_IP") else ""
        print_msg(
            f"{who}trial {finished}{total} (id {trial.trial_id}): {outcome} | {best_text} | "
            f"elapsed {_duration(elapsed)} | {values}"
        )


def _record(trial_dir) -> dict:
    path = Path(trial_dir) / TRIAL_RECORD
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _reason(record: dict, trial) -> str:
    if record.get("reason"):
        return record["reason"]
    lines = (trial.message or "").strip().splitlines()
    return lines[-1] if lines else "no reason recorded"


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def make_tuner(
    tuner: str,
    hypermodel: RecipeHyperModel,
    objective: kt.Objective,
    max_trials: int | None,
    directory: str | Path,
    project_name: str,
    seed: int,
    max_consecutive_failures: int = 3,
    hyperband_factor: int = 3,
    max_epochs: int = 30,
    overwrite: bool = False,
) -> kt.Tuner:
    """Creates a KerasTuner tuner that runs `hypermodel` and records its trials.

    Args:
        tuner: One of `random`, `hyperband`, `bayesian`, `grid`.
        hypermodel: A `RecipeHyperModel`.
        objective: A `keras_tuner.Objective`.
        max_trials: Integer total of trials, or None (Hyperband: its plan).
        directory: Folder holding the KerasTuner project.
        project_name: Name of the project folder inside `directory`.
        seed: Integer seed of the oracle.
        max_consecutive_failures: Integer. Failed trials in a row that stop
            the search. Defaults to `3`.
        hyperband_factor: Integer. Hyperband's reduction factor. Defaults to `3`.
        max_epochs: Integer. Hyperband's largest epoch budget. Defaults to `30`.
        overwrite: Boolean. False reloads an existing project (resume).

    Raises:
        TuningError: for an unknown tuner name.
    """
    if tuner not in TUNERS:
        raise TuningError(f"Argument `tuner` must be one of {', '.join(TUNERS)}. Received: tuner={tuner!r}")
    base = TUNERS[tuner]
    tuner_class = type(f"Recipe{base.__name__}", (RecipeTuner, base), {})
    arguments = dict(
        hypermodel=hypermodel,
        objective=objective,
        seed=seed,
        max_consecutive_failed_trials=max_consecutive_failures,
        directory=str(directory),
        project_name=project_name,
        overwrite=overwrite,
    )
    if tuner == "hyperband":
        arguments.update(max_epochs=max_epochs, factor=hyperband_factor)
    else:
        arguments["max_trials"] = max_trials
    quiet_keras_tuner()
    instance = tuner_class(**arguments)
    if tuner == "hyperband" and max_trials is not None:
        instance.oracle.max_trials = max_trials
    instance.oracle.verbose = 0
    return instance
