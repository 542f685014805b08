"""`compare`: trains every variant of a recipe side by side on the same split, over one or more seeds."""

import json
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kerasforge._keras_compat import print_msg
from kerasforge.errors import DataError, RecipeError
from kerasforge.recipes.engine.prepare_data import prepare_data
from kerasforge.recipes.engine.pretraining import pretrain_autoencoder
from kerasforge.recipes.engine.reproducibility import limit_threads
from kerasforge.recipes.engine.run import TrainingRun, train
from kerasforge.recipes.engine.run_folder import RunFolder
from kerasforge.recipes.engine.variant_recipes import AUTOENCODER, VARIANT_PREFIX, variant_recipes
from kerasforge.recipes.reports.html_report import write_report
from kerasforge.recipes.reports.plots import curve_names, plot_heatmap_grid, plot_overlaid, save_figure
from kerasforge.recipes.reports.run_record import RunRecord
from kerasforge.recipes.reports.seed_statistics import check_claims, mean_history, mean_std_table, summarize
from kerasforge.recipes.schema.claims import TARGET_FACTOR, epochs_to_target_column
from kerasforge.recipes.schema.loading import apply_overrides
from kerasforge.recipes.schema.recipe import Recipe
from kerasforge.vocabulary import log_keys

# Files of a comparison over several seeds (besides comparison.csv, the summary).
SEEDS_TABLE = "seeds.csv"
CLAIMS_TABLE = "claims.csv"
SEED_FOLDER = "seed_{seed}"


@dataclass
class Comparison:
    """The outcome of `compare`.

    Attributes:
        table: The content of `comparison.csv`: one row per variant for one
            seed; over several seeds, one row per variant and metric with the
            mean, std, 95% interval and the paired difference to the baseline.
        runs: Variant name -> its `TrainingRun` at the first seed (empty when
            the seeds ran in worker processes; read any run back with `record`).
        run_dir: The comparison folder.
        target_loss: The loss `epochs_to_target` counts epochs to (one seed only).
        per_seed: One row per seed and variant (`seeds.csv`; for one seed,
            `table` with a `seed` column).
        claims: One row per claim of the recipe: the paired gain, its interval
            and whether it held (`claims.csv`).
        seeds: The seeds that ran.
    """

    table: pd.DataFrame
    runs: dict[str, TrainingRun] = field(default_factory=dict)
    run_dir: Path | None = None
    target_loss: float = math.nan
    per_seed: pd.DataFrame = field(default_factory=pd.DataFrame)
    claims: pd.DataFrame = field(default_factory=pd.DataFrame)
    seeds: list[int] = field(default_factory=list)

    def record(self, variant: str, seed: int | None = None) -> RunRecord:
        """Reads back the run folder of `variant` at `seed` (default: the first seed)."""
        seed = self.seeds[0] if seed is None else seed
        folder = self.run_dir if len(self.seeds) == 1 else self.run_dir / SEED_FOLDER.format(seed=seed)
        return RunRecord.read(folder / variant)


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
            if pool.stream is not None:
                raise DataError(
                    f"`model.init_from: {AUTOENCODER}` pretrains on the training rows in memory, and "
                    f"{variant.data.source!r} is streamed."
                    " Set data.stream: false for a file that fits in memory."
                )
            pretrain_autoencoder(variant, pool.x_train, path, x_val=pool.x_val, verbose=verbose)
    else:
        return variant
    return apply_overrides(variant, {"model.init_from": str(path)})


def _point_at_published_models(runs: dict[str, TrainingRun], staging: Path, final: Path) -> None:
    """Makes each variant that starts from a model of this comparison record that model's final path.

    Variants train in the staging folder, so `model.init_from` points into it;
    every variant's `recipe.yaml` (of every seed) and report are rewritten to the
    path the model has once the comparison is published, so the recipe still
    reproduces the run.
    """
    for recipe_file in staging.rglob("recipe.yaml"):
        text = recipe_file.read_text(encoding="utf-8")
        if str(staging) in text:
            recipe_file.write_text(text.replace(str(staging), str(final)), encoding="utf-8")
            write_report(recipe_file.parent)
    for run in runs.values():
        source = run.recipe.model.init_from
        if source is not None and str(staging) in source:
            run.recipe = apply_overrides(
                run.recipe, {"model.init_from": source.replace(str(staging), str(final))}
            )


