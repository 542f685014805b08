"""`compare`: trains every variant of a recipe side by side on the same split."""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kerasforge._keras_compat import print_msg
from kerasforge.recipes.engine.prepare_data import prepare_data
from kerasforge.recipes.engine.pretraining import pretrain_autoencoder
from kerasforge.recipes.engine.run import TrainingRun, train
from kerasforge.recipes.engine.run_folder import RunFolder
from kerasforge.recipes.engine.variant_recipes import AUTOENCODER, VARIANT_PREFIX, variant_recipes
from kerasforge.recipes.reports.html_report import write_report
from kerasforge.recipes.reports.plots import curve_names, plot_heatmap_grid, plot_overlaid, save_figure
from kerasforge.recipes.reports.run_record import RunRecord
from kerasforge.recipes.schema.loading import apply_overrides, recipe_to_yaml
from kerasforge.recipes.schema.recipe import Recipe
from kerasforge.vocabulary import log_keys

# A variant reaches the target when its loss is within this factor of the best variant's best.
TARGET_FACTOR = 1.5


@dataclass
class Comparison:
    """The outcome of `compare`.

    Attributes:
        table: One row per variant (the content of `comparison.csv`).
        runs: Variant name -> its `TrainingRun`.
        run_dir: The comparison folder.
        target_loss: The loss `epochs_to_target` counts epochs to.
    """

    table: pd.DataFrame
    runs: dict[str, TrainingRun] = field(default_factory=dict)
    run_dir: Path | None = None
    target_loss: float = math.nan


def _resolve_init_from(variant: Recipe, folder: Path, cache, verbose: int) -> Recipe:
    source = variant.model.init_from
    if source is None:
        return variant
    if source.startswith(VARIANT_PREFIX):
        path = folder / source[len(VARIANT_PREFIX) :] / "model.keras"
    elif source == AUTOENCODER:
        path = folder / "pretrain_autoencoder" / "model.keras"
        if not path.exists():
            pool = cache(apply_overrides(variant, {"data.max_train_rows": None, "model.init_from": None}))
            pretrain_autoencoder(variant, pool.x_train, path, x_val=pool.x_val, verbose=verbose)
    else:
        return variant
    return apply_overrides(variant, {"model.init_from": str(path)})


def _point_at_published_models(runs: dict[str, TrainingRun], staging: Path, final: Path) -> None:
    """Makes each variant that starts from a model of this comparison record that model's final path.

    Variants train in the staging folder, so `model.init_from` points into it;
    the recipe and report of each such variant are rewritten to the path the
    model has once the comparison is published, so its `recipe.yaml` still
    reproduces the run.
    """
    for name, run in runs.items():
        source = run.recipe.model.init_from
        if source is None or not Path(source).is_relative_to(staging):
            continue
        published = final / Path(source).relative_to(staging)
        run.recipe = apply_overrides(run.recipe, {"model.init_from": str(published)})
        (staging / name / "recipe.yaml").write_text(recipe_to_yaml(run.recipe), encoding="utf-8")
        write_report(staging / name)


def _epochs_to(values: np.ndarray, target: float) -> float:
    reached = np.flatnonzero(np.isfinite(values) & (values <= target))
    return float(reached[0] + 1) if len(reached) else math.nan


def _steady_epoch_seconds(run: TrainingRun) -> float:
    """Median time of an epoch's updates, leaving out epoch 1 (it traces the graph) when there are more."""
    seconds = run.history.get(log_keys.TRAIN_SECONDS) or [run.seconds]
    return float(np.median(seconds[1:] if len(seconds) > 1 else seconds))


def _row(name: str, overrides: dict, run: TrainingRun, record: RunRecord) -> dict:
    data = run.data
    evaluate = dict(batch_size=256, verbose=0, return_dict=True)
    train_loss = run.model.evaluate(data.x_train, data.y_train, **evaluate)["loss"]
    row = {
        "variant": name,
        "changes": "; ".join(f"{key}={value}" for key, value in overrides.items()),
        "batch_size": run.recipe.training.batch_size,
        "updates_per_epoch": record.metrics.get("updates_per_epoch"),
        "epochs_run": len(record.history),
        "seconds_per_epoch": _steady_epoch_seconds(run),
        "train_loss": train_loss,
    }
    if len(data.x_val):
        row["val_loss"] = run.model.evaluate(data.x_val, data.y_val, **evaluate)["loss"]
        row["gap"] = row["val_loss"] - train_loss
    row.update({f"test_{key}": value for key, value in run.test_metrics.items()})
    row["findings"] = " ".join(finding.kind for finding in record.findings()) or "healthy"
    return row


