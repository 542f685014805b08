"""Wall-time overhead of the kerasforge callbacks against plain Keras, per backend.

For one Keras backend (or each of them, in turn, with `--backend all`), the
same fit of a 3x128 ReLU MLP (`--units` sets the width; batch 32,
synthetic data, Adam) runs with:

* `none`:     no callbacks
* `monitor`:  `GradientNormMonitor` (in-step: every step observed)
* `bundle`:   everything a bundled recipe attaches: `GradientNormMonitor`,
              `EarlyStopping`, `LearningRateLogger` and `ActivationMonitor`

at `steps_per_execution` 1 and 32 (torch's trainer takes only 1). Each
contender gets a fresh, identically seeded model, trains `--epochs` epochs,
and its steady-state cost is the median epoch time after the first epoch
(which traces the train step), in wall time and in process CPU time (which
other programs on a shared machine disturb far less); contenders run
interleaved, in a rotating order, `--repeats` times, and the ratios to
`none` of the medians and of the minimums (the least-disturbed run) are
printed.

Then the repeated short fit: one model fits `--short-steps` steps at a time,
`--short-fits` times in a row, with a new `GradientNormMonitor` at each fit
and without one, interleaved; the first fit of each (it traces) is left
out. This is what a tuner or a notebook does, and a monitor that traced the
train step again at every fit would cost several times a short fit.

Targets: monitor <= 1.05x, bundle <= 1.08x, repeated short fit <= 1.2x.

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/callback_overhead.py --backend all
    KERAS_BACKEND=torch python benchmarks/callback_overhead.py --threads 1 --rows 10000
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")
FEATURES, CLASSES, BATCH = 32, 10, 32
UNITS = int(os.environ.get("KERASFORGE_BENCHMARK_UNITS", "128"))


def make_data(rows, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, FEATURES)).astype("float32")
    y = np.argmax(x @ rng.normal(size=(FEATURES, CLASSES)) + rng.normal(size=(rows, CLASSES)), axis=1)
    return x, y.astype("int32")


def make_model(steps_per_execution):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((FEATURES,))]
        + [keras.layers.Dense(UNITS, activation="relu") for _ in range(3)]
        + [keras.layers.Dense(CLASSES, activation="softmax")]
    )
    model.compile(
        keras.optimizers.Adam(1e-3),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def callbacks_of(name, x_val):
    from kerasforge.callbacks import ActivationMonitor, EarlyStopping, GradientNormMonitor, LearningRateLogger

    if name == "none":
        return []
    if name == "monitor":
        return [GradientNormMonitor()]
    return [
        GradientNormMonitor(),
        EarlyStopping(patience=5),
        LearningRateLogger(),
        ActivationMonitor(probe_data=x_val[:256]),
    ]


def steady_epoch_seconds(name, steps_per_execution, data, epochs):
    """Median wall and process-CPU time of the epochs after the first, for one fresh fit."""
    import keras

    (x, y), (x_val, y_val) = data
    wall, cpu = [], []

    def begin(epoch, logs):
        wall.append(-time.perf_counter())
        cpu.append(-time.process_time())

    def end(epoch, logs):
        wall[-1] += time.perf_counter()
        cpu[-1] += time.process_time()

    make_model(steps_per_execution).fit(
        x,
        y,
        batch_size=BATCH,
        epochs=epochs,
        verbose=0,
        validation_data=(x_val, y_val),
        callbacks=[
            keras.callbacks.LambdaCallback(on_epoch_begin=begin),
            *callbacks_of(name, x_val),
            keras.callbacks.LambdaCallback(on_epoch_end=end),
        ],
    )
    return statistics.median(wall[1:]), statistics.median(cpu[1:])


def short_fit_seconds(steps, fits, repeats):
    """Median time of a short fit with and without a monitor, on one model each."""
    from _timing import interleaved

    from kerasforge.callbacks import GradientNormMonitor

    x, y = make_data(steps * BATCH, seed=2)
    models = {"none": make_model(1), "monitor": make_model(1)}
    for name, model in models.items():  # the first fit traces: left out
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=callbacks_of(name, x))

    def runner(name):
        def run():
            callbacks = [GradientNormMonitor()] if name == "monitor" else []
            started = time.perf_counter()
            models[name].fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=callbacks)
            return time.perf_counter() - started

        return run

    results = interleaved({name: runner(name) for name in models}, repeats * fits)
    if "grad_norm/global" not in models["monitor"].history.history:
        raise RuntimeError("the monitored short fit logged no gradient norm")
    return {name: statistics.median(values) for name, values in results.items()}


def _limit_threads(backend, threads):
    """On a shared machine, a library spinning threads on busy cores times the load, not the code."""
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def measure(args):
    import keras
    from _timing import interleaved

    backend = keras.backend.backend()
    if args.threads:
        _limit_threads(backend, args.threads)
    data = (make_data(args.rows), make_data(max(args.rows // 10, 256), seed=1))
    print(
        f"backend {backend}: 3x{UNITS} MLP, {args.rows} rows, batch {BATCH}, {args.epochs} epochs, "
        f"{args.repeats} repeats"
    )
    for steps_per_execution in (1, 32):
        if backend == "torch" and steps_per_execution > 1:
            print("  steps_per_execution=32: not available on torch (its trainer runs one step per call)")
            continue
        runners = {
            name: (lambda name=name: steady_epoch_seconds(name, steps_per_execution, data, args.epochs))
            for name in ("none", "monitor", "bundle")
        }
        results = interleaved(runners, args.repeats)
        for name in ("monitor", "bundle"):
            ratios = []
            for index, clock in enumerate(("wall", "cpu")):
                for pick in (statistics.median, min):
                    ours = pick(value[index] for value in results[name])
                    base = pick(value[index] for value in results["none"])
                    ratios.append(f"{clock} {pick.__name__} {ours:6.3f}s/{base:6.3f}s = {ours / base:.3f}x")
            print(
                f"  steps_per_execution={steps_per_execution:2d} {name:8s} per epoch: " + "   ".join(ratios)
            )
    short = short_fit_seconds(args.short_steps, args.short_fits, 1)
    print(
        f"  repeated {args.short_steps}-step fit: monitor {short['monitor'] * 1e3:7.1f} ms vs none "
        f"{short['none'] * 1e3:7.1f} ms = {short['monitor'] / short['none']:.3f}x"
    )


def main():
    global UNITS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=(*BACKENDS, "all", "current"), default="current")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--short-steps", type=int, default=8)
    parser.add_argument("--short-fits", type=int, default=15)
    parser.add_argument(
        "--threads", type=int, default=0, help="cap the backend's CPU threads (0: its default)"
    )
    parser.add_argument("--units", type=int, default=UNITS, help="width of the 3 hidden layers")
    args = parser.parse_args()
    UNITS = args.units
    os.environ["KERASFORGE_BENCHMARK_UNITS"] = str(args.units)  # for the per-backend subprocesses
    if args.backend == "current":
        measure(args)
        return
    for backend in BACKENDS if args.backend == "all" else (args.backend,):
        forwarded = [arg for arg in sys.argv[1:] if not arg.startswith("--backend")]
        forwarded = [arg for arg in forwarded if arg not in BACKENDS and arg != "all"]
        environment = dict(os.environ, KERAS_BACKEND=backend)
        subprocess.run(
            [sys.executable, __file__, "--backend", "current", *forwarded], env=environment, check=True
        )


if __name__ == "__main__":
    main()
