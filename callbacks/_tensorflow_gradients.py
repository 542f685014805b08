"""TensorFlow's part of the gradient statistics; imported only on that backend."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import tensorflow as tf

from ._gradient_statistics import accumulate as fold_step


def _dense(gradient: Any) -> Any:
    if isinstance(gradient, tf.IndexedSlices):
        # An Embedding's gradient lists one row per looked-up id, repeated ids
        # included: rows of the same id add up before the norm is taken.
        gradient = tf.math.unsorted_segment_sum(gradient.values, gradient.indices, gradient.dense_shape[0])
    return gradient if gradient.dtype == tf.float32 else tf.cast(gradient, tf.float32)


def column_squares(gradients: Sequence[Any], columns: Sequence[int], width: int) -> Any:
    """Squared L2 norms summed per column (`columns[i]` for `gradients[i]`), then all in the last.

    `tf.nn.l2_loss` is one fused op per gradient (half the squared norm) and
    one segment sum gives every column and the global value at once.
    """
    halves = [tf.nn.l2_loss(_dense(gradient)) for gradient in gradients]
    segments = list(columns) + [width - 1] * len(halves)
    return 2.0 * tf.math.unsorted_segment_sum(tf.stack(halves + halves), segments, width)


def accumulate(sums: Any, peak: Any, gradients: Sequence[Any], columns: Sequence[int], width: int) -> None:
    """Folds one step's gradients into the statistics variables (traced into the step)."""
    fold_step(sums, peak, column_squares(gradients, columns, width), columns)


def reduce_across_replicas(gradients: list[Any]) -> list[Any]:
    """The cross-replica sum the optimizer applies, inside a multi-replica step.

    Under `tf.distribute` each replica's loss is already divided by the number
    of replicas, so the sum is the gradient of the whole global batch.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return gradients
    return list(context.all_reduce(tf.distribute.ReduceOp.SUM, gradients))


@contextlib.contextmanager
def variable_scope(model: Any) -> Iterator[None]:
    """Creates variables the way the model's were (mirrored under a strategy)."""
    with model.distribute_strategy.scope():
        yield


def compile_function(function: Callable[..., Any]) -> Callable[..., Any]:
    return tf.function(function, reduce_retracing=True)


def value_and_gradients(loss_function: Callable[[list[Any]], Any], values: list[Any]) -> list[Any]:
    """Gradients of `loss_function(values)` with respect to `values`."""
    with tf.GradientTape() as tape:
        tape.watch(values)
        loss = loss_function(values)
    return list(tape.gradient(loss, values))


def install(optimizer: Any, state: Any) -> None:
    """Nothing to do: a traced step reads and writes the variable directly."""


def uninstall(optimizer: Any, state: Any) -> None:
    """Nothing to undo."""


def to_numpy(variables: Sequence[Any]) -> list[Any]:
    """Numpy copies of Keras variables' values."""
    return [variable.value.numpy().copy() for variable in variables]
