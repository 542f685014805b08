"""In-step gradient statistics: the gradients the optimizers apply, inside the compiled step.

Each optimizer the model owns (`model.optimizer`, and any optimizer held as
an attribute of the model, as a GAN's `train_step` does) gets its `apply`
wrapped: the wrapper folds the step's per-layer squared norms into two small
non-trainable vector variables (sums and counts, and the max), then applies
the gradients as before. No
second backward pass and no per-step Python beyond what the trainer runs
anyway, on every backend:

* TensorFlow: the ops are traced into the step; under a `tf.distribute`
  strategy the gradients are summed across replicas first, so the norm is
  that of the gradient the optimizer applies, not one replica's.
* JAX: the trainer applies gradients through `optimizer.stateless_apply`,
  where only `optimizer.variables` travel in and come back updated; the
  statistics variable is made one of them while the monitor is attached.
* torch: the step runs eagerly; the ops stay on the device with no host sync.

The wrapped train function is built once per model and kept, so a second
monitored `fit` reuses it instead of tracing again.
"""

from __future__ import annotations

import weakref
from typing import Any

import keras
import numpy as np

from kerasforge import _keras_compat

from ._gradient_statistics import (
    ADDED,
    ROWS,
    SQUARED_ROWS,
    LayerGroups,
    Statistics,
    gradient_backend,
)
from ._gradient_statistics import merge as merge_statistics
from ._gradient_statistics import summarize as summarize_rows

_ATTACHED: weakref.WeakKeyDictionary[Any, InStepStatistics] = weakref.WeakKeyDictionary()


def innermost(optimizer: Any) -> Any:
    """The optimizer that receives unscaled gradients (inside a LossScaleOptimizer)."""
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    return optimizer


def model_optimizers(model: Any) -> list[Any]:
    """`model.optimizer` and every optimizer the model holds as an attribute."""
    found = [] if getattr(model, "optimizer", None) is None else [model.optimizer]
    for value in vars(model).values():
        if isinstance(value, keras.optimizers.Optimizer) and all(value is not f for f in found):
            found.append(value)
    return [innermost(optimizer) for optimizer in found]


class _OptimizerTap:
    """The statistics of the gradients one optimizer applies."""

    def __init__(self, owner: InStepStatistics, optimizer: Any) -> None:
        self.owner = owner
        self.optimizer = optimizer
        self.state: list[Any] | None = None
        self.pending: dict[str, Any] = {}  # steps not yet folded into `state` (torch)
        self._previous_apply = optimizer.__dict__.get("apply")
        self._original_apply = optimizer.apply

        def apply(grads: Any, trainable_variables: Any = None) -> Any:
            self.record(grads, trainable_variables)
            return self._original_apply(grads, trainable_variables)

        self._wrapper = apply

    def create_state(self, width: int) -> None:
        with self.owner.backend.variable_scope(self.owner.model):
            # Two variables: one that a step adds to, and the running max.
            self.state = [
                keras.Variable(
                    np.zeros(rows * width, dtype="float32"),
                    trainable=False,
                    dtype="float32",
                    aggregation="only_first_replica",
                    name=f"kerasforge_gradient_{name}",
                )
                for name, rows in (("sums", ADDED), ("max", 1))
            ]

    def install(self) -> None:
        self.optimizer.apply = self._wrapper
        for variable in self.state or []:
            self.owner.backend.install(self.optimizer, variable)

    def uninstall(self) -> None:
        if self.optimizer.__dict__.get("apply") is self._wrapper:
            if self._previous_apply is None:
                del self.optimizer.apply
            else:
                self.optimizer.apply = self._previous_apply
        for variable in self.state or []:
            self.owner.backend.uninstall(self.optimizer, variable)

    def record(self, grads: Any, trainable_variables: Any) -> None:
        groups = self.owner.ensure_groups()
        if self.state is None:
            return
        if trainable_variables is None:
            trainable_variables = _keras_compat.optimizer_built_variables(self.optimizer)
        pairs = [
            (grad, groups.columns[id(variable)])
            for grad, variable in zip(grads, trainable_variables, strict=True)
            if grad is not None and id(variable) in groups.columns
        ]
        if pairs:
            self._accumulate([grad for grad, _ in pairs], [column for _, column in pairs])

    def _accumulate(self, grads: list[Any], columns: list[int]) -> None:
        # Runs at every step, where a small MLP's whole step is ~150 ops: one
        # reduction per layer (XLA, TensorFlow) or one fused norm into a
        # buffer (torch, folded every few hundred steps), squared norms
        # (square roots and any loss scale applied when read).
        backend = self.owner.backend
        sums, peak = self.state or []
        backend.accumulate(
            sums, peak, backend.reduce_across_replicas(grads), columns, self.owner.groups_width, self.pending
        )

    def read(self) -> Statistics | None:
        if self.state is None:
            return None
        _keras_compat.sync_training_state(self.owner.model)
        self.owner.backend.flush(*self.state, self.pending)
        sums, peak = (np.asarray(array, dtype="float64") for array in self.owner.backend.to_numpy(self.state))
        rows = np.concatenate([sums, peak]).reshape(ROWS, -1)
        scale = getattr(self.optimizer, "loss_scale_factor", None) or 1.0
        rows[SQUARED_ROWS] /= scale * scale
        return summarize_rows(rows)

    def reset(self) -> None:
        self.pending["count"] = 0  # steps of an epoch already read
        for variable in self.state or []:
            # From numpy: `zeros_like` would be a compiled op's dispatch on JAX.
            variable.assign(np.zeros(variable.shape, dtype="float32"))


