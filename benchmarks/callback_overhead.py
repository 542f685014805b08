"""Wall-time overhead of the kerasforge callbacks against plain Keras fits.

Runs, interleaved in one process (A, B, C, ... repeated), the same fit of a
3x128 ReLU MLP (batch 32, synthetic data, TensorFlow backend) with:

* `none@1`:      no callbacks, steps_per_execution=1
* `monitor@1`:   GradientNormMonitor (in-step mode, every step observed)
* `none@32`:     no callbacks, steps_per_execution=32 (kerasforge's fast setting)
* `bundle@32`:   everything a bundled recipe attaches: GradientNormMonitor,
                 EarlyStopping, LearningRateLogger and ActivationMonitor
* `naive@1`:     the naive approach, a GradientTape pass in
                 on_train_batch_end, against `none@1`, on `--naive-rows` rows
                 only because it is so slow

Every run builds a fresh, identically seeded model, so each fit pays its own
tracing, as a user's fit would. Three times are kept per run: the whole
fit's wall time, the last epoch's wall time (steady state, no tracing; it
includes every callback's epoch-end work) and the whole fit's process CPU
time, which other programs sharing the machine disturb far less than wall
time. Prints, for each, the ratio of medians and the ratio of minimums (the
least-disturbed run, the steadier figure on a busy machine). Targets:
monitor@1 <= 1.05x none@1, bundle@32 <= 1.08x none@32.

Whole fits on a shared machine vary by 20% or more from run to run, so a
second measurement isolates the monitor's cost inside the compiled step:
two traced models, one with the monitor installed, whose `train_function`
calls (one execution of `steps_per_execution` steps each) alternate A, B,
A, B `--step-calls` times; it prints the ratio of median and of minimum
call times at steps_per_execution 1 and 32.

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/callback_overhead.py
    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/callback_overhead.py --rows 20000
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
import tensorflow as tf

from kerasforge.callbacks import (
    ActivationMonitor,
    EarlyStopping,
    GradientNormMonitor,
    LearningRateLogger,
)

FEATURES, CLASSES = 32, 10


class NaiveGradientTape(keras.callbacks.Callback):
    """What people write by hand: an eager GradientTape after every batch."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = tf.constant(x), tf.constant(y)
        self.norms = []

    def on_train_batch_end(self, batch, logs=None):
        with tf.GradientTape() as tape:
            loss = self.model.compute_loss(x=self.x, y=self.y, y_pred=self.model(self.x, training=False))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.norms.append([float(tf.norm(g)) for g in grads])


class EpochClock(keras.callbacks.Callback):
    """Times epochs: put `start` first and `stop` last in the callbacks."""

    def __init__(self, times, stop=False):
        super().__init__()
        self.times, self.stop = times, stop

    def on_epoch_begin(self, epoch, logs=None):
        if not self.stop:
            self.times.append(-time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        if self.stop:
            self.times[-1] += time.perf_counter()


def make_data(rows, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, FEATURES)).astype("float32")
    weights = rng.normal(size=(FEATURES, CLASSES))
    y = np.argmax(x @ weights + rng.normal(size=(rows, CLASSES)), axis=1)
    return x, y.astype("int32")


