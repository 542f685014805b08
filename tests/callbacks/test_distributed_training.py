"""GradientNormMonitor under data-parallel training over 2 logical CPU devices.

TensorFlow: `tf.distribute.MirroredStrategy`; JAX: `keras.distribution.DataParallel`.
The devices must be configured before the backend starts, so each run is a
fresh Python process. The monitor must report the gradient the optimizer
applies, the cross-replica sum, not one replica's share. torch has no Keras
distribution to test here, so the file collects nothing on torch.
"""

import json
import os
import subprocess
import sys

import keras
import pytest

BACKEND = keras.backend.backend()

_SETUP = {
    "tensorflow": """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
scope = strategy.scope()
replicas = strategy.num_replicas_in_sync

def gradients(loss_fn, variables):
    with tf.GradientTape() as tape:
        loss = loss_fn()
    return [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, [v.value for v in variables])]
""",
    "jax": """
import jax
import keras
distribution = keras.distribution.DataParallel(devices=jax.devices())
scope = distribution.scope()
replicas = len(jax.devices())

def gradients(loss_fn, variables):
    def stateless(values):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return loss_fn()
    return [np.asarray(g) for g in jax.grad(stateless)([v.value for v in variables])]
""",
}

_SCRIPT = """
import json
import numpy as np
{setup}
from kerasforge.callbacks import GradientNormMonitor

rng = np.random.default_rng(0)
ids = rng.integers(1, 10, size=(64, 6)).astype("int32")
y = rng.normal(size=(64, 1)).astype("float32")
with scope:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((6,), dtype="int32"),
        keras.layers.Embedding(10, 4, name="embedding"),
        keras.layers.Flatten(),
        keras.layers.Dense(8, activation="tanh", name="hidden"),
        keras.layers.Dense(1, name="head"),
    ])
    model.compile(keras.optimizers.SGD(0.0), "mse")
    monitor = GradientNormMonitor(on_detect="log")
    history = model.fit(ids, y, batch_size=64, epochs=1, shuffle=False, verbose=0, callbacks=[monitor])
variables = model.trainable_variables
grads = gradients(lambda: model.compute_loss(ids, y, model(ids, training=True)), variables)
squares = [float(np.sum(np.square(g.astype("float64")))) for g in grads]
print(json.dumps({{
    "replicas": replicas,
    "mode": monitor.mode_in_use,
    "measured": {{key: values[0] for key, values in history.history.items() if key.startswith("grad_norm/")}},
    "expected": {{
        "embedding": squares[0] ** 0.5, "hidden": (squares[1] + squares[2]) ** 0.5,
        "head": (squares[3] + squares[4]) ** 0.5, "global": sum(squares) ** 0.5,
    }},
}}))
"""


def _run(tmp_path):
    script = tmp_path / "distributed.py"
    script.write_text(_SCRIPT.format(setup=_SETUP[BACKEND]))
    environment = dict(os.environ, KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="3")
    environment["XLA_FLAGS"] = (
        environment.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    ).strip()
    completed = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


if BACKEND in _SETUP:

    @pytest.mark.slow
    def test_data_parallel_norms_are_of_the_summed_gradient_over_two_devices(tmp_path):
        result = _run(tmp_path)
        assert result["replicas"] == 2
        assert result["mode"] == "in_step"
        for key, value in result["expected"].items():
            assert result["measured"][f"grad_norm/{key}"] == pytest.approx(value, rel=1e-4), key
