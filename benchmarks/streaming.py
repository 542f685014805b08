"""Streaming a large Parquet file against loading a small one in memory: rows/s and peak RSS.

Generates (once, cached) Parquet files of `--small-rows` and `--large-rows`
rows x 32 float features, a categorical column `color` (8 levels) and a
binary target `label`, written in row groups of 131,072 rows. Then trains
one epoch of the same model (raw columns in: `Normalization` of the 32
numbers, a one-hot `StringLookup` of `color`, 64 ReLU units, a sigmoid) three
ways, each in a fresh subprocess so its peak RSS (`ru_maxrss`) is its own:

- memory: the small file read whole with pandas, statistics in memory,
  `tf.data.Dataset.from_tensor_slices` of the raw-input dict, a full shuffle;
- stream-small and stream-large: `open_source` + `stream_statistics` (one
  pass) + `StreamDataset(...).to_tf_dataset()` (shard and row-group order shuffled, a
  262,144-row shuffle buffer, a prefetching reader thread);
- with `--recipe-path`, stream-large as a recipe trains: a `StreamDataset`
  (a Keras `PyDataset`) whose reader thread runs the preprocessing layers
  (`recipes.engine.raw_model.build_preprocessing`) on each batch, and the same
  64-unit network on the encoded features.

rows/s is the rows of the epoch over the wall time of `fit` (the statistics
pass and the load are reported apart). The three contenders run interleaved,
`--repeats` rounds, rotating the order; the table shows medians and the ratio
stream-large / memory. The files are cached under `--cache-dir` (default: the
temp folder's `kerasforge-streaming-benchmark/`; about 1.4 GB for 10M rows).

A second table (`--threshold`) times a one-epoch recipe through
`kerasforge.recipes.train` (read, statistics, encode, fit, test metrics) with
`data.stream: false` and `true` on files of 10k to 1M rows: where
`STREAM_THRESHOLD_BYTES` comes from.

Usage:
    python benchmarks/streaming.py [--large-rows 10000000] [--small-rows 1000000]
        [--batch-size 4096] [--repeats 2] [--cache-dir DIR] [--threshold] [--recipe-path]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FEATURES = 32
LEVELS = ["red", "orange", "yellow", "green", "blue", "indigo", "violet", "black"]
ROW_GROUP = 131_072
TARGET = "label"


def generate(path: Path, rows: int, seed: int = 0) -> Path:
    """Writes the benchmark file (in row groups, bounded memory), unless it is already cached."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=FEATURES).astype(np.float32)
    level_effect = rng.normal(size=len(LEVELS)).astype(np.float32)
    with pq.ParquetWriter(partial, _schema()) as writer:
        for start in range(0, rows, ROW_GROUP):
            count = min(ROW_GROUP, rows - start)
            x = rng.normal(size=(count, FEATURES)).astype(np.float32) * 3 + 1
            levels = rng.integers(0, len(LEVELS), count)
            logit = (x - 1) @ weights / 10 + level_effect[levels] + rng.normal(size=count)
            columns = {f"x{i}": x[:, i] for i in range(FEATURES)}
            columns["color"] = np.asarray(LEVELS, dtype=object)[levels]
            columns[TARGET] = (logit > 0).astype(np.int64)
            writer.write_table(pa.table(columns, schema=_schema()), row_group_size=ROW_GROUP)
    partial.rename(path)
    return path


def _schema():
    import pyarrow as pa

    fields = [pa.field(f"x{i}", pa.float32()) for i in range(FEATURES)]
    return pa.schema([*fields, pa.field("color", pa.string()), pa.field(TARGET, pa.int64())])


