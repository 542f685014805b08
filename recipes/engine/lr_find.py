"""`find_learning_rate`: the learning-rate range test of a recipe (`kerasforge lr-find`)."""

import contextlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from kerasforge._keras_compat import print_msg
from kerasforge.callbacks import LearningRateFinder
from kerasforge.data import updates_per_epoch
from kerasforge.recipes.engine.build_model import build_model
from kerasforge.recipes.engine.fit import fit_model
from kerasforge.recipes.engine.json_file import write_json
from kerasforge.recipes.engine.prepare_data import prepare_data
from kerasforge.recipes.engine.reproducibility import set_global_seed
from kerasforge.recipes.engine.run_arguments import check_sweep_steps
from kerasforge.recipes.engine.run_folder import RunFolder
from kerasforge.recipes.reports.plots import save_figure
from kerasforge.recipes.schema.loading import apply_overrides, recipe_to_yaml
from kerasforge.recipes.schema.recipe import Recipe


@dataclass
class LearningRateRange:
    """The outcome of `find_learning_rate`.

    Attributes:
        learning_rates: The rate of each sweep step.
        losses: The training loss of each step.
        smoothed_losses: The exponentially smoothed loss.
        suggested_learning_rate: Where the smoothed loss fell fastest.
        min_loss_learning_rate: Where the smoothed loss was lowest.
        run_dir: The folder written, or None.
    """

    learning_rates: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    smoothed_losses: list = field(default_factory=list)
    suggested_learning_rate: float | None = None
    min_loss_learning_rate: float | None = None
    run_dir: Path | None = None


def _plot(result: LearningRateRange, title: str):
    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    axes.plot(result.learning_rates, result.losses, alpha=0.3, label="loss per step")
    axes.plot(result.learning_rates, result.smoothed_losses, label="smoothed loss")
    finite = [value for value in result.smoothed_losses if math.isfinite(value)]
    if finite:
        top = max(finite[0], min(finite)) * 1.5
        axes.set_ylim(min(finite) - 0.05 * abs(top - min(finite)), top)
    if result.suggested_learning_rate:
        axes.axvline(
            result.suggested_learning_rate,
            color="C3",
            linestyle="--",
            label=f"suggested {result.suggested_learning_rate:.2g}",
        )
    axes.set_xscale("log")
    axes.set_xlabel("learning rate")
    axes.set_ylabel("training loss")
    axes.set_title(f"{title} learning-rate range test")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    return figure


def find_learning_rate(
    recipe: Recipe,
    run_dir: str | Path | None = None,
    runs_root: str | Path = "runs",
    steps: int = 200,
    verbose: int = 1,
    min_learning_rate: float = 1e-6,
    max_learning_rate: float = 10.0,
    write: bool = True,
) -> LearningRateRange:
    """Runs a learning-rate range test on the recipe's model and data.

    The recipe's model is trained for `steps` updates while its learning
    rate grows exponentially from `min_learning_rate` to `max_learning_rate`
    (see `kerasforge.callbacks.LearningRateFinder`); the loss of each step is
    recorded, the sweep stops early once the loss blows up, and the model is
    restored afterwards. The recipe's optimizer, batch size and data are
    used; its schedule, if any, is replaced by the sweep. The folder holds
    `lr_find.csv`, `lr_find.png` (loss against rate), `lr_find.json` (the
    suggestion) and `recipe.yaml`.

    Args:
        recipe: A validated recipe.
        run_dir: Folder to create. Defaults to `RUNS_ROOT/NAME-lr-find-TIMESTAMP`.
        runs_root: Parent of the default folder. Defaults to `runs`.
        steps: Integer >= 2. Updates in the sweep. Defaults to `200`.
        verbose: Integer. 0 silent, 1 prints the suggestion.
        min_learning_rate: Float. First rate. Defaults to `1e-6`.
        max_learning_rate: Float. Last rate. Defaults to `10.0`.
        write: Boolean. False writes no folder.

    Returns:
        A `LearningRateRange`.

    Raises:
        ArgumentError: if `steps` is not a whole number >= 2.
        RunDirError: if `run_dir` exists and is not empty, or cannot be
            made; checked before the data is read.

    Example:

    ```python
    result = find_learning_rate(load_recipe("digits_mlp"), steps=100, write=False)
    result.suggested_learning_rate
    ```
    """
    steps = check_sweep_steps(steps)
    finder = LearningRateFinder(min_learning_rate, max_learning_rate, steps=steps)
    folder = RunFolder(f"{recipe.name}-lr-find", run_dir, runs_root) if write else None
    # The folder is reserved before the data is read, so a folder that cannot be made fails at once.
    with folder or contextlib.nullcontext():
        sweep = apply_overrides(
            recipe, {"training.learning_rate": min_learning_rate, "training.steps_per_execution": 1}
        )
        set_global_seed(sweep.seed)
        data = prepare_data(sweep)
        model = build_model(sweep, data)
        training = sweep.training
        updates = updates_per_epoch(data.rows["train"], training.batch_size, training.drop_remainder)
        fit_model(sweep, model, data, [finder], verbose=0, epochs=math.ceil(steps / updates))
        result = LearningRateRange(
            learning_rates=finder.learning_rates,
            losses=finder.losses,
            smoothed_losses=finder.smoothed_losses,
            suggested_learning_rate=finder.suggested_learning_rate,
            min_loss_learning_rate=finder.min_loss_learning_rate,
        )
        if folder is not None:
            staging = folder.staging
            pd.DataFrame(
                {
                    "learning_rate": result.learning_rates,
                    "loss": result.losses,
                    "smoothed_loss": result.smoothed_losses,
                }
            ).to_csv(staging / "lr_find.csv", index=False)
            save_figure(_plot(result, recipe.name), staging / "lr_find.png")
            summary = {
                "suggested_learning_rate": result.suggested_learning_rate,
                "min_loss_learning_rate": result.min_loss_learning_rate,
                "steps_run": len(result.losses),
                "optimizer": recipe.training.optimizer,
                "batch_size": recipe.training.batch_size,
            }
            write_json(staging / "lr_find.json", summary)
            (staging / "recipe.yaml").write_text(recipe_to_yaml(recipe), encoding="utf-8")
            result.run_dir = folder.commit()
    if verbose and result.suggested_learning_rate is None:
        print_msg(f"only {len(result.losses)} steps ran: too few to suggest a rate; raise --steps")
    elif verbose:
        print_msg(
            f"swept {len(result.losses)} steps of {recipe.training.optimizer} from "
            f"{min_learning_rate:g} to {result.learning_rates[-1]:.3g}; lowest smoothed loss at "
            f"{result.min_loss_learning_rate:.3g}\nsuggested: --set training.learning_rate="
            f"{result.suggested_learning_rate:.2g}"
        )
        if result.run_dir is not None:
            print_msg(f"plot: {result.run_dir / 'lr_find.png'}")
    return result
