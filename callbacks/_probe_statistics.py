"""Probe gradient statistics: one forward and backward pass on a fixed batch, on request.

The fallback for a `train_step` whose gradients never reach an optimizer's
`apply`. The pass is stateless on every backend: the model runs with
`training=False` (no dropout, no BatchNormalization update) through
`model.stateless_call`, the loss through `model.stateless_compute_loss`
(regularization included, the model's metrics untouched), and the
gradient comes from the backend's own autodiff (`tf.GradientTape`,
`jax.grad`, `torch.autograd.grad`). The compiled pass is kept per model, so
a second `fit` does not trace it again.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
from keras import ops

from kerasforge import _keras_compat

from ._gradient_statistics import (
    ADDED,
    PEAK,
    ROWS,
    SEEN,
    LayerGroups,
    Statistics,
    gradient_backend,
    step_update,
)
from ._gradient_statistics import summarize as summarize_rows

_COMPILED: weakref.WeakKeyDictionary[Any, tuple[tuple[int, ...], Any]] = weakref.WeakKeyDictionary()


class ProbeStatistics:
    """Measures gradients on `probe_data`, a tuple `(x, y)` or `(x, y, sample_weight)`."""

    def __init__(self, model: Any, probe_data: Sequence[Any]) -> None:
        self.model = model
        self.backend = gradient_backend()
        self._data = tuple(probe_data) + (None,) * (3 - len(probe_data))
        self.groups: LayerGroups | None = None
        self._rows: np.ndarray | None = None

    @property
    def names(self) -> list[str] | None:
        return None if self.groups is None else self.groups.names

    def _compiled(self, groups: LayerGroups) -> Any:
        key = tuple(id(v) for v in groups.variables)
        cached = _COMPILED.get(self.model)
        if cached is None or cached[0] != key:
            columns = [groups.columns[id(v)] for v in groups.variables]
            width = groups.width
            model, backend = self.model, self.backend
            call_arguments = {"training": False} if _keras_compat.call_takes_training(model) else {}

            def squared_norms(
                trainable: Any, non_trainable: Any, metrics: Any, x: Any, y: Any, weight: Any
            ) -> Any:
                def loss(values: list[Any]) -> Any:
                    y_pred = model.stateless_call(values, non_trainable, x, **call_arguments)[0]
                    return model.stateless_compute_loss(
                        values, non_trainable, metrics, x=x, y=y, y_pred=y_pred, sample_weight=weight
                    )[0]

                gradients = backend.value_and_gradients(loss, list(trainable))
                return backend.column_squares(gradients, columns, width)

            cached = (key, backend.compile_function(squared_norms))
            _COMPILED[self.model] = cached
        return cached[1]

    def probe(self) -> bool:
        """Runs one pass on the probe batch and folds it into the epoch's rows.

        Returns:
            Whether it ran: not before the model is built (a subclassed model
            on TensorFlow is built by its first step).
        """
        if not self.model.built or not self.model.trainable_variables:
            return False
        if self.groups is None or self._rows is None:
            self.groups = LayerGroups(self.model)
            self._rows = np.zeros((ROWS, self.groups.width))
        rows = self._rows
        _keras_compat.sync_training_state(self.model)
        values = [[v.value for v in variables] for variables in self._variable_lists()]
        squares = self._compiled(self.groups)(*values, *self._data)
        seen = np.ones(self.groups.width, dtype="float32")
        added, finite_squares = (
            np.asarray(ops.convert_to_numpy(t), "float64") for t in step_update(squares, seen)
        )
        rows[:ADDED] += added.reshape(ADDED, -1)
        rows[PEAK] = np.maximum(rows[PEAK], finite_squares)
        return True

    def _variable_lists(self) -> tuple[list[Any], list[Any], list[Any]]:
        model = self.model
        return (
            list(model.trainable_variables),
            list(model.non_trainable_variables),
            list(model.metrics_variables),
        )

    def start_epoch(self) -> None:
        if self._rows is not None:
            self._rows[:] = 0.0

    def read(self) -> Statistics | None:
        if self._rows is None or not self._rows[SEEN][-1]:
            return None
        return summarize_rows(self._rows)
