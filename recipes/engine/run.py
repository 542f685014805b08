"""`train`: from a recipe to a trained, evaluated model and a run folder."""

import contextlib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import pandas as pd

from kerasforge._keras_compat import print_msg
from kerasforge.callbacks import TrainingHealthError
from kerasforge.data import updates_per_epoch
from kerasforge.errors import ArgumentError, KerasforgeError, TrainingStoppedError
from kerasforge.recipes.diagnosis.registry import diagnose, diagnosis_record
from kerasforge.recipes.engine.backend_settings import save_model
from kerasforge.recipes.engine.build_callbacks import build_callbacks
from kerasforge.recipes.engine.build_model import build_model, compile_like
from kerasforge.recipes.engine.describe_data import describe_data
from kerasforge.recipes.engine.distribute import Cluster, Distribution, peer_failure, start_distribution
from kerasforge.recipes.engine.fit import fit_model
from kerasforge.recipes.engine.json_file import write_json
from kerasforge.recipes.engine.prepare_data import PreparedData, prepare_data
from kerasforge.recipes.engine.raw_model import raw_model
from kerasforge.recipes.engine.reproducibility import set_global_seed
from kerasforge.recipes.engine.resume_check import check_same_recipe
from kerasforge.recipes.engine.run_folder import RunFolder
from kerasforge.recipes.engine.run_model_files import CLASSES_FILE, COLUMNS_FILE
from kerasforge.recipes.engine.training_checkpoint import open_checkpoint
from kerasforge.recipes.reports.html_report import write_report
from kerasforge.recipes.reports.plots import plot_history
from kerasforge.recipes.schema.loading import recipe_to_yaml
from kerasforge.recipes.schema.recipe import Recipe


@dataclass
class TrainingRun:
    """The outcome of `train`.

    Attributes:
        recipe: The resolved recipe that ran.
        model: The trained Keras model.
        history: Metric name -> one value per epoch (as in `History.history`).
        test_metrics: Metric name -> value on the test split.
        data: The `PreparedData` used.
        callbacks: The recipe's callbacks, with their findings (`.events`).
        run_dir: The run folder, or None when nothing was written.
        seconds: Wall time of `fit`.
    """

    recipe: Recipe
    model: keras.Model
    history: dict[str, list]
    test_metrics: dict[str, float]
    data: PreparedData
    callbacks: list = field(default_factory=list)
    run_dir: Path | None = None
    seconds: float = 0.0

    @property
    def events(self) -> list[dict]:
        """Every finding the monitors recorded (vanishing, exploding, dead units...)."""
        return [event for callback in self.callbacks for event in getattr(callback, "events", [])]


def _history_frame(history: dict[str, list]) -> pd.DataFrame:
    frame = pd.DataFrame(history)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    return frame


def save_run_model(run: TrainingRun, folder: Path) -> None:
    """Writes the run's model as `model.keras` (raw columns in, predictions out) and its columns.

    `columns.json` holds the `ColumnStatistics` the preprocessing was built
    from (with the class names); `classes.json` the class names alone, for
    classification. `save_model` writes a compile config every backend loads.
    """
    data = run.data
    if data.preprocessing is None or data.statistics is None:
        save_model(run.model, folder / "model.keras")
        return
    saved = raw_model(data.preprocessing, run.model, data.class_names)
    compile_like(saved, run.recipe, run.model.optimizer)
    save_model(saved, folder / "model.keras")
    write_json(folder / COLUMNS_FILE, data.statistics.to_config())
    if data.class_names is not None:
        write_json(folder / CLASSES_FILE, data.class_names)


def _write_run(run: TrainingRun, folder: Path, extra: dict) -> None:
    (folder / "recipe.yaml").write_text(recipe_to_yaml(run.recipe), encoding="utf-8")
    _history_frame(run.history).to_csv(folder / "history.csv", index=False)
    write_json(folder / "metrics.json", {"test": run.test_metrics, **extra})
    write_json(folder / "events.json", run.events)
    save_run_model(run, folder)
    plot_history(run.history, folder / "plots", title=run.recipe.name)
    data_info = describe_data(run.recipe, run.data)
    write_json(folder / "data.json", data_info)
    findings = diagnose(run.history, run.recipe, run.events, data_info)
    write_json(folder / "diagnosis.json", diagnosis_record(findings))
    write_report(folder)


