"""JAX's part of the gradient statistics; imported only on that backend."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerasforge import _keras_compat

from ._gradient_statistics import accumulate as fold_step


def column_squares(gradients: Sequence[Any], columns: Sequence[int], width: int) -> Any:
    """Squared L2 norms summed per column (`columns[i]` for `gradients[i]`), then all in the last.

    One reduction per column over its gradients laid end to end: XLA fuses
    the concatenation into the reduction, so a layer costs one kernel
    whatever its number of weights, and no scatter is needed. XLA on CPU
    pays microseconds per kernel, next to a small model's ~100 us step: the
    earlier form (a dot product per gradient, then a segment sum) added ~27
    kernels to a 4-layer MLP's step and 50-70% to its time; this one adds
    ~13 and ~5%.
    """
    by_column: dict[int, list[Any]] = {}
    for gradient, column in zip(gradients, columns, strict=True):
        by_column.setdefault(column, []).append(gradient.astype(jnp.float32).ravel())
    zero = jnp.zeros((), jnp.float32)
    per_column = [zero] * (width - 1)
    for column, parts in by_column.items():
        flat = parts[0] if len(parts) == 1 else jnp.concatenate(parts)
        per_column[column] = jnp.sum(flat * flat)
    stacked = jnp.stack(per_column)
    return jnp.concatenate([stacked, jnp.sum(stacked)[None]])


def accumulate(
    sums: Any, peak: Any, gradients: Sequence[Any], columns: Sequence[int], width: int, pending: dict
) -> None:
    """Folds one step's gradients into the statistics variables (traced into the step)."""
    fold_step(sums, peak, column_squares(gradients, columns, width), columns)


def flush(sums: Any, peak: Any, pending: dict) -> None:
    """Nothing to do: each step folds its own statistics (see the torch module)."""


def reduce_across_replicas(gradients: list[Any]) -> list[Any]:
    """Identity: under `keras.distribution` the gradient of the global batch
    is what `jax.grad` returns; XLA inserts the reduction itself.
    """
    return gradients


@contextlib.contextmanager
def variable_scope(model: Any) -> Iterator[None]:
    """Nothing to enter: a variable takes the active `keras.distribution`'s layout."""
    yield


def compile_function(function: Callable[..., Any]) -> Callable[..., Any]:
    return jax.jit(function)


def value_and_gradients(loss_function: Callable[[list[Any]], Any], values: list[Any]) -> list[Any]:
    """Gradients of `loss_function(values)` with respect to `values`."""
    return list(jax.grad(loss_function)(values))


def install(optimizer: Any, state: Any) -> None:
    """Makes the statistics an optimizer variable: the JAX trainer applies
    gradients through the optimizer's stateless path, and only
    `optimizer.variables` travel through it and come back updated.
    """
    _keras_compat.track_optimizer_variable(optimizer, state)


def uninstall(optimizer: Any, state: Any) -> None:
    """Takes the statistics out of `optimizer.variables`, so a saved model or a
    later fit without the monitor sees the optimizer as the user built it.
    """
    _keras_compat.untrack_optimizer_variable(optimizer, state)


def to_numpy(variables: Sequence[Any]) -> list[Any]:
    """Numpy copies of Keras variables' values, in one transfer (the trainer donates its buffers)."""
    return [array.copy() for array in jax.device_get([variable.value for variable in variables])]


_copy = jax.jit(lambda values: [jnp.copy(value) for value in values])


def snapshot(model: Any) -> list[Any]:
    """Device copies of the model's trainable weights now, dispatched without
    waiting for the steps in flight (a host copy would stall the pipeline of
    steps the trainer dispatches ahead); `squared_norms` reads them at the epoch's end."""
    return _copy(_keras_compat.trainable_values(model))


def current(model: Any) -> list[Any]:
    """The model's trainable weights now, for `squared_norms` (the state is synced: no copy)."""
    return _keras_compat.trainable_values(model)


@jax.jit
def _pair_squares(pairs: list[tuple[list[Any], list[Any] | None]]) -> list[Any]:
    def squares(arrays: list[Any]) -> Any:
        return jnp.stack([jnp.sum(jnp.square(array.astype(jnp.float32))) for array in arrays])

    return [
        squares(arrays if minus is None else [a - b for a, b in zip(arrays, minus, strict=True)])
        for arrays, minus in pairs
    ]


def squared_norms(pairs: Sequence[tuple[Sequence[Any], Sequence[Any] | None]]) -> list[np.ndarray]:
    """For each `(arrays, minus)`, the squared L2 norm of each array (of `array -
    minus` when `minus` is given): one compiled call on the device and one
    transfer of small vectors, instead of every weight."""
    results = jax.device_get(_pair_squares([(list(a), None if m is None else list(m)) for a, m in pairs]))
    return [np.asarray(result, dtype="float64") for result in results]