def _epochs_to(values: np.ndarray, target: float) -> float:
    reached = np.flatnonzero(np.isfinite(values) & (values <= target))
    return float(reached[0] + 1) if len(reached) else math.nan


def _steady_epoch_seconds(run: TrainingRun) -> float:
    """Median time of an epoch's updates, leaving out epoch 1 (it traces the graph) when there are more."""
    seconds = run.history.get(log_keys.TRAIN_SECONDS) or [run.seconds]
    return float(np.median(seconds[1:] if len(seconds) > 1 else seconds))


def _row(name: str, overrides: dict, run: TrainingRun, record: RunRecord) -> dict:
    """One variant's row of `comparison.csv` (every column but the epochs to the target)."""
    data = run.data
    evaluate = dict(verbose=0, return_dict=True)
    train_loss = run.model.evaluate(data.dataset("train", 256), **evaluate)["loss"]
    row = {
        "variant": name,
        "changes": "; ".join(f"{key}={value}" for key, value in overrides.items()),
        "batch_size": run.recipe.training.batch_size,
        "updates_per_epoch": record.metrics.get("updates_per_epoch"),
        "epochs_run": len(record.history),
        "seconds_per_epoch": _steady_epoch_seconds(run),
        "train_loss": train_loss,
    }
    if data.rows["val"]:
        row["val_loss"] = run.model.evaluate(data.dataset("val", 256), **evaluate)["loss"]
        row["gap"] = row["val_loss"] - train_loss
    row.update({f"test_{key}": value for key, value in run.test_metrics.items()})
    row["findings"] = " ".join(finding.kind for finding in record.findings()) or "healthy"
    return row


def _write_plots(histories: dict[str, list[pd.DataFrame]], plots: Path) -> None:
    """Overlaid curves (mean and band over seeds) and the gradient heatmaps (mean over seeds)."""
    plots.mkdir(parents=True, exist_ok=True)
    keys = dict.fromkeys(key for frames in histories.values() for key in curve_names(frames[0]))
    for key in [*keys, log_keys.LEARNING_RATE]:
        figure = plot_overlaid(histories, key)
        if figure is not None:
            save_figure(figure, plots / f"{key}.png")
    heatmaps = plot_heatmap_grid({name: mean_history(frames) for name, frames in histories.items()})
    if heatmaps is not None:
        save_figure(heatmaps, plots / f"{log_keys.GRAD_NORM}_heatmaps.png")


def _compare_seed(recipe: Recipe, folder: Path, verbose: int, keep_runs: bool):
    """Trains every variant at `recipe.seed` into `folder` and writes its `comparison.csv`.

    Returns:
        (table, histories, runs, target): the seed's table, variant -> history,
        variant -> `TrainingRun` (empty unless `keep_runs`) and the target loss.
    """
    variants = variant_recipes(recipe)
    prepared = {}

    def cache(variant: Recipe):
        key = json.dumps([variant.seed, variant.model.task, variant.data.model_dump(mode="json")])
        if key not in prepared:
            prepared[key] = prepare_data(variant)
        return prepared[key]

    runs, histories, rows = {}, {}, []
    for name, variant in variants.items():
        if verbose:
            print_msg(f"\n=== variant {name}: {recipe.variants[name] or 'the recipe as is'}")
        variant = _resolve_init_from(variant, folder, cache, verbose)
        run = train(variant, run_dir=folder / name, verbose=verbose, data=cache(variant))
        record = RunRecord.read(run.run_dir)
        histories[name] = record.history
        if keep_runs:
            runs[name] = run
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
        epochs_to_target_column(watched),
        [_epochs_to(frame[watched].to_numpy(dtype=float), target) for frame in histories.values()],
    )
    table.to_csv(folder / "comparison.csv", index=False)
    by_epoch = pd.DataFrame({name: frame["loss"] for name, frame in histories.items()})
    by_epoch.insert(0, "epoch", range(1, len(by_epoch) + 1))
    by_epoch.to_csv(folder / "loss_by_epoch.csv", index=False)
    if verbose:
        print_msg(f"target {watched} {target:.4g} (best {best:.4g} x {TARGET_FACTOR})")
    return table, histories, runs, target


