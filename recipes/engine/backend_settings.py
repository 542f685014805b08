"""What differs between Keras backends when a recipe is compiled and fitted: one module, one table.

Keras 3 runs the same recipe on TensorFlow, JAX and torch, but their trainers
differ in what they accept and what is fast:

* torch's trainer runs exactly one step per call (`steps_per_execution` must
  be 1); TensorFlow and JAX run up to `MAX_STEPS_PER_EXECUTION` in one
  compiled call, which is most of a recipe's speed on small batches.
* `jit_compile`: Keras's `"auto"` means XLA on JAX and plain graphs on
  TensorFlow and eager on torch. The defaults below were picked from
  `benchmarks/backends.py` (see the README's "Backends" section).
* Only TensorFlow's trainer runs a `tf.data` pipeline inside its compiled
  call; JAX's and torch's read one batch per eager TensorFlow call, so there
  in-memory rows are fed as NumPy batches (`PreparedData.dataset`).
"""

from dataclasses import dataclass
from pathlib import Path

import keras

from kerasforge._keras_compat import compile_config_written_as
from kerasforge.errors import RecipeError
from kerasforge.recipes.schema.recipe import Recipe

# Keras spends most of a small-batch step dispatching into the graph; running
# this many updates per call amortises that (see benchmarks/recipe_speed.py).
MAX_STEPS_PER_EXECUTION = 32


@dataclass(frozen=True)
class BackendFacts:
    """What a recipe needs to know of one Keras backend.

    Attributes:
        max_steps_per_execution: Integer. The most updates one compiled call
            may run; torch's trainer takes only 1.
        jit_compile: `"auto"` or a boolean passed to `Model.compile`.
        reads_tf_data_in_graph: Boolean. The trainer runs a `tf.data` pipeline
            inside its compiled call. Otherwise it reads one batch per eager
            TensorFlow call and converts it: on JAX an epoch of `digits_mlp`
            took 10x as long as fed NumPy slices (`EpochArrays`).
    """

    max_steps_per_execution: int
    jit_compile: bool | str
    reads_tf_data_in_graph: bool


BACKEND_FACTS = {
    "tensorflow": BackendFacts(MAX_STEPS_PER_EXECUTION, "auto", True),
    "jax": BackendFacts(MAX_STEPS_PER_EXECUTION, "auto", False),
    "torch": BackendFacts(1, False, False),
}


def backend_facts(backend: str | None = None) -> BackendFacts:
    """Returns the `BackendFacts` of a Keras backend.

    Args:
        backend: String, a name of `BACKEND_FACTS`. Defaults to the backend
            this process runs (`keras.backend.backend()`).

    Raises:
        RecipeError: the backend is one kerasforge has not been tried on
            (e.g. `numpy`, which cannot train, or `openvino`).
    """
    backend = backend or keras.backend.backend()
    if backend not in BACKEND_FACTS:
        raise RecipeError(
            f"KERAS_BACKEND={backend!r} cannot train recipes (it has no training loop kerasforge "
            f"was tested on); use one of: {', '.join(BACKEND_FACTS)}"
        )
    return BACKEND_FACTS[backend]


def _in_mirrored_scope() -> bool:
    import tensorflow as tf

    return tf.distribute.has_strategy()


def resolve_steps_per_execution(recipe: Recipe, updates: int, backend: str | None = None) -> int:
    """Returns the recipe's `steps_per_execution` for this backend, picking one for `auto`.

    Args:
        recipe: A validated recipe.
        updates: Integer. Updates per epoch.
        backend: String. Defaults to the backend this process runs.

    Returns:
        `training.steps_per_execution`, or for `auto` the number of updates
        per epoch capped at what the backend runs in one call.

    Raises:
        RecipeError: the recipe asks for more steps per call than the backend
            can run (torch runs one).
    """
    setting = recipe.training.steps_per_execution
    backend = backend or keras.backend.backend()
    most = backend_facts(backend).max_steps_per_execution
    why = f"the {backend} backend runs"
    if backend == keras.backend.backend() == "tensorflow" and _in_mirrored_scope():
        # Keras 3.15's multi-step loop fails under MirroredStrategy on TF 2.21 ("You must feed a
        # value for placeholder tensor ... while/cond"), in plain Keras too: one step per call.
        most, why = 1, "under training.distribute (MirroredStrategy), TensorFlow runs"
    if setting == "auto":
        return max(1, min(most, updates))
    if setting > most:
        raise RecipeError(
            f"`training.steps_per_execution`: {why} at most "
            f"{most} step(s) per call. Received: {setting}; use `auto` or a value <= {most}"
        )
    return setting


