"""Dead ReLU units and saturated sigmoid/tanh units, on a probe batch."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from kerasforge import _keras_compat
from kerasforge.checks import check_choice, check_integer, check_number
from kerasforge.vocabulary import health_thresholds, log_keys
from kerasforge.vocabulary.health_kinds import HealthKind

from ._config import ConfigFromInit
from ._health_events import ON_DETECT_CHOICES, HealthEvent, act_on_events, make_event, summarize_events

# Activations whose units can die (never positive, zero or tiny gradient).
RELU_FAMILY = ("relu", "relu6", "leaky_relu", "leakyrelu", "elu", "selu")
SATURATING = ("sigmoid", "hard_sigmoid", "tanh")


def _activation_name(layer: Any) -> str:
    function = getattr(layer, "activation", None)
    if function is None:
        function = layer  # the ReLU, LeakyReLU and ELU layers
    return str(getattr(function, "__name__", type(function).__name__)).lower()


class ActivationMonitor(ConfigFromInit, keras.callbacks.Callback):
    """Reports dead ReLU-family units and saturated sigmoid/tanh units.

    At the end of every `every`-th epoch the model runs on `probe_data` (with
    `training=False`) and, for each top-level hidden layer (an output layer
    is meant to saturate, so it is left out) whose activation is
    ReLU-family (relu, relu6, leaky_relu, elu, selu), reports the fraction of
    units that are never positive for any sample of the batch (dead units:
    zero gradient for ReLU, so they may never recover). For sigmoid,
    hard_sigmoid and tanh layers (LSTM and GRU included) it reports the
    fraction of outputs in the flat region: within `saturation_margin` of 0 or
    1 for sigmoid, within `2 * saturation_margin` of -1 or 1 for tanh (the same
    slope). A layer called several times (a shared layer) is judged on all
    its calls together: a unit is dead only if no call ever makes it
    positive. Values go into the epoch `logs` as `dead_fraction/<layer>` and
    `saturated_fraction/<layer>` (keys from `log_keys`, named as
    `GradientNormMonitor` names them). A layer past `dead_threshold` or
    `saturation_threshold` gives one event per `fit` in `events` (kind
    `dead_units` or `saturated`); a summary with remedies is kept in
    `summary`.

    Layer outputs are read from the model's graph, so the model must be
    Sequential (with or without `keras.Input`) or functional.

    Args:
        probe_data: The probe batch's inputs (a few hundred samples is
            plenty): an array, a dict of arrays by input name, a list with one
            array per model input, or a tuple `(x, ...)` whose first item is
            the inputs (so `(x, y)` works too).
        every: Integer. Probe every this many epochs. Defaults to `1`.
        dead_threshold: Float in [0, 1]. Dead fraction that fires an event.
            Defaults to `health_thresholds.DEAD_THRESHOLD`.
        saturation_threshold: Float in [0, 1]. Saturated fraction that fires
            an event. Defaults to `health_thresholds.SATURATION_THRESHOLD`.
        saturation_margin: Float in (0, 0.5). Distance to the asymptote that
            counts as saturated. Defaults to
            `health_thresholds.SATURATION_MARGIN`.
        on_detect: String. `"warn"`, `"stop"`, `"raise"` or `"log"`.
            Defaults to `"warn"`.
        verbose: Integer. 1 prints the summary at train end. Defaults to `0`.

    Raises:
        ValueError: If an argument is out of range; at train begin, if the
            model is subclassed (no graph to read layer outputs from) or
            `probe_data` does not fit the model's inputs (a list of the wrong
            length, say).

    Example:

    ```python
    monitor = ActivationMonitor(probe_data=x_val[:256])
    model.fit(x, y, epochs=5, callbacks=[monitor])
    monitor.events
    ```
    """

    def __init__(
        self,
        probe_data: Any,
        every: int = 1,
        dead_threshold: float = health_thresholds.DEAD_THRESHOLD,
        saturation_threshold: float = health_thresholds.SATURATION_THRESHOLD,
        saturation_margin: float = health_thresholds.SATURATION_MARGIN,
        on_detect: str = "warn",
        verbose: int = 0,
    ) -> None:
        super().__init__()
        if probe_data is None or (isinstance(probe_data, tuple) and not probe_data):
            raise ValueError(
                "Argument `probe_data` must be the probe batch's inputs: an array, a dict, a list with one "
                f"array per model input, or an (x, ...) tuple. Received: probe_data={probe_data!r}"
            )
        check_integer("every", every, minimum=1)
        for name, value in (
            ("dead_threshold", dead_threshold),
            ("saturation_threshold", saturation_threshold),
        ):
            check_number(name, value, minimum=0)
            if value > 1:
                raise ValueError(f"Argument `{name}` must be <= 1. Received: {name}={value!r}")
        check_number("saturation_margin", saturation_margin, 0, strict=True)
        if saturation_margin >= 0.5:
            raise ValueError(
                "Argument `saturation_margin` must be < 0.5. "
                f"Received: saturation_margin={saturation_margin!r}"
            )
        check_choice("on_detect", on_detect, ON_DETECT_CHOICES)
        check_integer("verbose", verbose, minimum=0)
        self.probe_data = probe_data
        self.every = every
        self.dead_threshold = dead_threshold
        self.saturation_threshold = saturation_threshold
        self.saturation_margin = saturation_margin
        self.on_detect = on_detect
        self.verbose = verbose
        self.events: list[HealthEvent] = []
        self.history: dict[str, list[float]] = {}
        self.summary = ""
        self._fired: set[tuple[HealthKind, str]] = set()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.events, self.history, self.summary = [], {}, ""
        self._fired = set()
        self._probe_model: keras.Model | None = None
        self._watched: list[tuple[str, str, int]] = []
        if not _keras_compat.is_graph_model(self.model):
            raise ValueError(
                "ActivationMonitor reads layer outputs from the model's graph, so it needs a Sequential or "
                f"functional model; received a subclassed model {type(self.model).__name__!r}."
            )
        # Inputs as Keras reads them: a tuple is (x, y, ...), anything else is x.
        self._x = self.probe_data[0] if isinstance(self.probe_data, tuple) else self.probe_data
        self._check_inputs()
        self._ready = False
        if self.model.built and (not isinstance(self.model, keras.Sequential) or self.model.layers):
            self._set_up()

    def _input_count(self) -> int | None:
        if isinstance(self.model, keras.Sequential):
            return 1
        return len(self.model.inputs) if self.model.built else None

    def _check_inputs(self) -> None:
        expected = self._input_count()
        if isinstance(self._x, dict) or expected is None:
            return  # Keras matches a dict to the inputs by name
        given = len(self._x) if isinstance(self._x, list) else 1
        if isinstance(self._x, list) and given == 1 and expected == 1:
            return
        if given != expected:
            raise ValueError(
                f"Argument `probe_data` gives {given} input array(s) but the model takes {expected} "
                "input(s): a list means one array per model input; pass `(x, y)` as a tuple for inputs "
                "and targets. "
                f"Received: probe_data of type {type(self.probe_data).__name__} with {given} item(s)"
            )

    def _set_up(self) -> None:
        """Builds the probe model, once the model has a graph (a Sequential
        without `keras.Input` gets one in its first step)."""
        self._ready = True
        try:
            inputs = self.model.inputs
        except AttributeError:
            self._ready = False  # an unbuilt Sequential: try again at the epoch's end
            return
        model_outputs = {id(tensor) for tensor in self.model.outputs}
        tensors: list[Any] = []
        for layer in self.model.layers:
            activation = _activation_name(layer)
            if activation not in RELU_FAMILY + SATURATING or isinstance(layer, keras.Model):
                continue
            calls = _keras_compat.layer_call_outputs(self.model, layer)
            # An output layer is meant to saturate (a confident sigmoid
            # classifier outputs ~0 or ~1), so only hidden layers are watched.
            if not calls or any(id(tensor) in model_outputs for tensor in calls):
                continue
            self._watched.append((layer.name, activation, len(calls)))
            tensors.extend(calls)
        if tensors:
            # One input: the probe model takes the array itself, as the model does.
            self._probe_model = keras.Model(inputs[0] if len(inputs) == 1 else inputs, tensors)
            if len(inputs) == 1 and isinstance(self._x, list):
                self._x = self._x[0]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if (epoch + 1) % self.every:
            return
        if not self._ready:
            self._set_up()
        if self._probe_model is None:
            return
        outputs = self._probe_model(self._x, training=False)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        values: dict[str, float] = {}
        events: list[HealthEvent] = []
        position = 0
        for name, activation, calls in self._watched:
            arrays = [keras.ops.convert_to_numpy(output) for output in outputs[position : position + calls]]
            position += calls
            output = np.concatenate([array.reshape(array.shape[0], -1) for array in arrays], axis=0)
            if activation in RELU_FAMILY:
                kind, state, threshold = HealthKind.DEAD_UNITS, "dead", self.dead_threshold
                value = float(np.mean(np.all(output <= 0, axis=0)))
                values[log_keys.make_key(log_keys.DEAD_FRACTION, name)] = value
            else:
                kind, state, threshold = HealthKind.SATURATED, "saturated", self.saturation_threshold
                value = self._saturated(output, activation)
                values[log_keys.make_key(log_keys.SATURATED_FRACTION, name)] = value
            if value > threshold and (kind, name) not in self._fired:
                self._fired.add((kind, name))
                message = (
                    f"epoch {epoch + 1}: {value:.0%} of `{name}` ({activation}) is {state} on the probe "
                    f"batch (threshold {threshold:g})."
                )
                events.append(make_event(kind, name, epoch, value, message))
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)
        if logs is not None:
            logs.update(values)
        self.events.extend(events)
        act_on_events(self, events, self.on_detect)

    def _saturated(self, output: np.ndarray, activation: str) -> float:
        margin = self.saturation_margin
        if activation == "tanh":
            flat = np.abs(output) > 1.0 - 2.0 * margin
        else:
            flat = (output < margin) | (output > 1.0 - margin)
        return float(np.mean(flat))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.summary = summarize_events(
            "ActivationMonitor",
            self.events,
            self.verbose,
            self.on_detect,
        )
