"""Every private Keras API kerasforge uses, in one place.

Keras 3 keeps some things kerasforge needs outside its public API (`keras.*`):
the function behind its own verbose output, an optimizer's learning rate as
given (schedule or variable), a metric's direction, the variables an
optimizer tracks, the graph nodes of a functional model, the JAX trainer's
state, the early build of a model's training state. Each is reached through
this module only, so a Keras release that changes one breaks one function
here, and `tests/callbacks/test_keras_compat.py` fails on it by name.

A leaf module: it imports only keras, so `kerasforge.callbacks` may use it and
stay importable with keras alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import keras
from keras.src.models.functional import Functional as _Functional
from keras.src.ops.function import make_node_key as _make_node_key
from keras.src.utils import io_utils as _io_utils


def print_msg(message: str, line_break: bool = True) -> None:
    """Prints as Keras's own callbacks do: to stdout when interactive logging is
    on (`keras.config.is_interactive_logging_enabled()`), else to absl logging.
    """
    _io_utils.print_msg(message, line_break=line_break)


def learning_rate_as_given(optimizer: Any) -> Any:
    """The learning rate an optimizer was built with: a `LearningRateSchedule`,
    a callable or a variable (`optimizer.learning_rate` evaluates a schedule).
    """
    return optimizer._learning_rate


def metric_direction(metric: Any) -> str | None:
    """`"up"` or `"down"` when a Keras metric knows whether larger is better
    (accuracy, AUC, F1: up; MSE, hinge: down), else `None`.
    """
    direction = getattr(metric, "_direction", None)
    return direction if direction in ("up", "down") else None


def optimizer_built_variables(optimizer: Any) -> list[Any]:
    """The trainable variables an optimizer was built with, in the order
    `optimizer.apply(grads)` pairs them with gradients when it gets no variables.
    """
    return list(optimizer._trainable_variables)


_HIDDEN = "_kerasforge_unsaved_variables"


def track_optimizer_variable(optimizer: Any, variable: Any) -> None:
    """Makes `variable` one of `optimizer.variables`, as `add_variable` does, so
    the JAX trainer threads its value through `stateless_apply`, but not one
    the optimizer saves or loads: a checkpoint written while it is tracked
    (`ModelCheckpoint(save_freq=N)` mid-epoch) holds the optimizer's own
    variables only, and loads into an optimizer without it.
    """
    if all(existing is not variable for existing in optimizer._variables):
        optimizer._track_variable(variable)
    hidden = optimizer.__dict__.get(_HIDDEN)
    if hidden is None:
        hidden = optimizer.__dict__[_HIDDEN] = []
        for name in ("save_own_variables", "load_own_variables"):
            optimizer.__dict__[name] = _without_hidden(optimizer, getattr(type(optimizer), name))
    if all(existing is not variable for existing in hidden):
        hidden.append(variable)


def untrack_optimizer_variable(optimizer: Any, variable: Any) -> None:
    """Removes `variable` from `optimizer.variables` again (a no-op if absent)."""
    if any(existing is variable for existing in optimizer._variables):
        optimizer._untrack_variable(variable)
    hidden = optimizer.__dict__.get(_HIDDEN)
    if hidden is not None:
        hidden[:] = [existing for existing in hidden if existing is not variable]
        if not hidden:
            for name in (_HIDDEN, "save_own_variables", "load_own_variables"):
                del optimizer.__dict__[name]


def optimizer_own_variables(optimizer: Any) -> list[Any]:
    """`optimizer.variables` without those `track_optimizer_variable` added: the
    optimizer's own state (iterations, slots), whether or not a callback's
    variables are tracked at the moment, as its own save holds them.
    """
    hidden = optimizer.__dict__.get(_HIDDEN, [])
    return [variable for variable in optimizer.variables if all(variable is not h for h in hidden)]


def _without_hidden(optimizer: Any, method: Any) -> Any:
    """`method` (an optimizer's `save_own_variables` or `load_own_variables`), run
    with the hidden variables out of `optimizer.variables`; they come back last,
    where they were, so the JAX trainer's state keeps its order."""

    def without_hidden(store: Any) -> Any:
        hidden = [v for v in optimizer.__dict__.get(_HIDDEN, []) if any(v is e for e in optimizer._variables)]
        for variable in hidden:
            optimizer._untrack_variable(variable)
        try:
            return method(optimizer, store)
        finally:
            for variable in hidden:
                optimizer._track_variable(variable)

    return without_hidden


def sync_training_state(model: Any) -> None:
    """Writes the JAX trainer's in-flight state back into the model's variables.

    Mid-epoch, the JAX trainer keeps the weights and optimizer state outside
    the variables (which it empties to save memory); a callback that reads
    them calls this first, and the trainer then picks the variables up again
    at its next step. A no-op on the other backends and outside `fit`.
    """
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()


def trainable_values(model: Any) -> list[Any]:
    """The model's trainable weights now, as backend arrays, without a sync.

    Mid-epoch on JAX they are the trainer's in-flight state (the variables
    are emptied), which its next step donates: copy them before it runs.
    Elsewhere, the variables' values.
    """
    state = getattr(model, "_jax_state", None)
    if state and not getattr(model, "_jax_state_synced", True) and state.get("trainable_variables"):
        return list(state["trainable_variables"])
    return [variable.value for variable in model.trainable_variables]


def layer_call_outputs(model: Any, layer: Any) -> list[Any]:
    """The symbolic output of every call of `layer` inside `model`'s graph.

    A layer shared by several branches of a functional model has one output
    per call (`layer.output` is only the first); a Sequential layer has one.

    Returns:
        List of `KerasTensor`s, or an empty list when `model` has no graph yet.
    """
    graph = model if hasattr(model, "_nodes") else getattr(model, "_functional", None)
    nodes = getattr(graph, "_nodes", None)
    if not nodes:
        return []
    outputs = []
    for index, node in enumerate(layer._inbound_nodes):
        if _make_node_key(layer, index) in nodes:
            outputs.append(node.outputs[0])
    return outputs


def call_takes_training(model: Any) -> bool:
    """Whether `model.call` accepts a `training` argument (Keras passes it only then)."""
    return bool(model._call_has_training_arg)


def is_graph_model(model: Any) -> bool:
    """Whether `model` is Sequential or functional: a graph of layer calls whose
    intermediate outputs can be read, unlike a subclassed model's `call`.
    """
    return isinstance(model, (_Functional, keras.Sequential))


@contextlib.contextmanager
def compile_config_written_as(model: Any, **values: Any) -> Iterator[None]:
    """Within the block, `model.get_compile_config()` (what `model.save` writes) holds `values`.

    Keras records `compile()`'s arguments in a private `_compile_config` and
    `load_model` compiles the loaded model with them, so a setting that only one
    backend accepts (torch refuses `steps_per_execution` > 1) would make the file
    load on that backend only. The model itself keeps its settings.
    """
    config = getattr(model, "_compile_config", None)
    if config is None:
        yield
        return
    saved = dict(config.config)
    config.config.update(values)
    try:
        yield
    finally:
        config.config.clear()
        config.config.update(saved)


def call_layers_on(model: Any, inputs: Any) -> Any:
    """Calls each layer of a functional `model` on symbolic `inputs`, node by node, in graph order.

    Unlike `model(inputs)`, which nests the model as one layer, the result is
    flat: a functional model built on it holds the very same layer objects
    (shared weights) under their own names (`get_layer("hidden_1")` works).
    """
    return model._run_through_graph(inputs, operation_fn=lambda operation: operation)


def build_training_state(model: Any, dataset: Any) -> None:
    """Creates the optimizer's slots and the compiled loss's and metrics' variables now.

    Without a distribution strategy, Keras on TensorFlow leaves them to the first
    trace of the train step, and a `tf.function` that creates variables on its
    first call traces itself a second time: a third of a small model's fixed
    cost per `fit`, which a search pays on every trial
    (`python benchmarks/tuning_overhead.py --epochs 1`). Keras builds the state
    this way itself under a strategy, and its JAX and torch trainers always do;
    there, and for a dataset that is not `tf.data`, this is a no-op.

    Args:
        model: A compiled `keras.Model`.
        dataset: What `fit` will iterate; its `element_spec` gives the shapes.
    """
    spec = getattr(dataset, "element_spec", None)
    if keras.backend.backend() != "tensorflow" or spec is None or model._distribute_strategy is not None:
        return
    model._symbolic_build(data_batch=spec)