def make_model(steps_per_execution):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((FEATURES,))]
        + [keras.layers.Dense(128, activation="relu") for _ in range(3)]
        + [keras.layers.Dense(CLASSES, activation="softmax")]
    )
    model.compile(
        keras.optimizers.Adam(1e-3),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def configurations(x_val, y_val, naive_rows):
    probe = (x_val[:32], y_val[:32])
    return {
        "none@1": (1, None, lambda: []),
        "monitor@1": (1, None, lambda: [GradientNormMonitor()]),
        "none@32": (32, None, lambda: []),
        "bundle@32": (
            32,
            None,
            lambda: [
                GradientNormMonitor(),
                EarlyStopping(patience=5),
                LearningRateLogger(),
                ActivationMonitor(probe_data=x_val[:256]),
            ],
        ),
        "none@1/small": (1, naive_rows, lambda: []),
        "naive@1/small": (1, naive_rows, lambda: [NaiveGradientTape(*probe)]),
    }


def step_cost(steps_per_execution, calls):
    """Median and min time of one train_function call, without/with monitor."""
    x, y = make_data(32 * 64)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32).repeat()
    runs = []
    for monitored in (False, True):
        model = make_model(steps_per_execution)
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
        if monitored:
            monitor = GradientNormMonitor()
            monitor.set_model(model)
            monitor.on_train_begin()  # installs the in-step accumulation
        iterator = iter(dataset)
        model.train_function(iterator)  # trace
        runs.append((model, iterator, []))
    for _ in range(calls):
        for model, iterator, times in runs:
            start = time.perf_counter()
            float(model.train_function(iterator)["loss"])
            times.append(time.perf_counter() - start)
    (_, _, plain), (_, _, monitored) = runs
    return [(pick(plain), pick(monitored)) for pick in (statistics.median, min)]


def main():
    # step_cost builds several traced models on purpose; TF's retracing
    # warning about it would only be noise here.
    tf.get_logger().setLevel("ERROR")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=5_000)
    parser.add_argument("--step-calls", type=int, default=300)
    args = parser.parse_args()
    x_all, y_all = make_data(args.rows)
    x_val, y_val = make_data(max(args.rows // 10, 256), seed=1)
    configs = configurations(x_val, y_val, args.naive_rows)
    fits = {name: [] for name in configs}
    epochs = {name: [] for name in configs}
    cpu = {name: [] for name in configs}
    for repeat in range(args.repeats):
        for name, (steps, rows, callbacks) in configs.items():
            x, y = x_all[:rows], y_all[:rows]
            model = make_model(steps)
            clock = []
            start, start_cpu = time.perf_counter(), time.process_time()
            model.fit(
                x,
                y,
                batch_size=32,
                epochs=args.epochs,
                verbose=0,
                validation_data=(x_val, y_val),
                callbacks=[EpochClock(clock)] + callbacks() + [EpochClock(clock, stop=True)],
            )
            fits[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
            epochs[name].append(clock[-1])
            print(
                f"repeat {repeat + 1} {name:14s} fit {fits[name][-1]:7.2f}s"
                f"  last epoch {clock[-1]:7.2f}s  cpu {cpu[name][-1]:7.2f}s",
                flush=True,
            )
    print(
        f"\n{args.rows} rows ({args.naive_rows} for naive), {args.epochs} "
        f"epochs, batch 32, median of {args.repeats} interleaved repeats:"
    )
    for name, baseline in (
        ()
        if not args.repeats
        else (
            ("monitor@1", "none@1"),
            ("bundle@32", "none@32"),
            ("naive@1/small", "none@1/small"),
        )
    ):
        for label, times in (("fit wall", fits), ("last epoch wall", epochs), ("fit cpu", cpu)):
            ratios = [
                f"{pick.__name__} {pick(times[name]):6.2f}s/"
                f"{pick(times[baseline]):6.2f}s = "
                f"{pick(times[name]) / pick(times[baseline]):.3f}x"
                for pick in (statistics.median, min)
            ]
            print(f"  {name:14s} vs {baseline:13s} {label:16s}" + "   ".join(ratios))
    print(
        "\nGradientNormMonitor inside the compiled step, train_function calls "
        f"alternated {args.step_calls} times:"
    )
    for steps in (1, 32):
        # One call is 32 times cheaper at steps_per_execution=1: more calls.
        calls = args.step_calls * (10 if steps == 1 else 1)
        (median_plain, median_ours), (min_plain, min_ours) = step_cost(steps, calls)
        print(
            f"  steps_per_execution={steps:2d}: median "
            f"{median_ours * 1e3:6.2f}ms/{median_plain * 1e3:6.2f}ms = "
            f"{median_ours / median_plain:.3f}x   min "
            f"{min_ours * 1e3:6.2f}ms/{min_plain * 1e3:6.2f}ms = "
            f"{min_ours / min_plain:.3f}x"
        )


if __name__ == "__main__":
    main()