@contextlib.contextmanager
def _peer_failures(distribution: Distribution):
    """Turns a collective that failed because another process died into one `ClusterError` line."""
    try:
        yield
    except KerasforgeError:
        raise
    except Exception as error:
        failure = peer_failure(error, distribution)
        if failure is None:
            raise
        raise failure from None


# The recipe section of each health monitor, for messages.
_MONITOR_SECTIONS = {"GradientNormMonitor": "gradient_monitor", "ActivationMonitor": "activation_monitor"}


def _stopped_message(error: TrainingHealthError) -> str:
    """One line naming the first event that stopped training, and how many more there were."""
    first = error.events[0]
    section = _MONITOR_SECTIONS.get(error.callback, error.callback)
    detail = first["message"].split(": ", 1)[-1].rstrip(".")  # without its "epoch N: " prefix
    kinds = ", ".join(dict.fromkeys(event["kind"] for event in error.events))
    more = f"; {len(error.events) - 1} more event(s) ({kinds})" if len(error.events) > 1 else ""
    return (
        f"training stopped by callbacks.{section}.on_detect=raise at epoch {first['epoch'] + 1}: "
        f"{first['kind']} in layer `{first['layer']}`, value {first['value']:.3g} ({detail}){more}; "
        "the partial run folder was removed (on_detect: stop ends training and keeps the run)"
    )


def train(
    recipe: Recipe,
    run_dir: str | Path | None = None,
    runs_root: str | Path = "runs",
    verbose: int = 1,
    write: bool = True,
    data: PreparedData | None = None,
    resume: bool = False,
    fresh: bool = False,
    cluster: Cluster | None = None,
) -> TrainingRun:
    """Trains and evaluates a recipe, and writes its run folder.

    The folder holds `recipe.yaml` (fully resolved: training it again
    reproduces the run), `history.csv`, `metrics.json` (test metrics under
    `test`), `events.json`, `data.json`, `diagnosis.json` (see
    `diagnosis_record`), `model.keras` (raw columns in, see `save_run_model`),
    `columns.json`, `classes.json` (classification), `plots/` and `report.html`. It appears
    only once everything is written. Meanwhile a checkpoint is written after every epoch
    (see `training_checkpoint`), so a killed run can be resumed.

    Args:
        recipe: A validated recipe (see `load_recipe`).
        run_dir: Run folder; must not exist or be empty. Defaults to
            `RUNS_ROOT/NAME-TIMESTAMP`.
        runs_root: Parent of default run folders. Defaults to `runs`.
        verbose: Integer. 0 silent, 1 summary and progress bar, 2 summary and
            one line per epoch.
        write: Boolean. False trains without writing a run folder.
        data: Optional `PreparedData` to reuse (e.g. to compare variants on
            the very same split).
        resume: Boolean. Continue the killed run `run_dir` from its last
            complete epoch; `recipe` must be the one it was started with.
            Defaults to `False`.
        fresh: Boolean. Discard the checkpoint of a killed run in `run_dir`
            and start afresh. Defaults to `False`.
        cluster: A `Cluster` to train as one process of a multi-process run
            (JAX; see `recipes.engine.distribute`). Every process calls
            `train`; only process 0 writes `run_dir`. Defaults to None.

    Returns:
        A `TrainingRun`.

    Raises:
        RecipeError, DataError, RunDirError: on user mistakes, before anything
            is written; `RunDirError` before the data is read, e.g. when
            `run_dir` holds a killed run's checkpoint and neither `resume`
            nor `fresh` is set (`ResumableRunError`), or when resuming with
            another recipe.
        TrainingStoppedError: when a health monitor with `on_detect: raise`
            fires; the partial run folder is removed.
        ClusterError: in a multi-process run, when a process cannot join or
            another one dies.

    Example:

    ```python
    run = train(load_recipe("digits_mlp", ["training.epochs=3"]), verbose=0)
    run.test_metrics["accuracy"]
    ```
    """
    distribution = start_distribution(recipe.training, cluster)
    if distribution.process_id:
        # Every process saves (saving gathers the weights, a collective), but only process 0 keeps it.
        with tempfile.TemporaryDirectory(prefix=f"kerasforge-process-{distribution.process_id}-") as private:
            run = _train(recipe, Path(private) / "run", runs_root, 0, write, data, False, False, distribution)
        run.run_dir = None
        return run
    return _train(recipe, run_dir, runs_root, verbose, write, data, resume, fresh, distribution)


