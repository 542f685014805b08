"""Plain Keras's own data-parallel fit of `digits_mlp`'s model, for `distributed.py` to time.

Run in a fresh process with `KERAS_BACKEND` set (the CPU is split into devices
before the backend starts). What a Keras user writes by hand: the digits rows
standardised, about the same split sizes, the same 128-64 ReLU MLP with dropout 0.2,
Adam at 1e-3 and batch 32, `compile()` defaults, `fit(x, y)` on NumPy arrays
with validation data, no callbacks. With 2 devices it trains under
`tf.distribute.MirroredStrategy` (TensorFlow) or
`keras.distribution.DataParallel` (JAX). Prints `fit` seconds, tracing
included, the figure `kerasforge train` records as `fit_seconds`.

Usage:
    KERAS_BACKEND=jax python benchmarks/_plain_keras_distributed.py --devices 2 --epochs 10
"""

import argparse
import contextlib
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _split_devices(backend: str, devices: int):
    """Splits the CPU into `devices` and returns the context a model is built and fitted in."""
    if devices == 1:
        return contextlib.nullcontext()
    if backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
        return tf.distribute.MirroredStrategy([f"/cpu:{index}" for index in range(devices)]).scope()
    if backend == "jax":
        import jax

        jax.config.update("jax_num_cpu_devices", devices)
        import keras

        return keras.distribution.DataParallel(devices=jax.devices()).scope()
    raise SystemExit(
        f"--devices {devices}: plain Keras splits the CPU on tensorflow and jax only, not {backend}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, choices=(1, 2), default=1)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    scope = _split_devices(os.environ.get("KERAS_BACKEND", "tensorflow"), args.devices)

    import keras
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    # 1256 training rows, not kerasforge's 1257: JAX shards each batch evenly over the devices, and
    # a last batch of 9 rows does not split in 2 (plain Keras has no answer for that but to drop rows).
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, train_size=1256, random_state=1, stratify=y)
    x_val, _, y_val, _ = train_test_split(x_rest, y_rest, train_size=270, random_state=1, stratify=y_rest)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = (scaler.transform(part).astype("float32") for part in (x_train, x_val))
    keras.utils.set_random_seed(1)
    with scope:
        model = keras.Sequential(
            [
                keras.Input((x.shape[1],)),
                keras.layers.Dense(128, activation="relu", kernel_initializer="he_normal"),
                keras.layers.Dropout(0.2),
                keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
                keras.layers.Dropout(0.2),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        started = time.perf_counter()
        model.fit(
            x_train, y_train, batch_size=32, epochs=args.epochs, validation_data=(x_val, y_val), verbose=0
        )
        print(f"{time.perf_counter() - started:.4f}")


if __name__ == "__main__":
    main()
