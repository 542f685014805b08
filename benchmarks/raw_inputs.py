"""Preprocessing inside the model: what it costs digits_mlp, in one interleaved run.

A run's network trains on encoded arrays that the Keras preprocessing layers
compute once (`prepare_data`), and the saved `model.keras` puts the same
layers in front of it. This script measures both sides of that choice on
digits_mlp (64 numeric columns):

- arrays: `fit` of the network on the encoded arrays, as `train` does;
- raw dict: `fit` of the raw-rows model (64 float32 columns as a dict ->
  Concatenate -> FillMissing -> Normalization -> the same network), as a
  pipeline that streams raw rows could train it;
- raw dict, encoded in tf.data: raw batches mapped through the preprocessing
  layers inside the tf.data pipeline, the network fitted on the result (the
  pattern Keras recommends for preprocessing layers).

The "cached batches" pair caches whole batches in a fixed order, so only the
model's own step time is left.

Both get the same tf.data treatment (from_tensor_slices, cache, full shuffle,
batch, prefetch), the recipe's batch size and `steps_per_execution`, and no
callbacks. Steps/s are steady state (the first epoch, with tracing, is left
out); the ratio is raw dict / arrays, median of per-round ratios over
interleaved repeats. Also printed: the one-time cost of encoding every split
with the preprocessing layers, against one epoch of training.

Usage:
    python benchmarks/raw_inputs.py [--epochs 10] [--repeats 5]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf
from _timing import interleaved, median, print_table
from recipe_speed import EpochTimer

from kerasforge.data import updates_per_epoch
from kerasforge.recipes import build_model, load_recipe, prepare_data
from kerasforge.recipes.engine.build_model import compile_like
from kerasforge.recipes.engine.raw_model import encode, raw_model


def pipeline(x, y, batch_size, batched_cache=False, encoder=None):
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if encoder is not None:
        # Raw batches encoded by the preprocessing layers inside tf.data, in parallel with training.
        dataset = dataset.cache().shuffle(len(y), seed=0).batch(batch_size)
        dataset = dataset.map(lambda raw, labels: (encoder(raw), labels), num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.prefetch(tf.data.AUTOTUNE)
    if batched_cache:
        # Whole batches cached, in a fixed order: what is left is the model's own step time.
        return dataset.batch(batch_size).cache().prefetch(tf.data.AUTOTUNE)
    dataset = dataset.cache().shuffle(len(y), seed=0)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="timed epochs per fit, after the first")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    recipe = load_recipe("digits_mlp", {"callbacks.early_stopping.enabled": False})
    data = prepare_data(recipe)
    batch_size = recipe.training.batch_size
    steps = updates_per_epoch(len(data.y_train), batch_size)
    epochs = 1 + args.epochs

    def fit_seconds(model, x, batched_cache, encoder=None):
        timer = EpochTimer()
        dataset = pipeline(x, data.y_train, batch_size, batched_cache, encoder)
        model.fit(dataset, epochs=epochs, verbose=0, callbacks=[timer])
        return sum(timer.seconds)

    def arrays(batched_cache=False):
        return lambda: fit_seconds(build_model(recipe, data), data.x_train, batched_cache)

    def raw_dict(batched_cache=False):
        def run():
            network = build_model(recipe, data)
            model = raw_model(data.preprocessing, network, None)
            compile_like(model, recipe, network.optimizer, int(network.steps_per_execution))
            return fit_seconds(model, data.raw["train"], batched_cache)

        return run

    def encoded_in_pipeline():
        return fit_seconds(build_model(recipe, data), data.raw["train"], False, data.preprocessing)

    def encoding():
        started = time.perf_counter()
        for split in ("train", "val", "test"):
            encode(data.preprocessing, data.raw[split])
        return time.perf_counter() - started

    runners = {
        "arrays": arrays(),
        "raw dict": raw_dict(),
        "arrays, cached batches": arrays(True),
        "raw dict, cached batches": raw_dict(True),
        "raw dict, encoded in tf.data": encoded_in_pipeline,
        "encode once": encoding,
    }
    seconds = interleaved(runners, args.repeats)
    timed_steps = steps * args.epochs
    epoch = median(seconds["arrays"]) / args.epochs
    print(f"digits_mlp: {len(data.y_train)} training rows, batch {batch_size}, {steps} steps per epoch")
    rows = []
    pairs = (
        ("raw dict", "arrays"),
        ("raw dict, cached batches", "arrays, cached batches"),
        ("raw dict, encoded in tf.data", "arrays"),
    )
    for raw, base in pairs:
        ratios = [a / r for a, r in zip(seconds[base], seconds[raw], strict=True)]
        for name in (base, raw) if base not in {row["contender"] for row in rows} else (raw,):
            rows.append({"contender": name, "steps/s": f"{timed_steps / median(seconds[name]):.0f}"})
        rows[-1]["raw/arrays"] = f"{median(ratios):.2f}"
    print_table(rows, ["contender", "steps/s", "raw/arrays"])
    print(
        f"encoding every split once: {median(seconds['encode once']):.3f} s "
        f"= {median(seconds['encode once']) / epoch:.2f} of one training epoch"
    )


if __name__ == "__main__":
    main()
