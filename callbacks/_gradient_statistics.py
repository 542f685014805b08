"""Per-layer gradient statistics for `GradientNormMonitor`.

Two collectors share one interface (`start_epoch`, `read`, `close`):

* `InStepStatistics` measures the gradients the optimizer really applies. It
  wraps the optimizer's `apply` so the compiled train step also folds each
  step's per-layer norms into a few small non-trainable vector variables
  (one update per statistic, not per layer): no second backward pass and no
  per-step Python.
* `ProbeStatistics` runs one extra forward and backward pass on a fixed batch
  when asked to. It is the portable fallback.

Both report, per layer column plus a last "global" column: the epoch's
root-mean-square, max and last gradient L2 norm over the steps seen (squared
norms are accumulated, so the global value is exactly consistent with the
layers') and the count of steps with a non-finite norm.
The update-to-weight ratio is sampled once per epoch from Python (see
`_LayerGroups.update_ratios`): measuring it at every step costs two copies of
every weight per step, which took the in-step overhead to ~40% on the
benchmark's 3x128 MLP.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

# Rows of the state of squared norms that `_summarize` reads.
_SUM, _MAX, _LAST, _FINITE, _STEPS = range(5)
_EPSILON = 1e-12


class _LayerGroups:
    """Maps a model's trainable variables to the layers that own them.

    The owner is the variable's path without its last part and without the
    model's own name, so a nested model gives "encoder/dense" and a shared
    layer gives one group. Frozen layers and BatchNormalization moving
    statistics are not trainable variables, so they never appear. Set up
    lazily: without a distribution strategy, Keras builds a model only when
    the train step is first traced, after `on_train_begin`.
    """

    names: list[str] | None = None  # None until the groups are set up
    columns: dict[int, int]
    variables: list[Any]
    membership: np.ndarray
    present: np.ndarray

    def _set_up_groups(self, model: Any) -> None:
        self._names: list[str] = []
        self.columns = {}
        self.names = self._names
        self.variables = list(model.trainable_variables)
        prefix = model.name + "/"
        for variable in self.variables:
            owner = variable.path.rpartition("/")[0] or model.name
            if owner.startswith(prefix):
                owner = owner[len(prefix) :]
            if owner not in self._names:
                self._names.append(owner)
            self.columns[id(variable)] = self._names.index(owner)
        self.membership = np.zeros((len(self.variables), len(self._names)), dtype="float32")
        for row, variable in enumerate(self.variables):
            self.membership[row, self.columns[id(variable)]] = 1.0
        self.present = np.zeros(len(self._names) + 1, dtype=bool)
        self.present[-1] = True

    @property
    def layers(self) -> list[str]:
        """The layer names, or an empty list before the groups are set up."""
        return self.names or []

    def snapshot(self) -> list[np.ndarray]:
        """The trainable weights now, as numpy arrays."""
        return [v.numpy() for v in self.variables]

    def norms(self, arrays: list[np.ndarray]) -> np.ndarray:
        """Per-layer L2 norms of `arrays` (one per variable), then global."""
        squares = np.array([np.sum(np.square(a, dtype="float64")) for a in arrays])
        return np.sqrt(np.append(squares @ self.membership, squares.sum()))

    def update_ratios(self, before: list[np.ndarray], steps: int) -> np.ndarray:
        """Per-step ||w_now - w_before|| / ||w_before||, per layer, then global.

        `steps` training steps ran since `before`; the change is divided by
        it, which is exact for one step and an approximation for several
        (`steps_per_execution > 1`).
        """
        change = self.norms([a - b for a, b in zip(self.snapshot(), before, strict=True)])
        return change / (self.norms(before) + _EPSILON) / steps


def _squared_norm(value: Any) -> Any:
    values = getattr(value, "values", value)  # tf.IndexedSlices keep .values
    return ops.sum(ops.square(ops.cast(values, "float32")))


def _norms_per_layer(squares: list[Any], membership: np.ndarray) -> Any:
    squares = ops.stack(squares)
    per_layer = ops.matmul(ops.expand_dims(squares, 0), membership)[0]
    total = ops.expand_dims(ops.sum(squares), 0)
    return ops.sqrt(ops.concatenate([per_layer, total], axis=0))


class InStepStatistics(_LayerGroups):
    """Accumulates gradient statistics inside the compiled train step.

    Gradients are read where they enter `optimizer.apply`, so they are the
    gradients of the real training batches, before the optimizer's own
    `clipnorm`/`clipvalue`/`global_clipnorm` clipping: an explosion stays
    visible even when clipping hides it from the weights.
    """

    def __init__(self, model: Any) -> None:
        optimizer = model.optimizer
        self._optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        self._model = model
        self._state: list[Any] | None = None
        stale = getattr(self._optimizer.apply, "_kerasforge_owner", None)
        if stale is not None:
            stale.close()  # left behind by a fit that raised
        self._previous_apply = self._optimizer.__dict__.get("apply")
        self._original_apply = self._optimizer.apply

        def apply(grads: Any, trainable_variables: Any = None) -> Any:
            return self._apply(grads, trainable_variables)

        apply._kerasforge_owner = self  # type: ignore[attr-defined]
        self._wrapper = apply
        self._optimizer.apply = apply
        model.make_train_function(force=True)

    def _apply(self, grads: Any, trainable_variables: Any = None) -> Any:
        if self._state is None:
            # First trace: the model is built by now. Creating a variable is
            # allowed here, as Keras does for the model's own weights.
            import keras

            self._set_up_groups(self._model)
            width = len(self._names) + 1
            self._state = [
                keras.Variable(
                    np.zeros(shape, dtype="float32"),
                    trainable=False,
                    name=f"kerasforge_gradient_{row}",
                )
                for row, shape in (
                    ("sums", 2 * width + 1),  # squares, finite count, steps
                    ("max", width),
                    ("last", width),
                )
            ]
        grads = list(grads)
        if trainable_variables is None:
            variables = getattr(self._optimizer, "_trainable_variables", [])
        else:
            trainable_variables = list(trainable_variables)
            variables = trainable_variables
        pairs = [
            (g, v, self.columns[id(v)])
            for g, v in zip(grads, variables, strict=True)
            if g is not None and id(v) in self.columns
        ]
        if pairs:
            self._accumulate(pairs)
        return self._original_apply(grads, trainable_variables)

    def _accumulate(self, pairs: list[tuple[Any, Any, int]]) -> None:
        # These ops run at every step, inside the loop of steps_per_execution
        # steps, where a small MLP's whole step is ~150 ops: each one shows
        # (~1.5% here at steps_per_execution=32). So: one fused l2_loss per
        # variable, one segment sum giving every layer and the global value
        # at once, squared norms (no sqrt; the factor 2 of l2_loss, any loss
        # scale and the square roots are applied when read), and three
        # variable updates per step.
        import tensorflow as tf

        halves = []
        for grad, _, column in pairs:
            grad = getattr(grad, "values", grad)  # tf.IndexedSlices
            if grad.dtype != tf.float32:
                grad = tf.cast(grad, tf.float32)
            halves.append(tf.nn.l2_loss(grad))
            self.present[column] = True
        width = len(self._names) + 1
        segments = [column for _, _, column in pairs] + [width - 1] * len(pairs)
        squares = tf.math.unsorted_segment_sum(tf.stack(halves + halves), segments, width)
        finite = tf.math.is_finite(squares)
        finite_squares = tf.where(finite, squares, 0.0)
        sums, peak, last = self._state or []
        sums.assign_add(tf.concat([finite_squares, tf.cast(finite, tf.float32), [1.0]], 0))
        peak.assign(tf.maximum(peak.value, finite_squares))
        last.assign(squares)

    def start_epoch(self) -> None:
        for variable in self._state or []:
            variable.assign(ops.zeros_like(variable))

    def read(self) -> dict[str, Any] | None:
        if self._state is None:
            return None
        sums, peak, last = [v.numpy() for v in self._state]
        width = len(self._names) + 1
        scale = self._optimizer.loss_scale_factor or 1.0
        to_squares = 2.0 / (scale * scale)
        return _summarize(
            np.stack(
                [
                    sums[:width] * to_squares,
                    peak * to_squares,
                    last * to_squares,
                    sums[width:-1],
                    np.full(width, sums[-1]),
                ]
            )
        )

    def close(self) -> None:
        if self._optimizer.__dict__.get("apply") is self._wrapper:
            if self._previous_apply is None:
                del self._optimizer.apply
            else:
                self._optimizer.apply = self._previous_apply
            self._model.make_train_function(force=True)


class ProbeStatistics(_LayerGroups):
    """Measures gradients on a fixed batch when asked to.

    The probe pass calls the model with `training=False` (no dropout, no
    BatchNormalization statistic updates) and `model.compute_loss`; for a
    multi-output model that also feeds its per-output loss metrics.
    TensorFlow backend only.
    """

    def __init__(self, model: Any, probe_data: tuple[Any, ...] | list[Any]) -> None:
        import tensorflow as tf

        self._model = model
        self._data = tuple(probe_data) + (None,) * (3 - len(probe_data))
        self._gradient_norms: Any = tf.function(self._compute_norms)
        self._probe_state: np.ndarray | None = None

    def _compute_norms(self, x: Any, y: Any, sample_weight: Any) -> Any:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            y_pred = self._model(x, training=False)
            loss = self._model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
        grads = tape.gradient(loss, self.variables)
        squares = [ops.zeros(()) if g is None else _squared_norm(g) for g in grads]
        return _norms_per_layer(squares, self.membership)

    def start_epoch(self) -> None:
        if self._probe_state is not None:
            self._probe_state[:] = 0.0

    def probe(self) -> None:
        if self.names is None:
            self._set_up_groups(self._model)
            self.present[:] = True
            self._probe_state = np.zeros((5, len(self._names) + 1))
        norms = ops.convert_to_numpy(self._gradient_norms(*self._data))
        squares = np.square(norms.astype("float64"))
        finite = np.isfinite(squares)
        finite_squares = np.where(finite, squares, 0.0)
        state = self._probe_state
        if state is None:
            return
        state[_SUM] += finite_squares
        state[_MAX] = np.maximum(state[_MAX], finite_squares)
        state[_LAST] = squares
        state[_FINITE] += finite
        state[_STEPS] += 1.0

    def read(self) -> dict[str, Any] | None:
        return None if self._probe_state is None else _summarize(self._probe_state)

    def close(self) -> None:
        self._gradient_norms = None


def _summarize(state: np.ndarray) -> dict[str, Any]:
    """Norm statistics from a state of summed, max and last squared norms."""
    steps = float(state[_STEPS][0])
    with np.errstate(invalid="ignore"):
        return {
            "mean": np.sqrt(state[_SUM] / np.maximum(state[_FINITE], 1.0)),
            "max": np.sqrt(state[_MAX]),
            "last": np.sqrt(state[_LAST]),
            "non_finite": (steps - state[_FINITE]).astype(int),
            "steps": int(steps),
        }