def compile_options(recipe: Recipe, updates: int, backend: str | None = None) -> dict:
    """Returns the backend-dependent keyword arguments of `Model.compile` for a recipe.

    Args:
        recipe: A validated recipe; `training.jit_compile: auto` takes the
            backend's default from `BACKEND_FACTS`.
        updates: Integer. Updates per epoch.
        backend: String. Defaults to the backend this process runs.

    Returns:
        A dict with `steps_per_execution` and `jit_compile`.

    Raises:
        RecipeError: see `resolve_steps_per_execution`.

    Example:

    ```python
    model.compile(optimizer="adam", loss="mse", **compile_options(recipe, updates=40))
    ```
    """
    setting = recipe.training.jit_compile
    return {
        "steps_per_execution": resolve_steps_per_execution(recipe, updates, backend),
        "jit_compile": backend_facts(backend).jit_compile if setting == "auto" else setting,
    }


def save_model(model: keras.Model, path: str | Path) -> None:
    """Saves `model` so that it loads, compiled, on every backend.

    The file records the compile arguments with `steps_per_execution=1` and
    `jit_compile="auto"`: a model trained on JAX at 32 steps per call would
    otherwise fail to load on torch, and one trained on torch (eager) would be
    fitted further without XLA on JAX. Whoever trains it further picks their own.
    The optimizer is recorded by its public name (`keras.optimizers.Adam`), not
    by the backend's own class (and so is a `LossScaleOptimizer`'s inner one): a
    torch-trained file that names
    `keras.src.backend.torch.optimizers` makes a TensorFlow process import torch
    after TensorFlow, which crashes it.

    Args:
        model: A `keras.Model`, compiled or not.
        path: Where to write it (`.keras`).

    Example:

    ```python
    save_model(model, "run/model.keras")
    ```
    """
    neutral: dict = {"steps_per_execution": 1, "jit_compile": "auto"}
    optimizer = _public_optimizer_config(getattr(model, "optimizer", None))
    if optimizer is not None:
        neutral["optimizer"] = optimizer
    with compile_config_written_as(model, **neutral):
        model.save(path)


def _public_optimizer_config(optimizer) -> dict | None:
    """An optimizer serialized under its public `keras.optimizers` name, or None if it has none.

    A `LossScaleOptimizer` (`mixed_float16`) holds its inner optimizer's config,
    which names the backend's own class too: that one is made public as well.
    """
    public_name = type(optimizer).__name__
    if not (isinstance(optimizer, keras.optimizers.Optimizer) and hasattr(keras.optimizers, public_name)):
        return None
    config = optimizer.get_config()
    inner = _public_optimizer_config(getattr(optimizer, "inner_optimizer", None))
    if inner is not None:
        config["inner_optimizer"] = inner
    return {
        "module": "keras.optimizers",
        "class_name": public_name,
        "config": config,
        "registered_name": None,
    }


def gpu_available(backend: str | None = None) -> bool:
    """Whether the backend this process runs sees a GPU (for `training.mixed_precision: true`).

    Args:
        backend: String. Defaults to the backend this process runs; it must be the one loaded,
            since each is asked through its own API (torch has no `keras.distribution`).

    Returns:
        True when TensorFlow lists a physical GPU, JAX's default platform is a GPU, or
        `torch.cuda.is_available()`.
    """
    backend = backend or keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() in ("gpu", "cuda", "rocm")
    if backend == "torch":
        import torch

        return bool(torch.cuda.is_available())
    return False
