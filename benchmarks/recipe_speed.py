"""Training speed: kerasforge against plain Keras, in one interleaved run.

Trains the same 3x128 ReLU MLP on the same synthetic data for the same
epochs three ways, at several batch sizes:

- kerasforge: `prepare_data` + `build_model` + `fit_model` (auto
  `steps_per_execution`, a cached and prefetched tf.data pipeline), with no
  callbacks, so it does the same work as the Keras scripts;
- kerasforge+monitors: the same with the recipe's default callbacks
  (gradient and activation monitors, LR logger) but no early stopping, so
  every contender runs every epoch; their cost alone is measured by
  `benchmarks/callback_overhead.py`;
- plain Keras with `compile()` defaults and `fit(x, y)` on NumPy arrays;
- a hand-tuned Keras script: `steps_per_execution=32` and a tf.data pipeline.

Steps/s are measured in steady state: the first epoch (graph tracing) is
left out, and `--epochs` more epochs are timed at every batch size. Prints
steps/s per contender and the ratios kerasforge/plain and
kerasforge/tuned (medians of per-round ratios over interleaved repeats).

Usage:
    python benchmarks/recipe_speed.py [--rows 20000] [--epochs 10] [--repeats 3]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import tensorflow as tf
from _timing import interleaved, median, print_table

from kerasforge.data import make_dataset, updates_per_epoch
from kerasforge.recipes import (
    apply_overrides,
    build_callbacks,
    build_model,
    fit_model,
    prepare_data,
)


class EpochTimer(keras.callbacks.Callback):
    """Wall time of every epoch after the first, which includes graph tracing."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if epoch > 0:
            self.seconds.append(time.perf_counter() - self._started)


def plain_model(input_dim, classes, steps_per_execution=1):
    model = keras.Sequential(
        [keras.Input((input_dim,))]
        + [keras.layers.Dense(128, activation="relu") for _ in range(3)]
        + [keras.layers.Dense(classes, activation="softmax")]
    )
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=10, help="timed epochs per fit, after the first")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256, 2048])
    args = parser.parse_args()

    rows = []
    for batch_size in args.batch_sizes:
        recipe = apply_overrides(
            {"name": "speed"},
            {
                "data.source": "synthetic",
                "data.synthetic": {"rows": args.rows, "features": 20, "classes": 4},
                "data.split": {"train": 0.8, "val": 0.1, "test": 0.1},
                "model.task": "multiclass",
                "model.layers": 3,
                "model.units": 128,
                "training.batch_size": batch_size,
                "training.epochs": 1,
                "callbacks.early_stopping.enabled": False,
            },
        )
        data = prepare_data(recipe)
        steps_per_epoch = updates_per_epoch(len(data.x_train), batch_size)
        epochs = 1 + args.epochs
        validation = (data.x_val, data.y_val)

        def steady_seconds(timer):
            return sum(timer.seconds)

        def through_kerasforge(with_monitors):
            def run():
                model = build_model(recipe, data)
                timer = EpochTimer()
                callbacks = build_callbacks(recipe, data, verbose=0) if with_monitors else []
                fit_model(recipe, model, data, [*callbacks, timer], verbose=0, epochs=epochs)
                return steady_seconds(timer)

            return run

        def plain_default():
            model = plain_model(data.input_dim, data.output_units)
            timer = EpochTimer()
            model.fit(
                data.x_train,
                data.y_train,
                batch_size=batch_size,
                epochs=epochs,
                validation_data=validation,
                verbose=0,
                callbacks=[timer],
            )
            return steady_seconds(timer)

        def hand_tuned():
            model = plain_model(data.input_dim, data.output_units, steps_per_execution=32)
            train_set = make_dataset(data.x_train, data.y_train, batch_size=batch_size)
            val_set = make_dataset(data.x_val, data.y_val, batch_size=batch_size, shuffle=False)
            timer = EpochTimer()
            model.fit(train_set, validation_data=val_set, epochs=epochs, verbose=0, callbacks=[timer])
            return steady_seconds(timer)

        seconds = interleaved(
            {
                "kerasforge": through_kerasforge(False),
                "kerasforge+monitors": through_kerasforge(True),
                "plain": plain_default,
                "tuned": hand_tuned,
            },
            args.repeats,
        )
        steps = steps_per_epoch * (epochs - 1)
        rate = {name: steps / median(values) for name, values in seconds.items()}
        # Speed ratio = time of the other / time of kerasforge, paired within a round.
        per_round = [
            (plain / ours, tuned / ours, tuned / monitored)
            for ours, monitored, plain, tuned in zip(
                *(seconds[name] for name in ("kerasforge", "kerasforge+monitors", "plain", "tuned")),
                strict=True,
            )
        ]
        rows.append(
            {
                "batch": batch_size,
                "kerasforge steps/s": f"{rate['kerasforge']:.0f}",
                "+monitors steps/s": f"{rate['kerasforge+monitors']:.0f}",
                "plain steps/s": f"{rate['plain']:.0f}",
                "tuned steps/s": f"{rate['tuned']:.0f}",
                "kf/plain": f"{median([r[0] for r in per_round]):.2f}x",
                "kf/tuned": f"{median([r[1] for r in per_round]):.2f}x",
                "kf+monitors/tuned": f"{median([r[2] for r in per_round]):.2f}x",
            }
        )
        keras.backend.clear_session()
    print(
        f"{args.rows} rows x 20 features, 3x128 ReLU MLP, {args.epochs} timed epochs per fit, "
        f"median of {args.repeats} interleaved repeats, TensorFlow {tf.__version__}"
    )
    print_table(rows, list(rows[0]))


if __name__ == "__main__":
    main()