def _write_plots(histories: dict[str, pd.DataFrame], plots: Path) -> None:
    plots.mkdir(parents=True, exist_ok=True)
    keys = dict.fromkeys(key for frame in histories.values() for key in curve_names(frame))
    for key in [*keys, log_keys.LEARNING_RATE]:
        figure = plot_overlaid(histories, key)
        if figure is not None:
            save_figure(figure, plots / f"{key}.png")
    heatmaps = plot_heatmap_grid(histories)
    if heatmaps is not None:
        save_figure(heatmaps, plots / f"{log_keys.GRAD_NORM}_heatmaps.png")


def compare(
    recipe: Recipe,
    run_dir: str | Path | None = None,
    runs_root: str | Path = "runs",
    verbose: int = 1,
) -> Comparison:
    """Trains each variant of `recipe.variants` and writes a side-by-side comparison.

    Every variant starts from the recipe with its overrides applied, keeps
    the recipe's seed, and trains on the very same split (variants that
    change the `data:` section get their own preparation). A variant may set
    `model.init_from: "variant:NAME"` to start from an earlier variant's
    trained model (transfer learning), or `model.init_from:
    "pretrain:autoencoder"` to start from an autoencoder pretrained on the
    training rows' features without labels (all of them, ignoring
    `data.max_train_rows`).

    The folder holds one run folder per variant, `comparison.csv` (one row
    per variant: updates and seconds per epoch, final train/val loss and
    their gap measured on the returned model, test metrics, epochs to reach
    the target loss, diagnosis), `loss_by_epoch.csv`, overlaid curves and
    gradient heatmaps in `plots/`, and `report.html`. Like a run folder, it
    is written under a hidden `.NAME.partial` name and appears only when
    complete: an interrupted or failed comparison leaves nothing behind.

    Args:
        recipe: A validated recipe with a `variants:` section.
        run_dir: The comparison folder; must not exist or be empty. Defaults
            to `RUNS_ROOT/NAME-TIMESTAMP`.
        runs_root: Parent of the default folder. Defaults to `runs`.
        verbose: Integer. 0 silent, 1 progress bars, 2 one line per epoch.

    Returns:
        A `Comparison`.

    Raises:
        RecipeError: if the recipe has no variants or a variant is invalid.
        RunDirError: if `run_dir` exists and is not empty, or cannot be made.

    Example:

    ```python
    result = compare(load_recipe("gd_variants", ["training.epochs=3"]), run_dir="runs/gd")
    print(result.table)
    ```
    """
    variants = variant_recipes(recipe)
    prepared = {}

    def cache(variant: Recipe):
        key = json.dumps([variant.seed, variant.model.task, variant.data.model_dump(mode="json")])
        if key not in prepared:
            prepared[key] = prepare_data(variant)
        return prepared[key]

    runs, histories, rows = {}, {}, []
    # Written in a staging folder and published whole, like a run folder: an
    # interrupted or failed comparison leaves nothing behind.
    with RunFolder(f"{recipe.name}-compare", run_dir, runs_root) as reserved:
        staging = reserved.staging
        for name, variant in variants.items():
            if verbose:
                print_msg(f"\n=== variant {name}: {recipe.variants[name] or 'the recipe as is'}")
            variant = _resolve_init_from(variant, staging, cache, verbose)
            run = train(variant, run_dir=staging / name, verbose=verbose, data=cache(variant))
            record = RunRecord.read(run.run_dir)
            runs[name], histories[name] = run, record.history
            rows.append(_row(name, recipe.variants[name], run, record))
        table = pd.DataFrame(rows)
        table = table[[column for column in table if column != "findings"] + ["findings"]]
        watched = "val_loss" if all("val_loss" in frame for frame in histories.values()) else "loss"
        finite = np.concatenate([frame[watched].to_numpy(dtype=float) for frame in histories.values()])
        finite = finite[np.isfinite(finite)]
        best = float(finite.min()) if len(finite) else math.nan
        target = best * TARGET_FACTOR if best > 0 else best
        table.insert(
            table.columns.get_loc("findings"),
            f"epochs_to_{watched}_target",
            [_epochs_to(frame[watched].to_numpy(dtype=float), target) for frame in histories.values()],
        )
        table.to_csv(staging / "comparison.csv", index=False)
        by_epoch = pd.DataFrame({name: frame["loss"] for name, frame in histories.items()})
        by_epoch.insert(0, "epoch", range(1, len(by_epoch) + 1))
        by_epoch.to_csv(staging / "loss_by_epoch.csv", index=False)
        _write_plots(histories, staging / "plots")
        report_name = write_report(staging).name
        _point_at_published_models(runs, staging, reserved.path)
        folder = reserved.commit()
    for name, run in runs.items():
        run.run_dir = folder / name
    if verbose:
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            print_msg(f"\n{table.to_string(index=False, float_format='{:.4g}'.format)}")
        print_msg(f"target {watched} {target:.4g} (best {best:.4g} x {TARGET_FACTOR})")
        print_msg(f"comparison folder: {folder}\nreport: {folder / report_name}")
    return Comparison(table=table, runs=runs, run_dir=folder, target_loss=target)
