"""Per-layer gradient norms with vanishing and exploding gradient alerts."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import keras
import numpy as np

from kerasforge.checks import check_choice, check_integer, check_number
from kerasforge.vocabulary import health_thresholds, log_keys

from ._config import ConfigFromInit
from ._gradient_rules import GradientRules
from ._gradient_statistics import Statistics, gradient_backend
from ._health_events import ON_DETECT_CHOICES, HealthEvent, act_on_events, print_message, summarize_events
from ._in_step_statistics import InStepStatistics
from ._probe_statistics import ProbeStatistics

logger = logging.getLogger("kerasforge.callbacks")

MODES = ("auto", "in_step", "probe")
NO_MODE = "none"


class GradientNormMonitor(ConfigFromInit, keras.callbacks.Callback):
    """Records per-layer gradient norms and flags vanishing or exploding ones.

    For every layer with trainable weights it adds to the epoch `logs` (keys
    from `log_keys`): `grad_norm/<layer>`, the root mean square over the
    epoch's steps of the layer's gradient L2 norm (the "epoch norm");
    `weight_norm/<layer>`; `update_ratio/<layer>`, ||w_after - w_before|| /
    ||w_before|| sampled on the epoch's first step; and `grad_norm/global`,
    `grad_norm_max/global` (largest step) and `grad_non_finite/global` (steps
    with a NaN or infinite norm). A layer inside a nested model is named by
    its path, e.g. `grad_norm/encoder/dense`; a layer with sublayers (LSTM,
    Bidirectional, attention) is one key. Put this callback before
    `CSVLogger`. Works on the TensorFlow, JAX and torch backends.

    Modes (the one in use is `mode_in_use`):

    * `"in_step"`: the gradients every optimizer the model owns applies
      (`model.optimizer` and optimizers held as model attributes), summed
      across replicas under a distribution strategy, before the optimizer's
      loss-scale division and `clipnorm`/`global_clipnorm`, accumulated
      inside the compiled train step.
    * `"probe"`: one forward and backward pass on `probe_data` (with
      `training=False`) on the first step of each epoch and every
      `probe_every` steps.
    * `"auto"`: `"in_step"`. If no gradient reached an optimizer in the first
      epoch (a `train_step` that updates weights another way), it warns and
      switches to `"probe"` when `probe_data` is given, else `mode_in_use`
      becomes `"none"` and no gradient keys are logged.

    Rules, checked at each epoch end (spikes also every `log_every` steps):
    *vanishing* when a layer's epoch norm is below `vanishing_threshold`, or
    below `vanishing_ratio` times the largest layer's, for `patience` epochs;
    *exploding* when a step's norm exceeds `exploding_factor` times the
    run's early global norm (the first epoch's, or the first `log_every`
    steps'), or `exploding_threshold` if given, or an epoch norm grows
    `growth_factor` times in one epoch; *non_finite* on a NaN or infinite
    norm. Each (kind, layer) pair fires once per `fit`, appends an event
    dict (`kind`, `layer`, `epoch`, `value`, `message`, `step`) to `events`
    and acts as `on_detect` says. At train end `summary` names the layers and
    the remedies; `history` holds every logged value per epoch.

    Args:
        mode: String. One of `"auto"`, `"in_step"`, `"probe"`. Defaults to
            `"auto"`.
        probe_data: Tuple `(x, y)` or `(x, y, sample_weight)`: a held-out
            batch for `"probe"` mode. Defaults to `None`.
        probe_every: Integer. Steps between probes. Defaults to `100`.
        log_every: Integer or `None`. Also put the running statistics into the
            batch logs and check for spikes every this many steps. Defaults to
            `None` (epoch end only).
        vanishing_threshold: Float. Absolute norm below which a layer is
            vanishing. Defaults to `health_thresholds.VANISHING_THRESHOLD`.
        vanishing_ratio: Float. Fraction of the largest layer's norm below
            which a layer is vanishing. Defaults to
            `health_thresholds.VANISHING_RATIO`.
        exploding_factor: Float > 1. Step norm, as a multiple of the run's
            early global norm, above which gradients are exploding. Defaults
            to `health_thresholds.EXPLODING_FACTOR`.
        exploding_threshold: Float or `None`. An absolute step norm above
            which gradients are also exploding. Defaults to `None`.
        growth_factor: Float > 1. Epoch-norm growth that counts as exploding.
            Defaults to `health_thresholds.GROWTH_FACTOR`.
        patience: Integer. Epochs a layer must look vanishing before it is
            flagged. Defaults to `health_thresholds.VANISHING_PATIENCE`.
        on_detect: String. `"warn"` (a `RuntimeWarning`), `"stop"` (warn and
            stop training), `"raise"` (`TrainingHealthError`, a
            `RuntimeError` carrying the events) or `"log"` (logging only).
            Defaults to `"warn"`.
        verbose: Integer. 0 is silent, 1 prints the mode and the summary.
            Defaults to `0`.

    Raises:
        ValueError: If an argument is out of range, `mode="probe"` has no
            `probe_data`, or the Keras backend computes no gradients (`numpy`).

    Example:

    ```python
    monitor = GradientNormMonitor(on_detect="warn")
    history = model.fit(x, y, epochs=5, callbacks=[monitor])
    history.history["grad_norm/global"], monitor.events
    ```
    """

    def __init__(
        self,
        mode: str = "auto",
        probe_data: tuple[Any, ...] | list[Any] | None = None,
        probe_every: int = 100,
        log_every: int | None = None,
        vanishing_threshold: float = health_thresholds.VANISHING_THRESHOLD,
        vanishing_ratio: float = health_thresholds.VANISHING_RATIO,
        exploding_factor: float = health_thresholds.EXPLODING_FACTOR,
        exploding_threshold: float | None = None,
        growth_factor: float = health_thresholds.GROWTH_FACTOR,
        patience: int = health_thresholds.VANISHING_PATIENCE,
        on_detect: str = "warn",
        verbose: int = 0,
    ) -> None:
        super().__init__()
        check_choice("mode", mode, MODES)
        check_choice("on_detect", on_detect, ON_DETECT_CHOICES)
        check_integer("probe_every", probe_every, minimum=1)
        check_integer("log_every", log_every, minimum=1, allow_none=True)
        check_number("vanishing_threshold", vanishing_threshold, minimum=0)
        check_number("vanishing_ratio", vanishing_ratio, minimum=0)
        check_number("exploding_factor", exploding_factor, minimum=1, strict=True)
        check_number("exploding_threshold", exploding_threshold, 0, strict=True, allow_none=True)
        check_number("growth_factor", growth_factor, minimum=1, strict=True)
        check_integer("patience", patience, minimum=1)
        check_integer("verbose", verbose, minimum=0)
        gradient_backend()
        if probe_data is not None and (
            not isinstance(probe_data, (tuple, list)) or len(probe_data) not in (2, 3)
        ):
            raise ValueError(
                "Argument `probe_data` must be a tuple (x, y) or "
                f"(x, y, sample_weight). Received: probe_data={probe_data!r}"
            )
        if mode == "probe" and probe_data is None:
            raise ValueError("Argument `probe_data` is required with mode='probe'. Received: probe_data=None")
        self.mode = mode
        self.probe_data = probe_data
        self.probe_every = probe_every
        self.log_every = log_every
        self.vanishing_threshold = vanishing_threshold
        self.vanishing_ratio = vanishing_ratio
        self.exploding_factor = exploding_factor
        self.exploding_threshold = exploding_threshold
        self.growth_factor = growth_factor
        self.patience = patience
        self.on_detect = on_detect
        self.verbose = verbose
        self.mode_in_use = "probe" if mode == "probe" else "in_step"
        self._statistics: InStepStatistics | ProbeStatistics | None = None
        self._attached: InStepStatistics | None = None
        self._rules: GradientRules | None = None
        self.events: list[HealthEvent] = []
        self.history: dict[str, list[float]] = {}
        self.summary = ""

    @property
    def layer_names(self) -> list[str] | None:
        """Names of the monitored layers, input side first (after step 1)."""
        return None if self._statistics is None else self._statistics.names

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.events, self.history, self.summary = [], {}, ""
        self._close()
        self._rules = None
        self.mode_in_use = "probe" if self.mode == "probe" else "in_step"
        if self.mode_in_use == "in_step":
            self._statistics = self._attached = InStepStatistics.attach(self.model)
        else:
            self._statistics = ProbeStatistics(self.model, self.probe_data or ())
        self._say(f"GradientNormMonitor: mode_in_use={self.mode_in_use!r}.")

    def _say(self, message: str) -> None:
        logger.info(message)
        if self.verbose:
            print_message(message)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch
        self._next_probe = 0
        self._last_batch = -1
        self._before: list[Any] | None = None
        self._before_step = 0
        self._after: list[Any] | None = None
        self._after_step = 0
        self._update_ratios: np.ndarray | None = None
        if self._statistics is not None:
            self._statistics.start_epoch()

    def _weights(self) -> list[Any]:
        # Copies that do not wait for the step computing them (JAX dispatches
        # steps ahead): read back at the epoch's end.
        return gradient_backend().snapshot(self.model)

    @property
    def async_safe(self) -> bool:
        """Whether Keras may run `on_train_batch_end` in the background: it does
        nothing unless `log_every` is set, and a callback that is not async-safe
        makes Keras wait for every step's logs."""
        return self.log_every is None

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # Work is done at a batch's begin, on the weights the earlier steps
        # left, so the steps themselves run without waiting for Python.
        statistics = self._statistics
        if isinstance(statistics, ProbeStatistics) and batch >= self._next_probe and statistics.probe():
            while self._next_probe <= batch:
                self._next_probe += self.probe_every
        if self._after is not None:
            return
        # The update ratio is sampled over the epoch's first execution whose
        # weights exist (a subclassed model is built by its first step).
        groups = None if statistics is None else statistics.groups
        if self._before is not None and groups is not None and len(self._before) == len(groups.variables):
            self._after = self._weights()
            self._after_step = batch
        elif self._before is None and self.model.trainable_variables:
            self._before = self._weights()
            self._before_step = batch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self.log_every:
            return
        # With steps_per_execution > 1 batch indices jump, so log when a
        # multiple of log_every was crossed, not only when one is hit.
        crossed = (batch + 1) // self.log_every > (self._last_batch + 1) // self.log_every
        self._last_batch = batch
        statistics = self._statistics
        if crossed and statistics is not None:
            stats = statistics.read()
            if stats is None or not stats["steps"]:
                return
            if logs is not None:
                logs.update(self._gradient_logs(stats))
            self._act(self._get_rules().check_spikes(stats, stats["present"], self._epoch, step=batch))

    def _get_rules(self) -> GradientRules:
        if self._rules is None:
            self._rules = GradientRules(
                self.layer_names or [],
                self.vanishing_threshold,
                self.vanishing_ratio,
                self.exploding_factor,
                self.exploding_threshold,
                self.growth_factor,
                self.patience,
            )
        return self._rules

    def _fall_back(self) -> Statistics | None:
        """After an epoch in which no gradient reached an optimizer's `apply`."""
        self._close()
        can_probe = self.mode == "auto" and self.probe_data is not None
        advice = "switching to mode='probe'" if can_probe else "pass mode='probe' with probe_data=(x, y)"
        warnings.warn(
            f"GradientNormMonitor saw no gradient reach an optimizer's apply() in epoch {self._epoch + 1}: "
            "the model's train_step updates its weights another way (or with an optimizer the model does "
            f"not hold as an attribute); {advice} to measure gradients on a fixed batch.",
            RuntimeWarning,
            stacklevel=2,
        )
        if not can_probe:
            self._statistics = None
            self.mode_in_use = NO_MODE
            return None
        self.mode_in_use = "probe"
        probe = ProbeStatistics(self.model, self.probe_data or ())
        self._statistics = probe
        probe.probe()
        return probe.read()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        statistics = self._statistics
        if statistics is None:
            return
        if isinstance(statistics, ProbeStatistics) and statistics.read() is None:
            statistics.probe()  # the model was not built yet when the epoch's probes were due
        stats = statistics.read()
        if isinstance(statistics, InStepStatistics):
            statistics.end_epoch()
            if stats is None or not stats["steps"]:
                stats = self._fall_back()
        groups = None if self._statistics is None else self._statistics.groups
        if stats is None or groups is None:
            return
        values = self._gradient_logs(stats)
        steps = self.params.get("steps") if self.params else None
        before, after, count = self._before, self._after, self._after_step - self._before_step
        if after is None and before is not None and steps and steps > self._before_step:
            count = steps - self._before_step  # one execution ran the whole epoch: compare with now
        if before is None or len(before) != len(groups.variables) or count <= 0:
            before = None
        weights, self._update_ratios = groups.epoch_norms(before, after, count)
        for column, name in enumerate(groups.names):
            values[log_keys.make_key(log_keys.WEIGHT_NORM, name)] = float(weights[column])
            if self._update_ratios is not None:
                values[log_keys.make_key(log_keys.UPDATE_RATIO, name)] = float(self._update_ratios[column])
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)
        if logs is not None:
            logs.update(values)
        self._act(self._get_rules().check_epoch(stats, stats["present"], epoch))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._finish()

    def _finish(self) -> None:
        self._close()
        self.summary = summarize_events(
            "GradientNormMonitor",
            self.events,
            self.verbose,
            self.on_detect,
        )

    def _act(self, events: list[HealthEvent]) -> None:
        self.events.extend(events)
        # Keras skips on_train_end when a callback raises: finish first.
        act_on_events(self, events, self.on_detect, before_raise=self._finish)

    def _close(self) -> None:
        if self._attached is not None:
            self._attached.detach()
            self._attached = None

    def _gradient_logs(self, stats: Statistics) -> dict[str, float]:
        values = {}
        for column, name in enumerate(self.layer_names or []):
            if stats["present"][column]:
                values[log_keys.make_key(log_keys.GRAD_NORM, name)] = float(stats["mean"][column])
        values[log_keys.global_key(log_keys.GRAD_NORM)] = float(stats["mean"][-1])
        values[log_keys.global_key(log_keys.GRAD_NORM_MAX)] = float(stats["max"][-1])
        values[log_keys.global_key(log_keys.GRAD_NON_FINITE)] = float(stats["non_finite"][-1])
        return values
