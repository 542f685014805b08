"""The result files of a search folder: rewritten after every trial, each file atomically.

`trials.csv`, `histories.csv` and `best_recipe.yaml` are rewritten from the
trial records after every trial (by the process that ran it) and once more at
the end of the search, so a search stopped by Ctrl-C, SIGTERM or SIGKILL
still leaves the results of its finished trials. Each file is written to a
temporary file in the same folder, flushed to disk and renamed into place
(`checkpoint_files.write_atomically`), so a reader, or a search killed during
the write, sees the old file or the new one, never part of one.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kerasforge.recipes import Recipe, apply_overrides, recipe_to_yaml
from kerasforge.recipes.engine import checkpoint_files
from kerasforge.tuning.search_folder import PROJECT_NAME
from kerasforge.tuning.search_space import SearchSpace
from kerasforge.tuning.trial_table import load_histories, load_trials, search_objective, trial_values

TRIALS_FILE = "trials.csv"
HISTORIES_FILE = "histories.csv"
BEST_RECIPE_FILE = "best_recipe.yaml"
UNFINISHED = ("RUNNING", "IDLE")
"""KerasTuner statuses of a trial that has not ended."""
# Test hook points (`KERASFORGE_TEST_KILL=POINT:K`, see `checkpoint_files`): SIGKILL halfway
# through writing trials.csv after the K-th finished trial, or right after all files are written.
KILL_DURING_WRITE = "results_write"
KILL_AFTER_WRITE = "after_results"

_log = logging.getLogger(__name__)


@dataclass
class ResultFiles:
    """What `write_result_files` read and wrote: the fields of the same names of `SearchResult`."""

    objective: str
    direction: str
    trials: pd.DataFrame
    best_trial_id: str | None = None
    best_score: float | None = None
    best_recipe: Recipe | None = None


def best_recipe(space: SearchSpace, values: dict, trial_id: str, score: str) -> Recipe:
    """The base recipe with a trial's hyperparameter values (Hyperband: its epochs), runnable by `train`."""
    overrides = space.overrides(values)
    if "tuner/epochs" in values:
        overrides["training.epochs"] = int(values["tuner/epochs"])
    overrides["search"] = None
    overrides["description"] = (
        f"Best trial {trial_id} of a search: {score}. " + space.recipe.description
    ).strip()
    return apply_overrides(space.recipe, overrides, origin="best trial")


def write_result_files(run_dir, space: SearchSpace, kill_halfway: bool = False) -> ResultFiles:
    """Writes `trials.csv`, `histories.csv` and `best_recipe.yaml` atomically from the trial records.

    Args:
        run_dir: The search folder.
        space: The search's `SearchSpace`.
        kill_halfway: Boolean. Test hook: SIGKILL this process halfway
            through writing `trials.csv`.

    Returns:
        The `ResultFiles`.

    Example:

    ```python
    files = write_result_files("runs/digits-search", space)
    files.best_recipe, files.trials
    ```
    """
    run_dir = Path(run_dir)
    objective, direction = search_objective(run_dir)
    trials = load_trials(run_dir)
    histories = load_histories(run_dir)
    _write(run_dir / TRIALS_FILE, trials.to_csv(index=False), kill_halfway)
    _write(run_dir / HISTORIES_FILE, histories.to_csv(index=False))
    files = ResultFiles(objective, direction, trials)
    done = trials[trials["status"] == "COMPLETED"].dropna(subset=[objective])
    if not done.empty:
        best = done.loc[done[objective].idxmin() if direction == "min" else done[objective].idxmax()]
        files.best_trial_id, files.best_score = best["trial_id"], float(best[objective])
        values = trial_values(run_dir, best["trial_id"])
        files.best_recipe = best_recipe(
            space, values, best["trial_id"], f"{objective}={files.best_score:.4f}"
        )
        _write(run_dir / BEST_RECIPE_FILE, recipe_to_yaml(files.best_recipe))
    return files


def _write(path: Path, text: str, kill_halfway: bool = False) -> None:
    checkpoint_files.write_atomically(path, text.encode("utf-8"), verified=False, kill_halfway=kill_halfway)


def finished_trials(run_dir) -> int:
    """The trials of a search folder that have ended (completed, pruned or failed)."""
    finished = 0
    for path in (Path(run_dir) / PROJECT_NAME).glob("trial_*/trial.json"):
        try:
            status = json.loads(path.read_text(encoding="utf-8")).get("status")
        except (OSError, ValueError):
            continue  # being written by KerasTuner right now: not ended yet
        finished += status not in UNFINISHED
    return finished


def write_after_trial(run_dir, space: SearchSpace) -> None:
    """Rewrites the result files after a trial ended (`RecipeTuner.after_trial`).

    In a search with several workers, another process may be writing a
    trial record meanwhile (KerasTuner's own `trial.json` is not written
    atomically); a record that does not read back is skipped here and
    picked up after the next trial or at the search's end.
    """
    finished = finished_trials(run_dir)
    try:
        write_result_files(
            run_dir, space, kill_halfway=checkpoint_files.test_kill_wanted(KILL_DURING_WRITE, finished - 1)
        )
    except (OSError, ValueError) as error:
        _log.info("results not rewritten after this trial (%s); the next write catches up", error)
        return
    if checkpoint_files.test_kill_wanted(KILL_AFTER_WRITE, finished - 1):
        checkpoint_files.kill_for_test()


def interrupted_message(run_dir, total_trials: int) -> str:
    """What an interrupted search says after "interrupted": what it kept, and how to resume.

    Example:

    ```python
    interrupted_message("s", 6)  # "3 of 6 trials finished, kept in 's/trials.csv'; run the same ..."
    ```
    """
    run_dir = Path(run_dir)
    finished = finished_trials(run_dir)
    kept = f", kept in {str(run_dir / TRIALS_FILE)!r}" if finished else ""
    return (
        f"{finished} of {total_trials} trials finished{kept}; "
        f"run the same command again to resume the search in {str(run_dir)!r}"
    )
