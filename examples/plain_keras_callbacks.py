"""Every kerasforge callback in a plain Keras script: no recipe, no CLI.

Trains two small digit classifiers (sklearn's 8x8 digits) in well under a
minute on a CPU:

1. a healthy ReLU/He MLP with a warmup + cosine learning rate, early
   stopping and all the monitors, logged to a CSV file;
2. a deep sigmoid MLP, which the GradientNormMonitor flags as vanishing.

It runs on any Keras backend:

    TF_CPP_MIN_LOG_LEVEL=2 python examples/plain_keras_callbacks.py
    KERAS_BACKEND=jax python examples/plain_keras_callbacks.py
    KERAS_BACKEND=torch python examples/plain_keras_callbacks.py
"""

import os
import tempfile

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from kerasforge.callbacks import (
    ActivationMonitor,
    EarlyStopping,
    GradientNormMonitor,
    LearningRateLogger,
    OneCycleSchedule,
    WarmupDecaySchedule,
    scale_learning_rate,
)

BATCH_SIZE, EPOCHS = 64, 20


def mlp(activation, initializer, depth):
    layers = [keras.Input((64,))]
    for _ in range(depth):
        layers.append(keras.layers.Dense(64, activation=activation, kernel_initializer=initializer))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers)


def main():
    keras.utils.set_random_seed(0)
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.2, random_state=0)
    steps_per_epoch = -(-len(x_train) // BATCH_SIZE)

    # A learning rate tuned at batch 32, scaled for batch 64, reached by warmup.
    peak = scale_learning_rate(1e-3, batch_size=BATCH_SIZE, base_batch_size=32)
    schedule = WarmupDecaySchedule(
        peak, warmup_steps=steps_per_epoch, decay="cosine", decay_steps=EPOCHS * steps_per_epoch
    )
    model = mlp("relu", "he_normal", depth=4)
    model.compile(keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy", metrics=["accuracy"])

    gradients = GradientNormMonitor()
    activations = ActivationMonitor(probe_data=x_val[:256])
    stopper = EarlyStopping(patience=3, verbose=1)
    csv_path = os.path.join(tempfile.mkdtemp(), "history.csv")
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        batch_size=BATCH_SIZE,
        epochs=EPOCHS,
        verbose=0,
        callbacks=[
            gradients,
            activations,
            stopper,
            LearningRateLogger(),
            keras.callbacks.CSVLogger(csv_path),
        ],
    )

    print(
        f"Healthy MLP on {keras.backend.backend()}, gradient mode {gradients.mode_in_use!r}: "
        f"{len(history.history['loss'])} epochs, best epoch "
        f"{stopper.best_epoch + 1}, stop reason {stopper.stop_reason}."
    )
    print("  grad_norm/global:", [round(v, 3) for v in history.history["grad_norm/global"]])
    print("  learning_rate:   ", [f"{v:.1e}" for v in history.history["learning_rate"]])
    first = gradients.layer_names[0]
    print(f"  dead_fraction/{first}:", [round(v, 2) for v in history.history[f"dead_fraction/{first}"]])
    print(f"  events: {gradients.events + activations.events}")
    print(f"  every value is also in {csv_path}")

    # Glorot & Bengio (2010): 10 sigmoid layers starve the input side.
    model = mlp("sigmoid", "glorot_uniform", depth=10)
    cycle = OneCycleSchedule(1e-2, total_steps=3 * steps_per_epoch)
    model.compile(keras.optimizers.Adam(cycle), "sparse_categorical_crossentropy", metrics=["accuracy"])
    monitor = GradientNormMonitor(on_detect="log")
    model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=3, verbose=0, callbacks=[monitor])
    print("\nDeep sigmoid MLP:")
    print(monitor.summary)


if __name__ == "__main__":
    main()
