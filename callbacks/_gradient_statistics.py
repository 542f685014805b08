"""What both gradient collectors share: layer columns, the backend's hooks, the summary.

A collector (`InStepStatistics` or `ProbeStatistics`) keeps, per layer
column plus a last "global" column, four rows of numbers over the steps it
saw in the epoch (`ROWS`): the sum of the finite squared norms, the count of
finite ones and the count of steps that had a gradient for the column (the
three `ADDED` rows, which a step adds to), then the largest finite squared
norm. Squared norms add up exactly across layers, so the global value is
consistent with the layers'. `summarize` turns the rows into the epoch
root-mean-square and max norms and the count of non-finite steps.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import keras
import numpy as np
from keras import ops

from kerasforge import _keras_compat

from ._layer_paths import trainable_variable_paths

SUM, FINITE, SEEN, PEAK = range(4)
ROWS = 4
ADDED = 3  # the first rows, which a step adds to
SQUARED_ROWS = [SUM, PEAK]  # rows of squared norms (the others count steps)
_EPSILON = 1e-12

_BACKEND_MODULES = {
    "tensorflow": "._tensorflow_gradients",
    "jax": "._jax_gradients",
    "torch": "._torch_gradients",
}
SUPPORTED_BACKENDS = tuple(_BACKEND_MODULES)

Statistics = dict[str, Any]


def gradient_backend() -> ModuleType:
    """The module of backend hooks for the running Keras backend (imported on use).

    Raises:
        ValueError: On a backend without gradients (`numpy`).
    """
    backend = keras.backend.backend()
    if backend not in _BACKEND_MODULES:
        raise ValueError(
            f"GradientNormMonitor needs a backend that computes gradients, one of "
            f"{', '.join(SUPPORTED_BACKENDS)}. Received: KERAS_BACKEND={backend!r}"
        )
    return importlib.import_module(_BACKEND_MODULES[backend], __package__)


class LayerGroups:
    """Maps a model's trainable variables to layer columns (see `_layer_paths`).

    Attributes:
        names: Layer paths, one per column, input side first.
        variables: The model's trainable variables.
        columns: `id(variable)` -> column.
        width: Number of columns: one per layer, then the global column.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.backend = gradient_backend()
        self.variables, paths = trainable_variable_paths(model)
        self.names: list[str] = list(dict.fromkeys(paths))
        self.columns = {id(v): self.names.index(p) for v, p in zip(self.variables, paths, strict=True)}
        self.width = len(self.names) + 1
        self.membership = np.zeros((len(self.variables), len(self.names)), dtype="float64")
        for row, variable in enumerate(self.variables):
            self.membership[row, self.columns[id(variable)]] = 1.0

    def _per_layer(self, squares: np.ndarray) -> np.ndarray:
        return np.append(squares @ self.membership, squares.sum())

    def epoch_norms(
        self, before: Sequence[Any] | None, after: Sequence[Any] | None, steps: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-layer weight L2 norms now, then global; and update ratios.

        The update ratio is the per-step ||w_after - w_before|| / ||w_before||,
        per layer, then global, where `steps` training steps ran from `before`
        to `after` (the backend's `snapshot`s; `after=None` is now). Dividing
        by `steps` is exact for one step and an approximation for several
        (`steps_per_execution > 1`). All squared norms come from one call of
        the backend (one compiled call and one small transfer on JAX).

        Returns:
            `(weight_norms, update_ratios)`, the latter `None` without `before`.
        """
        _keras_compat.sync_training_state(self.model)
        now = self.backend.current(self.model)
        if before is None:
            (squares,) = self.backend.squared_norms([(now, None)])
            return np.sqrt(self._per_layer(squares)), None
        now_squares, change_squares, before_squares = (
            self._per_layer(squares)
            for squares in self.backend.squared_norms(
                [(now, None), (now if after is None else after, before), (before, None)]
            )
        )
        ratios = np.sqrt(change_squares) / (np.sqrt(before_squares) + _EPSILON) / steps
        return np.sqrt(now_squares), ratios


def numpy_squared_norms(pairs: Sequence[tuple[Sequence[Any], Sequence[Any] | None]]) -> list[np.ndarray]:
    """For each `(arrays, minus)`, the squared L2 norm of each numpy array (of
    `array - minus` when `minus` is given), in float64."""
    results = []
    for arrays, minus in pairs:
        if minus is not None:
            arrays = [a - b for a, b in zip(arrays, minus, strict=True)]
        results.append(np.array([np.sum(np.square(a, dtype="float64")) for a in arrays], dtype="float64"))
    return results


def step_update(squares: Any, seen: Any) -> tuple[Any, Any]:
    """What one step adds to the `ADDED` rows (flattened), and its finite squares.

    In `keras.ops`, so the in-step collector traces it into the train step.

    Args:
        squares: Squared norms of this step, one per column.
        seen: 1 for the columns this step had a gradient for, else 0.

    Returns:
        `(added, finite_squares)`: a vector of `ADDED` x width to add to the
        rows, and the squares with non-finite ones zeroed, for the max.
    """
    seen = ops.convert_to_tensor(seen, "float32")
    finite = ops.isfinite(squares)
    finite_squares = ops.where(finite, squares, 0.0)
    return ops.concatenate([finite_squares, ops.cast(finite, "float32") * seen, seen], axis=0), finite_squares


def accumulate(sums: Any, peak: Any, squares: Any, columns: Sequence[int]) -> None:
    """Folds one step's per-column `squares` into the two state variables, in `keras.ops`.

    Args:
        sums: Variable of the `ADDED` rows, flattened.
        peak: Variable of the `PEAK` row.
        squares: Squared norms of this step, one per column, the global last.
        columns: The columns this step had a gradient for.
    """
    seen = np.zeros(squares.shape[0], dtype="float32")
    seen[list(columns)] = 1.0
    seen[-1] = 1.0
    added, finite_squares = step_update(squares, seen)
    sums.assign_add(added)
    peak.assign(ops.maximum(peak.value, finite_squares))


def summarize(rows: np.ndarray) -> Statistics:
    """Norm statistics from one collector's `ROWS` x width array."""
    rows = np.asarray(rows, dtype="float64")
    with np.errstate(invalid="ignore"):
        return {
            "mean": np.sqrt(rows[SUM] / np.maximum(rows[FINITE], 1.0)),
            "max": np.sqrt(rows[PEAK]),
            "non_finite": (rows[SEEN] - rows[FINITE]).astype(int),
            "steps": int(rows[SEEN][-1]),
            "present": rows[SEEN] > 0,
        }


def merge(parts: list[Statistics]) -> Statistics:
    """Statistics of several optimizers' gradients (a GAN's two, say) as one.

    Each layer is updated by one optimizer, so its column comes from the
    optimizer that saw it. The global column is the norm of all gradients of
    a train step, when each optimizer applies once per step: squared means
    add up; the maxima add up too (an upper bound).
    """
    if len(parts) == 1:
        return parts[0]
    present = np.any([p["present"] for p in parts], axis=0)
    merged: Statistics = {"present": present, "steps": max(p["steps"] for p in parts)}
    for key in ("mean", "max", "non_finite"):
        stacked = np.stack([np.where(p["present"], p[key], 0) for p in parts])
        merged[key] = stacked.max(axis=0)
        if key != "non_finite":
            merged[key][-1] = np.sqrt(np.sum(np.square(stacked[:, -1])))
    return merged
