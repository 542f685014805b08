"""Reading a search folder's trials into pandas tables: `load_trials` and `load_histories`."""

import json
import math
from pathlib import Path

import pandas as pd

from kerasforge.errors import TuningError
from kerasforge.tuning.recipe_hyper_model import shown_score
from kerasforge.tuning.recipe_tuner import TRIAL_RECORD
from kerasforge.tuning.search_folder import PROJECT_NAME, STATE_FILE

# Columns before the hyperparameters, and after them.
_LEADING = ["trial_id", "status"]
_TRAILING = [
    "best_epoch",
    "epochs_run",
    "seconds",
    "rss_mb",
    "tuner_id",
    "prune_kind",
    "pruned_epoch",
    "reason",
]
PRUNED = "PRUNED"
"""The status of a trial its pruner stopped (KerasTuner's oracle has it as COMPLETED, with its
best value so far as its score, so the search goes on and it is no failure)."""


def _records(run_dir: Path) -> list[tuple[dict, dict]]:
    if not (run_dir / STATE_FILE).exists():
        raise TuningError(f"{str(run_dir)!r} is not a kerasforge search folder (no {STATE_FILE})")
    records = []
    for trial_file in sorted((run_dir / PROJECT_NAME).glob("trial_*/trial.json")):
        trial = json.loads(trial_file.read_text(encoding="utf-8"))
        extra_file = trial_file.parent / TRIAL_RECORD
        extra = json.loads(extra_file.read_text(encoding="utf-8")) if extra_file.exists() else {}
        if extra.get("history"):
            # Strict JSON holds a diverged trial's NaN losses as null.
            extra["history"] = {
                key: [math.nan if value is None else value for value in values]
                for key, values in extra["history"].items()
            }
        records.append((trial, extra))
    records.sort(key=lambda pair: int(pair[0]["trial_id"]))
    return records


def search_objective(run_dir) -> tuple[str, str]:
    """Returns the `(objective name, direction)` recorded in a search folder."""
    state = json.loads((Path(run_dir) / STATE_FILE).read_text(encoding="utf-8"))
    return state["objective"], state.get("direction", "min")


def trial_values(run_dir, trial_id: str) -> dict:
    """Returns the hyperparameter values of one trial, with their types."""
    path = Path(run_dir) / PROJECT_NAME / f"trial_{trial_id}" / "trial.json"
    return json.loads(path.read_text(encoding="utf-8"))["hyperparameters"]["values"]


def _best_epoch(history: dict | None, objective: str, direction: str, offset: int):
    values = [value for value in (history or {}).get(objective) or [] if math.isfinite(value)]
    if not values:
        return None
    best = min(values) if direction == "min" else max(values)
    return offset + history[objective].index(best) + 1


def load_trials(run_dir) -> pd.DataFrame:
    """Returns one row per trial of a search folder, in trial order.

    Columns: `trial_id`, `status` (COMPLETED, PRUNED, FAILED, RUNNING...), one column
    per hyperparameter (empty where inactive, e.g. `units_3` of a 2-layer
    trial), the objective (named after it, e.g. `val_loss`), `best_epoch`,
    `epochs_run`, `seconds`, `rss_mb` (resident memory of the process after
    the trial), `tuner_id` (the worker that ran it), `prune_kind` and
    `pruned_epoch` (what stopped a pruned trial, and when) and `reason` (why a
    trial failed or was pruned: the kind and its evidence). The objective of a
    pruned trial is its best value before it stopped (a diverged one's: a constant prediction's
    loss, or empty for another objective). It reads KerasTuner's own `trial.json` files, so it
    shows the oracle's state, also while a search is running.

    Args:
        run_dir: A search folder written by `run_search`.

    Raises:
        TuningError: if `run_dir` is not a search folder.

    Example:

    ```python
    trials = load_trials("runs/digits_mlp-search")
    trials.sort_values("val_loss").head()
    ```
    """
    run_dir = Path(run_dir)
    objective, direction = search_objective(run_dir)
    rows, hp_names = [], []
    for trial, extra in _records(run_dir):
        values = trial["hyperparameters"]["values"]
        pruned = extra.get("pruned") if trial["status"] == "COMPLETED" else None
        row = {"trial_id": trial["trial_id"], "status": PRUNED if pruned else trial["status"]}
        for name, value in values.items():
            if name not in hp_names:
                hp_names.append(name)
            row[name] = value
        row[objective] = shown_score(trial.get("score"))
        history = extra.get("history")
        offset = extra.get("initial_epoch", 0) or 0
        row["best_epoch"] = _best_epoch(history, objective, direction, offset)
        row["epochs_run"] = len(next(iter(history.values()))) if history else None
        row["seconds"] = extra.get("seconds")
        row["rss_mb"] = extra.get("rss_mb")
        row["tuner_id"] = extra.get("tuner_id")
        row["prune_kind"] = pruned["kind"] if pruned else None
        row["pruned_epoch"] = pruned["epoch"] if pruned else None
        reason = extra.get("reason")
        if reason is None and trial["status"] in ("FAILED", "INVALID"):
            lines = (trial.get("message") or "").strip().splitlines()
            reason = lines[-1] if lines else None
        row["reason"] = reason
        rows.append(row)
    columns = _LEADING + hp_names + [objective] + _TRAILING
    return pd.DataFrame(rows, columns=columns)


def load_histories(run_dir) -> pd.DataFrame:
    """Returns every trial's per-epoch metrics in long format.

    Columns: `trial_id`, `epoch` (1-based, continuing across Hyperband
    rounds), `metric`, `value`.

    Args:
        run_dir: A search folder written by `run_search`.

    Raises:
        TuningError: if `run_dir` is not a search folder.
    """
    rows = []
    for trial, extra in _records(Path(run_dir)):
        offset = extra.get("initial_epoch", 0) or 0
        for metric, values in (extra.get("history") or {}).items():
            for epoch, value in enumerate(values, start=offset + 1):
                rows.append((trial["trial_id"], epoch, metric, value))
    return pd.DataFrame(rows, columns=["trial_id", "epoch", "metric", "value"])
