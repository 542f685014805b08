"""`SearchResult`: the outcome of a search, and the files it leaves in the search folder."""

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from kerasforge.recipes import Recipe
from kerasforge.recipes.reports.plots import save_figure
from kerasforge.tuning.search_files import write_result_files
from kerasforge.tuning.search_space import SearchSpace


def _plot(
    trials: pd.DataFrame, objective: str, direction: str, hp_names: list[str], folder: Path
) -> list[Path]:
    folder.mkdir(exist_ok=True)
    done = trials[trials["status"] == "COMPLETED"]
    paths = []
    figure = Figure(figsize=(6, 3.5))
    axis = figure.subplots()
    axis.plot(range(len(done)), done[objective], "o-", label=objective)
    best = done[objective].cummin() if direction == "min" else done[objective].cummax()
    axis.plot(range(len(done)), best, "--", label="best so far")
    axis.set(xlabel="completed trial", ylabel=objective, title=f"{objective} by trial")
    axis.legend()
    figure.tight_layout()
    paths.append(save_figure(figure, folder / "objective_by_trial.png"))
    for name in hp_names:
        column = done[[name, objective]].dropna()
        if column.empty:
            continue
        figure = Figure(figsize=(4.5, 3.5))
        axis = figure.subplots()
        axis.scatter(
            column[name].astype(str) if column[name].dtype == object else column[name], column[objective]
        )
        if name in ("learning_rate", "l2"):
            axis.set_xscale("log")
        axis.set(xlabel=name, ylabel=objective, title=f"{objective} against {name}")
        figure.tight_layout()
        paths.append(save_figure(figure, folder / f"{name.replace('/', '_')}.png"))
    return paths


@dataclass
class SearchResult:
    """What a search found, read back from its folder.

    `SearchResult.from_folder` writes `trials.csv`, `histories.csv`,
    `best_recipe.yaml` (see `write_result_files`, which also runs after
    every trial) and `plots/*.png` and returns the result, so the same files
    come out of a fresh search, a resumed one and a distributed one.

    Attributes:
        run_dir: The search folder.
        objective: The objective name; `direction` is `min` or `max`.
        trials: `load_trials(run_dir)`.
        best_trial_id: The best completed trial, or None.
        best_score: Its objective value, or None.
        best_recipe: The base recipe with the best trial's values, or None.
        seconds: Wall time of this call of `run_search` (0 when loaded).
        plots: Paths of the PNG plots written.

    Example:

    ```python
    result = run_search(recipe, max_trials=10, verbose=0)
    print(result.table(5))
    ```
    """

    run_dir: Path
    objective: str
    direction: str
    trials: pd.DataFrame
    best_trial_id: str | None = None
    best_score: float | None = None
    best_recipe: Recipe | None = None
    seconds: float = 0.0
    plots: list = field(default_factory=list)

    @classmethod
    def from_folder(cls, run_dir, space: SearchSpace, seconds: float = 0.0) -> "SearchResult":
        """Reads a search folder, writes its result files and returns the result."""
        run_dir = Path(run_dir)
        files = write_result_files(run_dir, space)
        objective, trials = files.objective, files.trials
        result = cls(run_dir, objective, files.direction, trials, seconds=seconds)
        result.best_trial_id, result.best_score = files.best_trial_id, files.best_score
        result.best_recipe = files.best_recipe
        hp_names = [
            name
            for name in trials.columns[2 : trials.columns.get_loc(objective)]
            if not name.startswith("tuner/")
        ]
        result.plots = _plot(trials, objective, files.direction, hp_names, run_dir / "plots")
        return result

    def top(self, k: int = 5) -> pd.DataFrame:
        """The `k` best completed trials, best first."""
        done = self.trials[self.trials["status"] == "COMPLETED"]
        return done.sort_values(self.objective, ascending=self.direction == "min").head(k)

    def pruned_table(self) -> str:
        """The pruned trials as text: id, epoch, kind and evidence ("" when none was pruned)."""
        pruned = self.trials[self.trials["status"] == "PRUNED"]
        if pruned.empty:
            return ""
        lines = [
            f"  trial {row.trial_id} at epoch {int(row.pruned_epoch)}: {row.reason}"
            for row in pruned.itertuples()
        ]
        kinds = pruned["prune_kind"].value_counts().to_dict()
        counted = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        return f"{len(pruned)} pruned ({counted}):\n" + "\n".join(lines)

    def table(self, k: int = 5) -> str:
        """The top-`k` table as text, without KerasTuner's internal `tuner/` columns."""
        top = self.top(k)
        columns = [
            name
            for name in top.columns
            if not name.startswith("tuner/")
            and name not in ("status", "tuner_id", "reason", "prune_kind", "pruned_epoch")
            and top[name].notna().any()
        ]
        return top[columns].to_string(index=False, float_format=lambda value: f"{value:.4g}")
