"""One search trial through kerasforge against the same model fitted directly.

- search trial: one more trial of a KerasTuner search (oracle, recipe
  overrides, build_model, the recipe's callbacks, tf.data fit, trial records).
- direct fit: the same recipe built and fitted without a tuner, with its
  callbacks, as `kerasforge train` does. trial / direct is the search overhead.
- plain keras: the same Sequential MLP, compiled with the same optimizer and
  fitted on the same arrays with Keras defaults, for reference.

All train a fixed number of epochs (no early stopping), so all do the same
work. They are interleaved (rotating order each round) and medians compared.

With `--memory`, it also runs a small 40-trial search twice, each from a
fresh process: all in that process (`trials_per_process: 40`), and with the
default `trials_per_process: 20`, where trials 21-40 run in a child process.
It prints the resident memory of the process that ran trial 5, 20, 21 and 40.

Usage:
    python benchmarks/tuning_overhead.py [--repeats 5] [--epochs 20] [--memory]
    python benchmarks/tuning_overhead.py --repeats 0 --memory
"""

import argparse
import multiprocessing
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import keras_tuner
import tensorflow as tf
from _timing import interleaved, median, print_table

from kerasforge.recipes import (
    build_callbacks,
    build_model,
    fit_model,
    load_recipe,
    prepare_data,
    set_global_seed,
)
from kerasforge.tuning import RecipeHyperModel, SearchSpace, make_tuner, run_search
from kerasforge.tuning import recipe_hyper_model as trial_module

tf.get_logger().setLevel("ERROR")  # every trial is a new model: retracing is expected


def _recipe(epochs: int):
    return load_recipe(
        "digits_mlp",
        {
            "model.hidden": [128, 64],
            "model.dropout": 0.0,
            "training.epochs": epochs,
            "callbacks.early_stopping.enabled": False,
            # A sliver of learning-rate range keeps trials distinct (the oracle
            # stops on duplicates) while every trial does the same work.
            "search": {"max_trials": 1, "learning_rate": {"min": 0.00099, "max": 0.00101}},
        },
    )


def _tuner(recipe, folder):
    space = SearchSpace(recipe)
    hypermodel = RecipeHyperModel(space, prepare_data(recipe))
    objective = keras_tuner.Objective("val_loss", "min")
    tuner = make_tuner("random", hypermodel, objective, 0, folder, "keras_tuner", seed=1)
    tuner.verbose = 0
    return tuner


def _one_more_trial(tuner):
    tuner.oracle.max_trials += 1
    tuner.search()


def _direct_fit(recipe, data, fit=fit_model):
    keras.backend.clear_session()
    set_global_seed(recipe.seed)
    model = build_model(recipe, data)
    fit(recipe, model, data, build_callbacks(recipe, data, verbose=0), verbose=0)


def _plain_keras(recipe, data):
    keras.backend.clear_session()
    keras.utils.set_random_seed(recipe.seed)
    model = keras.Sequential(
        [keras.Input((data.input_dim,))]
        + [
            keras.layers.Dense(width, activation="relu", kernel_initializer="he_normal")
            for width in recipe.model.hidden
        ]
        + [keras.layers.Dense(data.output_units, activation="softmax")]
    )
    model.compile(
        keras.optimizers.Adam(recipe.training.learning_rate),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        data.x_train,
        data.y_train,
        batch_size=recipe.training.batch_size,
        epochs=recipe.training.epochs,
        validation_data=(data.x_val, data.y_val),
        verbose=0,
    )


def _memory(folder, trials_per_process: int) -> None:
    recipe = load_recipe(
        "digits_mlp",
        {
            "data.max_train_rows": 200,
            "training.epochs": 1,
            "search": {
                "max_trials": 40,
                "trials_per_process": trials_per_process,
                "layers": {"min": 1, "max": 3},
                "units": {"min": 16, "max": 256, "step": 16},
            },
        },
    )
    rss = run_search(recipe, run_dir=folder, verbose=0).trials["rss_mb"]
    print(
        f"trials_per_process={trials_per_process}: resident memory after trial 5 {rss[4]:.0f} MB, "
        f"trial 20 {rss[19]:.0f} MB, trial 21 {rss[20]:.0f} MB, trial 40 {rss[39]:.0f} MB"
    )


_fit_seconds: dict[str, list[float]] = {}


def _timed_fit(name: str):
    """`fit_model`, timed into `_fit_seconds[name]`: the rest of a contender's time is outside the fit."""

    def fit(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fit_model(*args, **kwargs)
        finally:
            _fit_seconds.setdefault(name, []).append(time.perf_counter() - started)

    return fit


def _timing(repeats: int, epochs: int) -> None:
    recipe = _recipe(epochs)
    with tempfile.TemporaryDirectory() as folder:
        tuner = _tuner(recipe, folder)
        data = tuner.hypermodel.data
        direct_fit = _timed_fit("direct fit")
        runners = {
            "search trial": lambda: _one_more_trial(tuner),
            "direct fit": lambda: _direct_fit(recipe, data, direct_fit),
            "plain keras": lambda: _plain_keras(recipe, data),
        }
        trial_module.fit_model = _timed_fit("search trial")  # the fit inside a search trial
        for runner in runners.values():
            runner()  # warm-up: first traces and file creation
        _fit_seconds.clear()
        times = interleaved(runners, repeats)
    rows = [
        {
            "contender": name,
            "median s": f"{median(values):.2f}",
            "runs": " ".join(f"{value:.2f}" for value in values),
        }
        for name, values in times.items()
    ]
    print_table(rows, ["contender", "median s", "runs"])
    trial = median(times["search trial"])
    print(
        f"ratio search trial / direct fit: {trial / median(times['direct fit']):.2f}; "
        f"search trial / plain keras: {trial / median(times['plain keras']):.2f} "
        f"({epochs} epochs of digits, batch {recipe.training.batch_size}, {repeats} rounds)"
    )
    outside = {
        name: median([total - fit for total, fit in zip(times[name], _fit_seconds[name], strict=True)])
        for name in ("search trial", "direct fit")
    }
    print(
        f"outside fit_model (build, callbacks, garbage collection, tuner bookkeeping): search trial "
        f"{outside['search trial']:.2f} s, direct fit {outside['direct fit']:.2f} s (medians)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timing rounds; 0 skips the timing")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--memory", action="store_true", help="also measure memory over a 40-trial search")
    args = parser.parse_args()
    if args.repeats:
        _timing(args.repeats, args.epochs)
    if args.memory:
        # Each search starts in a fresh process, so neither inherits the other's memory.
        context = multiprocessing.get_context("spawn")
        with tempfile.TemporaryDirectory() as folder:
            for trials_per_process in (40, 20):
                process = context.Process(
                    target=_memory, args=(os.path.join(folder, str(trials_per_process)), trials_per_process)
                )
                process.start()
                process.join()


if __name__ == "__main__":
    main()