def _seed_in_worker(recipe_json: dict, folder: str) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """`_compare_seed` in a worker process: silent, and returns only what pickles."""
    table, histories, _, _ = _compare_seed(Recipe.model_validate(recipe_json), Path(folder), 0, False)
    return table, histories


def _check_counts(seeds, workers) -> None:
    for name, value in (("seeds", seeds), ("workers", workers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RecipeError(f"Argument `{name}` must be an integer >= 1. Received: {name}={value!r}")


def _run_seeds(recipe: Recipe, seeds: list[int], folder: Path, verbose: int, workers: int):
    """Runs `_compare_seed` for every seed, in `workers` processes when more than one.

    Returns:
        (results, runs): seed -> (table, histories), and variant -> `TrainingRun`
        of the first seed when it ran in this process (else empty).
    """
    jobs = {seed: apply_overrides(recipe, {"seed": seed}) for seed in seeds}
    folders = {seed: folder / SEED_FOLDER.format(seed=seed) for seed in seeds}
    for path in folders.values():
        path.mkdir()
    results, first_runs = {}, {}
    started = time.perf_counter()
    if workers == 1:
        for seed, seeded in jobs.items():
            if verbose:
                print_msg(f"\n##### seed {seed} ({len(results) + 1} of {len(seeds)})")
            table, histories, runs, _ = _compare_seed(seeded, folders[seed], verbose, not results)
            results[seed] = (table, histories)
            first_runs = first_runs or runs
        return results, first_runs
    # Spawned, not forked: TensorFlow's runtime does not survive a fork. Each worker gets an
    # equal share of the cores, so the workers do not fight over them.
    context = multiprocessing.get_context("spawn")
    threads = max(1, (multiprocessing.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=limit_threads, initargs=(threads,)
    ) as pool:
        futures = {
            seed: pool.submit(
                _seed_in_worker, seeded.model_dump(mode="json", exclude_unset=True), str(folders[seed])
            )
            for seed, seeded in jobs.items()
        }
        for seed, future in futures.items():
            results[seed] = future.result()
            if verbose:
                print_msg(
                    f"seed {seed} done ({len(results)} of {len(seeds)}, "
                    f"{time.perf_counter() - started:.0f} s)"
                )
    return results, first_runs


def _print_claims(claims: pd.DataFrame, seeds: int) -> None:
    if claims.empty:
        return
    print_msg("\nclaims (paired 95% interval of the gain, better is positive):")
    if seeds == 1:
        print_msg("  one seed cannot tell a claim from chance: run with --seeds 5")
    for row in claims.itertuples():
        # A held claim's verdict restates it; otherwise say the claim, then what was found.
        print_msg(f"  HELD      {row.verdict}" if row.held else f"  NOT HELD  {row.claim}: {row.verdict}")


def compare(
    recipe: Recipe,
    run_dir: str | Path | None = None,
    runs_root: str | Path = "runs",
    verbose: int = 1,
    seeds: int = 1,
    workers: int = 1,
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
    gradient heatmaps in `plots/`, and `report.html`.

    With `seeds=N` > 1 the whole comparison runs once per seed (`seed`,
    `seed + 1`, ...), each in `seed_S/` as above. A seed fixes the split, the
    initialisation and the data order, and every variant shares it, so the
    variants are compared seed by seed (paired). `seeds.csv` then holds every
    seed's rows, and `comparison.csv` one row per variant and metric: the
    mean, std and 95% interval (Student's t), and the paired difference to
    the baseline variant (`baseline:` in the recipe, else the first) with
    its interval. The plots show each variant's mean curve with a band (the
    95% interval of the mean at each epoch).

    The recipe's `claims:` are checked at the end ("VARIANT beats OTHER on
    METRIC": the paired gain's 95% interval lies above 0), printed and
    written to `claims.csv`; one seed cannot exclude chance, so a claim needs
    `seeds` >= 2 to hold.

    Args:
        recipe: A validated recipe with a `variants:` section.
        run_dir: The comparison folder; must not exist or be empty. Defaults
            to `RUNS_ROOT/NAME-TIMESTAMP`.
        runs_root: Parent of the default folder. Defaults to `runs`.
        verbose: Integer. 0 silent, 1 progress bars, 2 one line per epoch.
        seeds: Integer >= 1. Number of seeds, from the recipe's. Defaults to `1`.
        workers: Integer >= 1. Processes that train seeds at once, each with
            its share of the cores; workers are silent. Defaults to `1`.

    Returns:
        A `Comparison`.

    Raises:
        RecipeError: if the recipe has no variants, a variant or claim is
            invalid, or `seeds` or `workers` is not an integer >= 1.
        RunDirError: if `run_dir` exists and is not empty, or cannot be made.

    Example:

    ```python
    result = compare(load_recipe("gd_variants", ["training.epochs=3"]), run_dir="runs/gd", seeds=3)
    print(result.claims[["claim", "held"]])
    ```
    """
    _check_counts(seeds, workers)
    variant_recipes(recipe)  # every mistake in the variants and claims, before any folder
    baseline = recipe.baseline or next(iter(recipe.variants))
    seed_list = [recipe.seed + offset for offset in range(seeds)]
    # Written in a staging folder and published whole, like a run folder: an
    # interrupted or failed comparison leaves nothing behind.
    with RunFolder(f"{recipe.name}-compare", run_dir, runs_root) as reserved:
        staging = reserved.staging
        if seeds == 1:
            table, histories, runs, target = _compare_seed(recipe, staging, verbose, True)
            per_seed = table.assign(seed=recipe.seed)
            per_seed = per_seed[["seed", *table.columns]]
            histories = {name: [frame] for name, frame in histories.items()}
            shown = table
        else:
            results, runs = _run_seeds(recipe, seed_list, staging, verbose, min(workers, seeds))
            per_seed = pd.concat(
                [table.assign(seed=seed)[["seed", *table.columns]] for seed, (table, _) in results.items()],
                ignore_index=True,
            )
            per_seed.to_csv(staging / SEEDS_TABLE, index=False)
            histories = {name: [results[seed][1][name] for seed in seed_list] for name in recipe.variants}
            table = summarize(per_seed, baseline)
            table.to_csv(staging / "comparison.csv", index=False)
            target = math.nan
            shown = mean_std_table(table)
        claims = check_claims(per_seed, recipe.claims)
        if recipe.claims:
            claims.to_csv(staging / CLAIMS_TABLE, index=False)
        _write_plots(histories, staging / "plots")
        report_name = write_report(staging).name
        _point_at_published_models(runs, staging, reserved.path)
        folder = reserved.commit()
    for run in runs.values():
        if run.run_dir is not None and run.run_dir.is_relative_to(staging):
            run.run_dir = folder / run.run_dir.relative_to(staging)
    if verbose:
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            print_msg(f"\n{shown.to_string(index=False, float_format='{:.4g}'.format)}")
        if seeds > 1:
            print_msg(f"mean ± std over seeds {seed_list[0]}..{seed_list[-1]}; baseline `{baseline}`")
        _print_claims(claims, seeds)
        print_msg(f"comparison folder: {folder}\nreport: {folder / report_name}")
    return Comparison(
        table=table,
        runs=runs,
        run_dir=folder,
        target_loss=target,
        per_seed=per_seed,
        claims=claims,
        seeds=seed_list,
    )
