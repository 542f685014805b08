"""Stopping a search's bad trials early: the `--prune` modes, the median rule, and each trial's rules.

`diagnosis` asks the online diagnosis rules (`recipes.diagnosis.online_rules`)
why a trial is failing and stops it when it cannot recover; `median` is the
standard median stopping rule, kept for comparison; `none` lets every trial run
to its end (or to early stopping). A stopped trial is `PRUNED` in `trials.csv`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kerasforge.callbacks.trial_pruner import TrialPruner
from kerasforge.recipes.diagnosis.online_rules import CHECK_EVERY, batch_rules, online_rules
from kerasforge.tuning.search_arguments import PRUNE_MODES

MEDIAN = "median"
"""The kind a trial stopped by the median rule is recorded with."""

MEDIAN_WARMUP_TRIALS = 5
"""Completed trials before the median rule judges anyone: the median of fewer is one lucky or
unlucky trial (Optuna's `MedianPruner` waits for 5 too)."""

TOP_SHARE = 1 / 3
"""A `diagnosis` pruner stops a trial as too slow only when it cannot reach this top share of the
finished trials (the 2nd best of 4 to 6, the 3rd of 7 to 9, ...): a trial that would rank there,
even if not first, is worth finishing. A third, where a false positive is a stopped trial that
would have finished in the top quarter: the ranks between are a margin for the pace's error and
for a target taken from the trials finished so far. Replaying 9 unpruned wide searches
(`benchmarks/pruning_replay.py`), a quarter stopped 186 trials, 7 of them in the top 25 %, and a
third 174, 6 of them, 3 lost either way, for 2 % more epochs to the best: a cheap margin."""

TOO_SLOW_WARMUP = 2
"""Finished trials (pruned ones included) before a trial is judged too slow. Of 2 or 3, the top
third is the best one, and the better of two random trials lands, on average, in the top third
of a search: the target `too_slow` aims at. Waiting for 4, the first 4 trials of the pruned
searches of `benchmarks/pruned_search.py` ran past their 4th epoch with nothing to judge them
against: 13-23 % of the epochs before the best. Replaying 15 unpruned wide searches
(`benchmarks/pruning_replay.py --fixed 0`), 2 instead of 4 reached the best in 0.63 of the
epochs instead of 0.69, with the same 7 false positives, and 6 held-out searches in 0.54
instead of 0.57, with none; 1 (the first trial alone) was no better than 2."""

MEDIAN_WARMUP_EPOCHS = 3
"""Epochs a trial trains before the median rule judges it: first epochs rank trials poorly
(a high rate starts fast and ends badly, a low one the reverse)."""


def running_best(values, direction: str) -> np.ndarray:
    """The best value so far at each epoch (NaN epochs skipped)."""
    array = np.asarray(values, dtype=float)
    signed = np.where(np.isfinite(array), array if direction == "min" else -array, np.inf)
    best = np.minimum.accumulate(signed)
    best = best if direction == "min" else -best
    return np.where(np.isfinite(best), best, np.nan)


def median_rule(objective: str, direction: str, completed: list[list[float]]):
    """The median stopping rule: stop a trial whose best so far is worse than the median of the
    completed trials' best values by the same epoch.

    After `MEDIAN_WARMUP_TRIALS` completed trials and from epoch
    `MEDIAN_WARMUP_EPOCHS` on. A completed trial that ended sooner (early
    stopping) keeps its final best for later epochs.
    """
    curves = [running_best(values, direction) for values in completed if len(values)]

    def rule(history, epoch, epochs):
        values = history.get(objective) or []
        if len(curves) < MEDIAN_WARMUP_TRIALS or len(values) < MEDIAN_WARMUP_EPOCHS:
            return None
        own = running_best(values, direction)[-1]
        index = len(values) - 1
        others = [curve[min(index, len(curve) - 1)] for curve in curves]
        others = [value for value in others if math.isfinite(value)]
        if not others:
            return None
        median = float(np.median(others))
        worse = not math.isfinite(own) or (own > median if direction == "min" else own < median)
        if not worse:
            return None
        return MEDIAN, (
            f"best {objective} {own:.4g} by epoch {epoch} is worse than {median:.4g}, the median of "
            f"{len(others)} completed trials by the same epoch"
        )

    return rule


def _finished_curves(project_dir: Path, record_name: str, objective: str) -> tuple[list, list]:
    """The objective per epoch of every trial that ran to its end (not failed, not pruned), and of
    every pruned trial."""
    curves, pruned = [], []
    for path in sorted(Path(project_dir).glob(f"trial_*/{record_name}")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # another worker is writing it
        history = record.get("history") or {}
        if not history.get(objective):
            continue
        values = [math.nan if value is None else float(value) for value in history[objective]]
        if record.get("pruned"):
            pruned.append(values)
        elif record.get("reason") is None:
            curves.append(values)
    return curves, pruned


@dataclass
class TrialPruning:
    """What one trial's pruner needs: the mode and the search's completed trials so far.

    Attributes:
        mode: One of `PRUNE_MODES`.
        objective: The search's objective, e.g. `val_loss`.
        direction: `min` or `max`.
        completed: The objective per epoch of each completed (not pruned) trial.
        pruned: The objective per epoch of each pruned trial, up to where it stopped.
    """

    mode: str
    objective: str
    direction: str
    completed: list = field(default_factory=list)
    pruned: list = field(default_factory=list)

    def __post_init__(self):
        if self.mode not in PRUNE_MODES:
            raise ValueError(f"Argument `mode` must be one of {PRUNE_MODES}. Received: mode={self.mode!r}")

    @classmethod
    def from_folder(
        cls, mode: str, project_dir, record_name: str, objective: str, direction: str
    ) -> TrialPruning:
        """Reads the completed trials of a search's KerasTuner project folder."""
        return cls(mode, objective, direction, *_finished_curves(Path(project_dir), record_name, objective))

    @property
    def best(self) -> float | None:
        """The best completed trial's objective, or None."""
        finals = [running_best(curve, self.direction)[-1] for curve in self.completed]
        finals = [value for value in finals if math.isfinite(value)]
        if not finals:
            return None
        return min(finals) if self.direction == "min" else max(finals)

    @property
    def target(self) -> float | None:
        """The objective a trial must reach to rank in the `TOP_SHARE` of the finished trials, or None.

        Pruned trials count with their best before they stopped (pruned trials are the bad
        ones: leaving them out would rank a trial against the good ones only). None before
        `TOO_SLOW_WARMUP` trials finished.
        """
        finals = [running_best(curve, self.direction)[-1] for curve in self.completed + self.pruned]
        finals = sorted(value for value in finals if math.isfinite(value))
        if len(finals) < TOO_SLOW_WARMUP:
            return None
        finals = finals if self.direction == "min" else finals[::-1]
        return finals[math.ceil(TOP_SHARE * len(finals)) - 1]

    @property
    def reference(self) -> list[float] | None:
        """Epoch by epoch, the objective a trial must have reached to rank in the `TOP_SHARE` of the
        finished trials at the same epoch, or None (as `target`).

        Each finished trial counts with its best by that epoch; one that stopped sooner (early
        stopping, pruning) keeps its last best, as a trial's final score does.
        """
        curves = [running_best(curve, self.direction) for curve in self.completed + self.pruned]
        curves = [curve for curve in curves if len(curve) and math.isfinite(curve[-1])]
        if len(curves) < TOO_SLOW_WARMUP:
            return None
        length = max(len(curve) for curve in curves)
        table = np.array([np.pad(curve, (0, length - len(curve)), mode="edge") for curve in curves])
        signed = np.where(np.isfinite(table), table if self.direction == "min" else -table, np.inf)
        rank = math.ceil(TOP_SHARE * len(curves)) - 1
        value = np.sort(signed, axis=0)[rank]
        return [float(v if self.direction == "min" else -v) for v in value]

    def pruner(self, recipe, data_info: dict) -> TrialPruner | None:
        """The `TrialPruner` of one trial, or None with `mode="none"`."""
        if self.mode == "diagnosis":
            rules = online_rules(
                recipe, data_info, self.objective, self.direction, self.target, self.reference
            )
            return TrialPruner(
                rules=rules, check_every=CHECK_EVERY, batch_rules=batch_rules(data_info, self.objective)
            )
        if self.mode == MEDIAN:
            return TrialPruner(rules=[median_rule(self.objective, self.direction, self.completed)])
        return None