def _train(recipe, run_dir, runs_root, verbose, write, data, resume, fresh, distribution) -> TrainingRun:
    folder = RunFolder(recipe.name, run_dir, runs_root, resume=resume, fresh=fresh) if write else None
    if resume:
        if not write:
            raise ArgumentError("Argument `resume=True` continues a run folder: it needs `write=True`")
        check_same_recipe(recipe, run_dir)
    # The folder is reserved before the data is read, so a folder that cannot be made fails at once.
    with folder or contextlib.nullcontext(), _peer_failures(distribution), contextlib.ExitStack() as stack:
        set_global_seed(recipe.seed)
        data = data if data is not None else prepare_data(recipe)
        # The model is built, fitted, evaluated and saved in the distribution's scope; the data not.
        stack.enter_context(distribution.scope())
        model = build_model(recipe, data)
        callbacks = build_callbacks(recipe, data, verbose=1 if verbose else 0)
        training = recipe.training
        updates = updates_per_epoch(data.rows["train"], training.batch_size, training.drop_remainder)
        if verbose:
            model.summary(print_fn=lambda line, **_: print_msg(line))
            print_msg(
                f"{data.rows['train']} training rows at batch {training.batch_size}: "
                f"{updates} updates per epoch, {model.steps_per_execution} per graph call"
            )
            if distribution.strategy != "none":
                print_msg(f"distributed: {distribution.describe()}; batch {training.batch_size} is global")
        fitting, resuming = callbacks, {}
        # A multi-process run cannot be resumed (`--resume` is for one process), so it keeps no checkpoint.
        if folder is not None and distribution.num_processes == 1:
            checkpoint = open_checkpoint(
                recipe_to_yaml(recipe), folder.staging, folder.path, callbacks, resume, verbose
            )
            fitting, resuming = [*callbacks, checkpoint], checkpoint.fit_arguments()
        started = time.perf_counter()
        try:
            history = fit_model(
                recipe,
                model,
                data,
                fitting,
                verbose=verbose,
                shard=distribution.shard,
                **resuming,
            )
        except TrainingHealthError as error:
            raise TrainingStoppedError(_stopped_message(error)) from None
        seconds = time.perf_counter() - started
        test_metrics = {}
        test_set = data.dataset("test", 256, shard=distribution.shard)
        if test_set is not None:
            test_metrics = model.evaluate(test_set, verbose=0, return_dict=True)
        run = TrainingRun(
            recipe=recipe,
            model=model,
            history={key: [float(v) for v in values] for key, values in history.history.items()},
            test_metrics={key: float(value) for key, value in test_metrics.items()},
            data=data,
            callbacks=callbacks,
            seconds=seconds,
        )
        if folder is not None:
            extra = {
                "epochs_run": len(history.epoch),
                "updates_per_epoch": updates,
                "steps_per_execution": int(model.steps_per_execution),
                "fit_seconds": round(seconds, 3),
            }
            _write_run(run, folder.staging, extra)
            run.run_dir = folder.commit()
    if verbose:
        shown = ", ".join(f"{key}={value:.4f}" for key, value in run.test_metrics.items())
        print_msg(f"test: {shown}")
        if run.run_dir is not None:
            print_msg(f"run folder: {run.run_dir}")
    return run