class InStepStatistics:
    """Accumulates gradient statistics inside the compiled train step.

    One per model, kept between fits with the train function it wrapped. Use
    `attach` at train begin and `detach` at train end. Attaching again without
    a detach (a fit that was interrupted) installs afresh.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.backend = gradient_backend()
        self.groups: LayerGroups | None = None
        self.optimizers = model_optimizers(model)
        self._taps = [_OptimizerTap(self, optimizer) for optimizer in self.optimizers]
        self._installed = False
        self._plain_function: Any = None
        self._monitored_function: Any = None

    @classmethod
    def attach(cls, model: Any) -> InStepStatistics:
        """Installs the statistics for one `fit`, reusing the ones already built."""
        statistics = _ATTACHED.get(model)
        if statistics is None or not statistics._matches(model):
            if statistics is not None:
                statistics._uninstall()
            statistics = cls(model)
            _ATTACHED[model] = statistics
        statistics._install()
        return statistics

    def detach(self) -> None:
        """Undoes `attach`: the model's own train function and optimizers come back."""
        self._uninstall()

    def _matches(self, model: Any) -> bool:
        current = model.train_function
        same_function = current is not None and (
            current is self._plain_function or current is self._monitored_function
        )
        same_optimizers = [id(o) for o in model_optimizers(model)] == [id(o) for o in self.optimizers]
        return same_function and same_optimizers

    def _install(self) -> None:
        self._installed = True
        if self.model.built:
            self.ensure_groups()
        for tap in self._taps:
            tap.install()
        current = self.model.train_function
        if self._monitored_function is not None and current is self._plain_function:
            self.model.train_function = self._monitored_function  # traced by an earlier fit
        elif self._monitored_function is None or current is not self._monitored_function:
            self._plain_function = current
            self.model.make_train_function(force=True)
            self._monitored_function = self.model.train_function

    def _uninstall(self) -> None:
        self._installed = False
        for tap in self._taps:
            tap.uninstall()
        if self.model.train_function is self._monitored_function and self._plain_function is not None:
            self.model.train_function = self._plain_function

    @property
    def names(self) -> list[str] | None:
        return None if self.groups is None else self.groups.names

    @property
    def groups_width(self) -> int:
        return 0 if self.groups is None else self.groups.width

    def ensure_groups(self) -> LayerGroups:
        """Sets up the layer columns and the variables once the model is built.

        On TensorFlow without a distribution strategy Keras builds the model
        only when the train step is first traced; creating the variables
        then is allowed, as Keras does for the model's own weights.
        """
        if self.groups is None:
            self.groups = LayerGroups(self.model)
            for tap in self._taps:
                tap.create_state(self.groups.width)
                if self._installed:
                    for variable in tap.state or []:
                        self.backend.install(tap.optimizer, variable)
        return self.groups

    def start_epoch(self) -> None:
        """Zeroes the statistics, and puts them back among the optimizer's variables (JAX)."""
        for tap in self._taps:
            for variable in tap.state or []:
                self.backend.install(tap.optimizer, variable)
            tap.reset()

    def end_epoch(self) -> None:
        """Takes the statistics out of the optimizer's variables (JAX) once read,
        so a callback that saves the model at the epoch's end (`ModelCheckpoint`,
        after the monitor in the list) saves the optimizer as the user built it."""
        for tap in self._taps:
            for variable in tap.state or []:
                self.backend.uninstall(tap.optimizer, variable)

    def read(self) -> Statistics | None:
        """The epoch's statistics so far, or `None` before the first step."""
        parts = [part for part in (tap.read() for tap in self._taps) if part is not None]
        if not parts:
            return None
        return merge_statistics(parts)
