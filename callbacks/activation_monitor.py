"""Dead ReLU units and saturated sigmoid/tanh units, on a probe batch."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

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
    hard_sigmoid and tanh layers it reports the fraction of outputs in the flat
    region: within `saturation_margin` of 0 or 1 for sigmoid, within
    `2 * saturation_margin` of -1 or 1 for tanh (the same slope). Values go
    into the epoch `logs` as `dead_fraction/<layer>` and
    `saturated_fraction/<layer>` (keys from `log_keys`). A layer past
    `dead_threshold` or `saturation_threshold` gives one event per `fit` in
    `events` (kind `dead_units` or `saturated`); a summary with remedies is
    kept in `summary`.

    Layer outputs are read from the model graph, so the model must be
    Sequential or functional.

    Args:
        probe_data: Array, or tuple whose first item is the inputs `x`: a
            fixed batch (a few hundred samples is plenty).
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
        ValueError: If an argument is out of range, or at train begin, the
            model is subclassed (no graph to read layer outputs from).

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
        if probe_data is None:
            raise ValueError(
                "Argument `probe_data` must be an array or an (x, ...) tuple. Received: probe_data=None"
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
        inputs = getattr(self.model, "inputs", None)
        if not inputs:
            raise ValueError(
                "ActivationMonitor needs a Sequential or functional model, "
                "whose layer outputs it can read; received a subclassed model "
                f"{type(self.model).__name__!r}."
            )
        # An output layer is meant to saturate (a confident sigmoid
        # classifier outputs ~0 or ~1), so only hidden layers are watched.
        outputs = {id(tensor) for tensor in self.model.outputs}
        self._watched = [
            (layer, _activation_name(layer))
            for layer in self.model.layers
            if _activation_name(layer) in RELU_FAMILY + SATURATING and id(layer.output) not in outputs
        ]
        self._probe_model: keras.Model | None = None
        if self._watched:
            self._probe_model = keras.Model(
                inputs[0] if len(inputs) == 1 else inputs,
                [layer.output for layer, _ in self._watched],
            )
        x = self.probe_data
        self._x = x[0] if isinstance(x, (tuple, list)) else x

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._probe_model is None or (epoch + 1) % self.every:
            return
        outputs = self._probe_model(self._x, training=False)
        if len(self._watched) == 1:
            outputs = [outputs]
        values: dict[str, float] = {}
        events: list[HealthEvent] = []
        for (layer, activation), output in zip(self._watched, outputs, strict=True):
            output = keras.ops.convert_to_numpy(output)
            output = output.reshape(output.shape[0], -1)
            if activation in RELU_FAMILY:
                kind, state = HealthKind.DEAD_UNITS, "dead"
                threshold = self.dead_threshold
                value = float(np.mean(np.all(output <= 0, axis=0)))
                values[log_keys.make_key(log_keys.DEAD_FRACTION, layer.name)] = value
            else:
                kind, state = HealthKind.SATURATED, "saturated"
                threshold = self.saturation_threshold
                value = self._saturated(output, activation)
                values[log_keys.make_key(log_keys.SATURATED_FRACTION, layer.name)] = value
            if value > threshold and (kind, layer.name) not in self._fired:
                self._fired.add((kind, layer.name))
                message = (
                    f"epoch {epoch + 1}: {value:.0%} of `{layer.name}` "
                    f"({activation}) is {state} on the probe batch "
                    f"(threshold {threshold:g})."
                )
                events.append(make_event(kind, layer.name, epoch, value, message))
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
