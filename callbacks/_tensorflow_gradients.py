"""TensorFlow's part of the gradient statistics; imported only on that backend."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import tensorflow as tf

from ._gradient_statistics import accumulate as fold_step
from ._gradient_statistics import numpy_squared_norms


def _summed_rows(gradient: Any) -> Any:
    """A gradient with the norm of its dense form, without building the dense form.

    An Embedding's gradient (`tf.IndexedSlices`) lists one row per looked-up
    id, repeated ids included; the rows of one id add up in the dense
    gradient. Sorting the ids and summing each run of equal ones gives a
    tensor of (looked-up rows x width), whose norm is the dense one's,
    instead of a (vocabulary x width) one. Every shape is static, as XLA
    (`jit_compile=True`) needs, unlike `tf.unique`'s.
    """
    if isinstance(gradient, tf.IndexedSlices):
        indices = tf.reshape(gradient.indices, [-1])
        values = tf.reshape(gradient.values, tf.concat([[-1], tf.shape(gradient.values)[1:]], 0))
        order = tf.argsort(indices)
        ids = tf.gather(indices, order)
        starts = tf.concat([tf.ones([1], tf.int32), tf.cast(ids[1:] != ids[:-1], tf.int32)], 0)
        runs = tf.cumsum(starts) - 1  # the run of equal ids each sorted row belongs to
        gradient = tf.math.unsorted_segment_sum(tf.gather(values, order), runs, tf.shape(indices)[0])
    return gradient if gradient.dtype == tf.float32 else tf.cast(gradient, tf.float32)


def column_squares(gradients: Sequence[Any], columns: Sequence[int], width: int) -> Any:
    """Squared L2 norms summed per column (`columns[i]` for `gradients[i]`), then all in the last.

    `tf.nn.l2_loss` is one fused op per gradient (half the squared norm) and
    one segment sum gives every column and the global value at once.
    """
    halves = [tf.nn.l2_loss(_summed_rows(gradient)) for gradient in gradients]
    segments = list(columns) + [width - 1] * len(halves)
    return 2.0 * tf.math.unsorted_segment_sum(tf.stack(halves + halves), segments, width)


def accumulate(
    sums: Any, peak: Any, gradients: Sequence[Any], columns: Sequence[int], width: int, pending: dict
) -> None:
    """Folds one step's gradients into the statistics variables (traced into the step)."""
    fold_step(sums, peak, column_squares(gradients, columns, width), columns)


def flush(sums: Any, peak: Any, pending: dict) -> None:
    """Nothing to do: each step folds its own statistics (see the torch module)."""


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


def snapshot(model: Any) -> list[Any]:
    """The model's trainable weights now, as numpy copies (the step that made them has run)."""
    return to_numpy(model.trainable_variables)


current = snapshot  # the weights now, for `squared_norms`
squared_norms = numpy_squared_norms
