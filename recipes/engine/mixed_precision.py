"""`training.mixed_precision`: which Keras dtype policy a recipe's model is built under, and only it.

Mixed precision computes each layer in 16 bits while its weights stay float32,
which on a GPU with tensor cores roughly halves the memory of the activations
and speeds up the matrix products. The output layer (with its activation) stays
float32, so the loss and the probabilities are computed in full precision; for
`mixed_float16` Keras's `compile` wraps the optimizer in a `LossScaleOptimizer`,
so small gradients do not underflow float16.

`true` means "where it pays": `mixed_float16` on a GPU. On CPU it falls back to
float32 with one warning. Whether 16 bits pay on a CPU depends on the CPU and
the backend: on this machine's, which has AVX-512 BF16 (most do not),
`mixed_bfloat16` took 0.51x float32's time per epoch on TensorFlow but 2.1x on
JAX (`benchmarks/mixed_precision_cpu.py`, the README's GPU section), and it
costs precision; so `true` keeps CPU runs float32, as reproducible as ever,
and says so. A policy name (`mixed_float16`, `mixed_bfloat16`, `float32`) is
used as given, on any device: the explicit opt-in, or a check on CPU of what
a GPU run will do.

The global policy is set only while the network is built and restored after,
so a later model built in the same process (another trial, variant or test)
is not affected.
"""

import contextlib
import warnings
from collections.abc import Iterator

import keras

from kerasforge.recipes.engine.backend_settings import gpu_available

# What `true` picks on a GPU, and on CPU.
GPU_POLICY = "mixed_float16"
CPU_POLICY = "float32"


def resolve_dtype_policy(setting: bool | str, on_gpu: bool | None = None) -> str:
    """Returns the Keras dtype policy name for a recipe's `training.mixed_precision`.

    Args:
        setting: `training.mixed_precision`: False (float32), True (picked for the
            device) or a policy name, used as given.
        on_gpu: Boolean. Whether the backend sees a GPU. Defaults to asking the
            backend (`gpu_available`).

    Returns:
        A policy name: `"float32"`, `"mixed_float16"` or `"mixed_bfloat16"`.

    Warns:
        UserWarning: once per call when `setting` is True and there is no GPU:
            the model is built in float32.

    Example:

    ```python
    resolve_dtype_policy(True, on_gpu=False)  # "float32", with a warning
    ```
    """
    if setting is False:
        return "float32"
    if isinstance(setting, str):
        return setting
    if on_gpu is None:
        on_gpu = gpu_available()
    if on_gpu:
        return GPU_POLICY
    warnings.warn(
        f"`training.mixed_precision: true`: no GPU visible to the {keras.backend.backend()} backend, "
        f"so the model is built in {CPU_POLICY}: float16 is slow on CPU, and bfloat16 pays only on "
        "some CPUs and backends; set `training.mixed_precision: mixed_bfloat16` to use it anyway",
        stacklevel=2,
    )
    return CPU_POLICY


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Sets Keras's global dtype policy to `name` inside the block, and restores the previous one.

    Layers take the global policy when they are created, so a model built inside
    the block keeps `name` after it.

    Args:
        name: String. A Keras dtype policy name, e.g. `"mixed_float16"`.

    Example:

    ```python
    with dtype_policy("mixed_bfloat16"):
        model = build_network(recipe.model, input_dim=64, output_units=10)
    ```
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
