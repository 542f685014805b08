"""Seeding and thread limits for reproducible runs, on each Keras backend."""

import os

import keras

# XLA's CPU client reads its thread pool size from this flag when JAX first makes a device.
_JAX_THREADS_FLAG = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}"


def set_global_seed(seed: int) -> None:
    """Seeds Python, NumPy and the backend, and makes the backend's ops deterministic.

    `keras.utils.set_random_seed` seeds Python, NumPy, TensorFlow (when
    installed, for `tf.data` shuffles), torch (on the torch backend) and
    Keras's own seed generator, from which JAX's keys are drawn. What it leaves
    out, per backend:

    * TensorFlow: `enable_op_determinism`, since some kernels reduce in a
      thread-dependent order.
    * torch: `use_deterministic_algorithms`, the same for torch's kernels
      (`warn_only`, so an op with no deterministic kernel warns instead of
      stopping a run).
    * JAX: nothing: its random numbers come only from explicit keys, and XLA
      on CPU is deterministic.

    The same recipe and seed on the same machine and backend then give the
    same history.

    Args:
        seed: Integer. The seed.

    Example:

    ```python
    set_global_seed(7)
    ```
    """
    keras.utils.set_random_seed(seed)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True, warn_only=True)


def limit_threads(threads: int) -> None:
    """Caps the backend's thread pools at `threads`, before its first op.

    Several training processes on one machine each take their share of the
    cores this way, instead of all of them each. TensorFlow: the intra- and
    inter-op pools. torch: its intra-op pool (the inter-op pool can only be set
    once, before any parallel work, so it is set only when still possible).
    JAX: XLA's CPU thread pool, through `XLA_FLAGS`, which only takes effect
    when called before JAX's first computation in the process.

    Args:
        threads: Integer >= 1. Threads per pool.

    Example:

    ```python
    limit_threads(1)  # in each of two worker processes on a two-core machine
    ```
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    elif backend == "torch":
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:
            pass  # parallel work already started in this process: the pool is fixed by now
    elif backend == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        if "intra_op_parallelism_threads" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {_JAX_THREADS_FLAG.format(threads=threads)}".strip()


def backend_random_state() -> dict:
    """The backend's own global random state, which a checkpoint saves beside Python's and NumPy's.

    Only torch has one that training draws from: Keras's torch backend runs a
    `Dropout` without an explicit seed through `torch.nn.functional.dropout`,
    on torch's global generator, not through the layer's `SeedGenerator`
    variable. TensorFlow and JAX draw only from `SeedGenerator` variables
    (saved with the model's variables): an empty dict.

    Returns:
        A picklable dict for `set_backend_random_state`.
    """
    if keras.backend.backend() != "torch":
        return {}
    import torch

    state = {"torch": torch.get_rng_state().numpy()}
    if torch.cuda.is_available():
        state["torch_cuda"] = [generator.numpy() for generator in torch.cuda.get_rng_state_all()]
    return state


def set_backend_random_state(state: dict) -> None:
    """Restores what `backend_random_state` returned (in a process of the same backend)."""
    if "torch" not in state:
        return
    import torch

    torch.set_rng_state(torch.from_numpy(state["torch"]))
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.from_numpy(generator) for generator in state["torch_cuda"]])
