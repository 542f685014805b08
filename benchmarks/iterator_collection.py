"""What a `tf.data` iterator freed by the garbage collector costs, with and without autotuning.

An iterator left in a reference cycle (a kept exception whose traceback holds `fit`'s frames, say)
is freed only by a collection, and TensorFlow's destructor then waits for the iterator's
autotuning thread to end its current sleep, which doubles with the iterator's age up to 60 s. For
each pipeline this makes an iterator, reads one element, puts it in a cycle, waits `--age`
seconds, and times the collection that frees it, with `Options.autotune.enabled` on and off; and,
as a control, the same iterator freed by its reference count. Then it times kerasforge's epoch
pipeline (`make_epoch_dataset`) training a small MLP with autotuning off against on, interleaved:
what turning it off would cost.

Usage:
    python benchmarks/iterator_collection.py [--age 12] [--repeats 4] [--rows 30000]
"""

import argparse
import gc
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from _timing import interleaved, print_against, print_table


class _Cycle:
    def __init__(self, iterator):
        self.iterator = iterator
        self.me = self


def _with_autotune(dataset, enabled: bool):
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = enabled
    return dataset.with_options(options)


def _pipelines(rows: int) -> dict:
    import tensorflow as tf

    from kerasforge.data.epoch_dataset import make_epoch_dataset

    x = np.random.default_rng(0).normal(size=(rows, 40)).astype("float32")
    y = np.zeros(rows, dtype="int64")
    return {
        "range -> map -> prefetch": tf.data.Dataset.range(10**6)
        .map(lambda i: i + 1)
        .prefetch(tf.data.AUTOTUNE),
        "make_epoch_dataset": make_epoch_dataset(x, y, batch_size=32, epoch_of_pass=lambda: 0),
    }


def _freeing_seconds(dataset, age: float, cycle: bool) -> float:
    gc.collect()
    gc.disable()
    try:
        iterator = iter(dataset)
        next(iterator)
        held = _Cycle(iterator) if cycle else iterator
        del iterator
        time.sleep(age)
        started = time.perf_counter()
        del held
        gc.collect()
        return time.perf_counter() - started
    finally:
        gc.enable()


def _epoch_seconds(rows: int, repeats: int) -> dict[str, list[float]]:
    import keras

    from kerasforge.data.epoch_dataset import make_epoch_dataset

    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(rows, 40)).astype("float32"), rng.integers(0, 3, rows)

    def fit(enabled: bool):
        def run() -> float:
            keras.utils.set_random_seed(0)
            model = keras.Sequential(
                [keras.Input((40,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(3)]
            )
            model.compile(
                "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), steps_per_execution=32
            )
            dataset = _with_autotune(
                make_epoch_dataset(x, y, batch_size=32, epoch_of_pass=lambda: 0), enabled
            )
            model.fit(dataset, epochs=1, verbose=0)  # tracing, not timed
            started = time.perf_counter()
            model.fit(dataset, epochs=4, verbose=0)
            return (time.perf_counter() - started) / 4

        return run

    return interleaved({"autotune off": fit(False), "autotune on": fit(True)}, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--age", type=float, default=12.0, help="seconds the iterator lives in the cycle")
    parser.add_argument("--repeats", type=int, default=4, help="interleaved rounds of the epoch timing")
    parser.add_argument("--rows", type=int, default=30000, help="rows of the epoch timing's data")
    args = parser.parse_args()
    if args.age < 0 or args.repeats < 1 or args.rows < 32:
        parser.error(f"--age must be >= 0, --repeats >= 1, --rows >= 32. Received: {vars(args)}")
    table = []
    for name, dataset in _pipelines(args.rows).items():
        row = {"pipeline": name}
        for enabled in (True, False):
            seconds = _freeing_seconds(_with_autotune(dataset, enabled), args.age, cycle=True)
            row[f"collected, autotune {'on' if enabled else 'off'} (s)"] = f"{seconds:.2f}"
        row["freed by refcount, autotune on (s)"] = f"{_freeing_seconds(dataset, args.age, cycle=False):.3f}"
        table.append(row)
    print(f"freeing an iterator {args.age:g} s after it was made")
    print_table(table, list(table[0]))
    print(f"\nmake_epoch_dataset epochs, {args.rows:,} rows, batch 32, seconds per epoch")
    print_against(_epoch_seconds(args.rows, args.repeats))


if __name__ == "__main__":
    main()