def build_model(statistics, seed: int = 0):
    """The benchmark's model, from raw columns, the same for every contender."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(seed)
    numeric = [c for c in statistics.columns if c.kind == "numeric"]
    categorical = [c for c in statistics.columns if c.kind == "categorical"]
    inputs = {c.name: keras.Input(shape=(), name=c.name, dtype="float32") for c in numeric}
    inputs.update({c.name: keras.Input(shape=(), name=c.name, dtype="string") for c in categorical})
    stacked = keras.layers.Concatenate()([keras.layers.Reshape((1,))(inputs[c.name]) for c in numeric])
    parts = [
        keras.layers.Normalization(
            mean=np.array([c.mean for c in numeric]), variance=np.array([c.variance for c in numeric])
        )(stacked)
    ]
    for column in categorical:
        lookup = keras.layers.StringLookup(vocabulary=list(column.levels), output_mode="one_hot")
        parts.append(lookup(inputs[column.name]))
    hidden = keras.layers.Dense(64, activation="relu")(keras.layers.Concatenate()(parts))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile("adam", "binary_crossentropy", steps_per_execution=8)
    return model


def build_network(width: int, seed: int = 0):
    """The layers of `build_model` after the preprocessing, on already encoded features."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(width,))
    hidden = keras.layers.Dense(64, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile("adam", "binary_crossentropy", steps_per_execution=8)
    return model


def measure_recipe(stream: bool, path: Path, batch_size: int) -> dict:
    """`kerasforge.recipes.train` of a one-epoch recipe on `path`, loaded whole or streamed: wall time."""
    from kerasforge.recipes import load_recipe, train

    recipe = load_recipe(
        {
            "name": "threshold",
            "data": {"source": str(path), "target": TARGET, "stream": stream},
            "model": {"task": "binary", "hidden": [64]},
            "training": {"epochs": 1, "batch_size": batch_size},
            "callbacks": {
                "gradient_monitor": {"enabled": False},
                "activation_monitor": {"enabled": False},
                "early_stopping": {"enabled": False},
            },
        }
    )
    started = time.perf_counter()
    run = train(recipe, write=False, verbose=0)
    seconds = time.perf_counter() - started
    rows = sum(run.data.rows.values())
    return {
        "mode": f"recipe-{'stream' if stream else 'memory'}",
        "rows": rows,
        "prepare_s": 0.0,
        "fit_s": seconds,
        "rows_per_s": rows / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(mode: str, path: Path, batch_size: int) -> dict:
    """One contender in this process: returns rows/s, seconds and peak RSS."""
    if mode.startswith("recipe-"):
        return measure_recipe(mode == "recipe-stream", path, batch_size)
    import numpy as np
    import pandas as pd

    from kerasforge.data.column_statistics import column_statistics
    from kerasforge.data.model_inputs import raw_inputs
    from kerasforge.data.stream_batches import StreamPlan, stream_statistics
    from kerasforge.data.stream_dataset import StreamDataset
    from kerasforge.data.stream_source import open_source

    started = time.perf_counter()
    if mode == "memory":
        frame = pd.read_parquet(path)
        statistics = column_statistics(frame, target=TARGET, task="binary")
        inputs = raw_inputs(frame, statistics)
        target = frame[TARGET].to_numpy(np.float32).reshape(-1, 1)
        rows = len(frame)
        del frame
        dataset = _in_memory_dataset(inputs, target, batch_size)
    else:
        plan = StreamPlan(open_source(path), target=TARGET, fractions=(1.0, 0.0, 0.0))
        summary = stream_statistics(plan, task="binary")
        statistics = summary.statistics
        rows = summary.rows["train"]
        if mode == "stream-encoded":
            from kerasforge.recipes.engine.raw_model import build_preprocessing, encode

            preprocessing = build_preprocessing(statistics)
            dataset = StreamDataset(
                plan,
                statistics,
                rows=rows,
                batch_size=batch_size,
                transform=lambda raw: encode(preprocessing, raw),
            )
        else:
            dataset = StreamDataset(plan, statistics, rows=rows, batch_size=batch_size).to_tf_dataset()
    prepared = time.perf_counter() - started
    if mode == "stream-encoded":
        model = build_network(preprocessing.output.shape[-1])
    else:
        model = build_model(statistics)
    clock = _SteadyClock()
    started = time.perf_counter()
    history = model.fit(dataset, epochs=1, verbose=0, callbacks=[clock], shuffle=False)
    total = time.perf_counter() - started
    # The first call traces the graph: leave it out of the rate, which is then the steady state.
    seconds = time.perf_counter() - clock.first
    steady_rows = rows - clock.first_rows(batch_size, model.steps_per_execution)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "mode": mode,
        "rows": rows,
        "prepare_s": round(prepared, 1),
        "fit_s": round(total, 1),
        "rows_per_s": steady_rows / seconds,
        "peak_rss_mb": peak_kb / 1024,
        "loss": float(history.history["loss"][-1]),
    }


def _in_memory_dataset(inputs, target, batch_size):
    """The fastest in-memory `tf.data` pipeline we found for a dict of columns.

    `from_tensor_slices(...).shuffle(rows).batch()` handles the 33 columns one
    row at a time and ran at under 10k rows/s here; shuffling row indices and
    gathering whole batches is vectorised.
    """
    import tensorflow as tf

    columns = {name: tf.constant(values) for name, values in inputs.items()}
    labels = tf.constant(target)

    def gather(index):
        return {name: tf.gather(values, index) for name, values in columns.items()}, tf.gather(labels, index)

    rows = len(target)
    return (
        tf.data.Dataset.range(rows)
        .shuffle(rows, seed=0)
        .batch(batch_size)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


class _SteadyClock:
    """Marks the end of the first training call (graph tracing included)."""

    def __new__(cls):
        import keras

        class Clock(keras.callbacks.Callback):
            first = None

            def on_train_batch_end(self, batch, logs=None):
                if self.first is None:
                    self.first = time.perf_counter()
                    self.first_batch = batch

            def first_rows(self, batch_size, steps_per_execution):
                return (self.first_batch + 1) * batch_size

        return Clock()


def run_child(mode: str, path: Path, batch_size: int) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", mode, "--file", str(path), "--batch-size", str(batch_size)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{mode} on {path} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--large-rows", type=int, default=10_000_000)
    parser.add_argument("--small-rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "kerasforge-streaming-benchmark",
        help="where the generated Parquet files are cached (default: %(default)s)",
    )
    parser.add_argument("--threshold", action="store_true", help="also time small files end to end")
    parser.add_argument(
        "--recipe-path",
        action="store_true",
        help="also stream the large file as recipes do: a PyDataset encoding each batch in its reader thread",
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.file, args.batch_size)))
        return

    from _timing import interleaved, median, print_table

    small = generate(args.cache_dir / f"rows-{args.small_rows}.parquet", args.small_rows)
    large = generate(args.cache_dir / f"rows-{args.large_rows}.parquet", args.large_rows)
    contenders = {
        "memory": (small, "memory"),
        "stream-small": (small, "stream"),
        "stream-large": (large, "stream"),
    }
    if args.recipe_path:
        contenders["stream-large, recipe path"] = (large, "stream-encoded")
    results = interleaved(
        {
            name: (lambda p=path, m=mode: run_child(m, p, args.batch_size))
            for name, (path, mode) in contenders.items()
        },
        args.repeats,
    )
    table = []
    for name, runs in results.items():
        table.append(
            {
                "contender": name,
                "rows": f"{runs[0]['rows']:,}",
                "rows/s": f"{median([r['rows_per_s'] for r in runs]):,.0f}",
                "fit s": f"{median([r['fit_s'] for r in runs]):.1f}",
                "load/stats s": f"{median([r['prepare_s'] for r in runs]):.1f}",
                "peak RSS MB": f"{max(r['peak_rss_mb'] for r in runs):,.0f}",
            }
        )
    print_table(table, ["contender", "rows", "rows/s", "fit s", "load/stats s", "peak RSS MB"])
    ratios = [
        large_run["rows_per_s"] / memory_run["rows_per_s"]
        for large_run, memory_run in zip(results["stream-large"], results["memory"], strict=True)
    ]
    rounds = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    print(f"stream-large / memory rows/s: {median(ratios):.2f} (per round: {rounds})")
    if args.recipe_path:
        ratios = [
            run["rows_per_s"] / memory_run["rows_per_s"]
            for run, memory_run in zip(results["stream-large, recipe path"], results["memory"], strict=True)
        ]
        print(f"stream-large, recipe path / memory rows/s: {median(ratios):.2f}")
    if args.threshold:
        threshold_table(args)


def threshold_table(args) -> None:
    """Seconds of a one-epoch recipe (`train`: read, statistics, encode, fit, test), whole or streamed."""
    from _timing import interleaved, median, print_table

    rows = []
    for size in (10_000, 100_000, 300_000, 1_000_000):
        path = generate(args.cache_dir / f"rows-{size}.parquet", size)
        modes = {"memory": "recipe-memory", "stream": "recipe-stream"}
        results = interleaved(
            {name: (lambda m=mode: run_child(m, path, args.batch_size)) for name, mode in modes.items()},
            args.repeats,
        )
        seconds = {
            mode: median([r["prepare_s"] + r["fit_s"] for r in runs]) for mode, runs in results.items()
        }
        rows.append(
            {
                "rows": f"{size:,}",
                "MB": f"{path.stat().st_size / 2**20:.1f}",
                "memory s": f"{seconds['memory']:.1f}",
                "stream s": f"{seconds['stream']:.1f}",
                "stream/memory": f"{seconds['stream'] / seconds['memory']:.2f}",
            }
        )
    print_table(rows, ["rows", "MB", "memory s", "stream s", "stream/memory"])


if __name__ == "__main__":
    main()
