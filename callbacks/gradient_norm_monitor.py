"""Per-layer gradient norms with vanishing and exploding gradient alerts."""

import logging

import keras

from ._checks import check_choice, check_integer, check_number
from ._config import ConfigFromInit
from ._gradient_rules import GradientRules
from ._gradient_statistics import InStepStatistics, ProbeStatistics
from ._health_events import ON_DETECT_CHOICES, act_on_events, print_message, summarize_events

logger = logging.getLogger("kerasforge.callbacks")

MODES = ("auto", "in_step", "probe")


class GradientNormMonitor(ConfigFromInit, keras.callbacks.Callback):
    """Records per-layer gradient norms and flags vanishing or exploding ones.

    For every layer with trainable weights it records the L2 norm of the
    layer's gradient, the L2 norm of its weights and the update-to-weight
    ratio ||w_after - w_before|| / ||w_before||, plus the global gradient norm.
    Values go into the epoch `logs` as `grad_norm/<layer>` (root mean
    square over the epoch's steps, "epoch norm" below),
    `grad_norm/global`, `grad_norm_max/global` (largest step),
    `grad_non_finite/global` (steps with a NaN/Inf norm),
    `weight_norm/<layer>` and `update_ratio/<layer>`, so `History`,
    `CSVLogger` and `TensorBoard` record them. Put this callback before
    `CSVLogger` in the callbacks list. Nested layers are named by path, e.g.
    `grad_norm/encoder/dense`.

    Modes (the one chosen is in `mode_in_use` and in the verbose output):

    * `"in_step"` (TensorFlow backend): the gradients the optimizer applies
      at every training step, accumulated inside the compiled step. No second
      backward pass, no per-step Python. They are measured *before* the
      optimizer's `clipnorm`/`global_clipnorm`, so an explosion stays visible
      even when clipping tames it.
    * `"probe"`: one forward and backward pass on `probe_data` (with
      `training=False`) at the first step of each epoch and every
      `probe_every` steps. Works with any model, including custom
      `train_step`s that bypass `optimizer.apply`.
    * `"auto"`: `"in_step"` on TensorFlow, `"probe"` elsewhere.

    Detection, checked at each epoch end (spikes also every `log_every`
    steps): *vanishing* when a layer's epoch norm is below
    `vanishing_threshold` or below `vanishing_ratio` times the largest layer's
    for `patience` epochs; *exploding* when a step's norm exceeds
    `exploding_threshold` or an epoch norm grows `growth_factor` times in
    one epoch; *non_finite* on any NaN or Inf gradient norm. Each
    (kind, layer) fires once per `fit`. The defaults come from runs on
    sklearn digits (Adam 1e-3, batch 32, 5 epochs; see the README): in a
    10x64 sigmoid MLP the six hidden layers nearest the input sit at 6e-7 to
    8e-4 of the largest layer's norm from the first epoch on, while a ReLU/He
    MLP of the same depth stays above 0.4 and a tanh/Glorot one above 0.14,
    so `vanishing_ratio=1e-3` leaves two orders of magnitude on the healthy
    side. Healthy step norms peaked at 17 and epoch norms grew at most 2.3x
    from one epoch to the next, hence `exploding_threshold=1e3` and
    `growth_factor=10`; a deliberately exploding ReLU net passes 1e3 several
    steps before its loss turns NaN.

    Each detection appends a dict to `events` (`kind`, `layer`, `epoch`,
    `value`, `message`, `step`); a summary naming the layers and the remedies
    is logged at train end and kept in `summary`. Per-epoch values are also
    kept in `history` (log key -> list), which a plotting report can use.

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
            vanishing. Defaults to `1e-7`.
        vanishing_ratio: Float. Fraction of the largest layer's norm below
            which a layer is vanishing. Defaults to `1e-3`.
        exploding_threshold: Float. Step norm above which gradients are
            exploding. Defaults to `1e3`.
        growth_factor: Float. Epoch-norm growth that counts as exploding.
            Defaults to `10.0`.
        patience: Integer. Epochs a layer must look vanishing before it is
            flagged. Defaults to `2`.
        on_detect: String. `"warn"` (a `RuntimeWarning`), `"stop"` (warn and
            stop training), `"raise"` (`TrainingHealthError`, a
            `RuntimeError` carrying the events) or `"log"` (logging only).
            Defaults to `"warn"`.
        verbose: Integer. 0 is silent, 1 prints the mode and the summary.
            Defaults to `0`.

    Raises:
        ValueError: If an argument is out of range, `mode="in_step"` is asked
            for on a backend other than TensorFlow, or `mode="probe"` has no
            `probe_data`.

    Example:

    ```python
    monitor = GradientNormMonitor(on_detect="warn")
    history = model.fit(x, y, epochs=5, callbacks=[monitor])
    history.history["grad_norm/global"], monitor.events
    ```
    """

    def __init__(
        self,
        mode="auto",
        probe_data=None,
        probe_every=100,
        log_every=None,
        vanishing_threshold=1e-7,
        vanishing_ratio=1e-3,
        exploding_threshold=1e3,
        growth_factor=10.0,
        patience=2,
        on_detect="warn",
        verbose=0,
    ):
        super().__init__()
        check_choice("mode", mode, MODES)
        check_choice("on_detect", on_detect, ON_DETECT_CHOICES)
        check_integer("probe_every", probe_every, minimum=1)
        check_integer("log_every", log_every, minimum=1, allow_none=True)
        check_number("vanishing_threshold", vanishing_threshold, minimum=0)
        check_number("vanishing_ratio", vanishing_ratio, minimum=0)
        check_number("exploding_threshold", exploding_threshold, 0, strict=True)
        check_number("growth_factor", growth_factor, minimum=1, strict=True)
        check_integer("patience", patience, minimum=1)
        check_integer("verbose", verbose, minimum=0)
        backend = keras.backend.backend()
        if mode == "in_step" and backend != "tensorflow":
            raise ValueError(
                "Argument `mode` can only be 'in_step' on the TensorFlow "
                f"backend; this is {backend!r}. Use mode='probe' with "
                f"probe_data=(x, y). Received: mode={mode!r}"
            )
        if probe_data is not None and (
            not isinstance(probe_data, (tuple, list)) or len(probe_data) not in (2, 3)
        ):
            raise ValueError(
                "Argument `probe_data` must be a tuple (x, y) or "
                f"(x, y, sample_weight). Received: probe_data={probe_data!r}"
            )
        in_step = mode != "probe" and backend == "tensorflow"
        self.mode_in_use = "in_step" if in_step else "probe"
        if not in_step and probe_data is None:
            raise ValueError(
                "Argument `probe_data` is required in probe mode (mode="
                f"{mode!r}, backend {backend!r}). Received: probe_data=None"
            )
        self.mode = mode
        self.probe_data = probe_data
        self.probe_every = probe_every
        self.log_every = log_every
        self.vanishing_threshold = vanishing_threshold
        self.vanishing_ratio = vanishing_ratio
        self.exploding_threshold = exploding_threshold
        self.growth_factor = growth_factor
        self.patience = patience
        self.on_detect = on_detect
        self.verbose = verbose
        self._statistics = None
        self.events, self.history, self.summary = [], {}, ""

    @property
    def layer_names(self):
        """Names of the monitored layers, input side first (after step 1)."""
        return None if self._statistics is None else self._statistics.names

    def on_train_begin(self, logs=None):
        self.events, self.history, self.summary = [], {}, ""
        self._close()
        self._rules = None
        if self.mode_in_use == "in_step":
            self._statistics = InStepStatistics(self.model)
        else:
            self._statistics = ProbeStatistics(self.model, self.probe_data)
        message = f"GradientNormMonitor: mode_in_use={self.mode_in_use!r}."
        logger.info(message)
        if self.verbose:
            print_message(message)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._next_probe = 0
        self._last_batch = -1
        self._before = None
        self._update_ratios = None
        self._statistics.start_epoch()

    def on_train_batch_begin(self, batch, logs=None):
        # The update ratio is sampled on the epoch's first execution whose
        # weights exist (a subclassed model is built by its first step).
        if self._update_ratios is None and self.model.trainable_variables:
            self._before = [v.numpy() for v in self.model.trainable_variables]
            self._before_step = batch

    def on_train_batch_end(self, batch, logs=None):
        if self.mode_in_use == "probe" and batch >= self._next_probe:
            self._statistics.probe()
            while self._next_probe <= batch:
                self._next_probe += self.probe_every
        if self._before is not None and self._statistics.names is not None:
            self._update_ratios = self._statistics.update_ratios(
                self._before, steps=batch - self._before_step + 1
            )
            self._before = None
        # With steps_per_execution > 1 batch indices jump, so log when a
        # multiple of log_every was crossed, not only when one is hit.
        crossed = self.log_every and (
            (batch + 1) // self.log_every > (self._last_batch + 1) // self.log_every
        )
        self._last_batch = batch
        if crossed:
            stats = self._statistics.read()
            if stats is None:
                return
            if logs is not None:
                logs.update(self._gradient_logs(stats))
            events = self._get_rules().check_spikes(stats, self._statistics.present, self._epoch, step=batch)
            self._act(events)

    def _get_rules(self):
        if self._rules is None:
            self._rules = GradientRules(
                self.layer_names,
                self.vanishing_threshold,
                self.vanishing_ratio,
                self.exploding_threshold,
                self.growth_factor,
                self.patience,
            )
        return self._rules

    def on_epoch_end(self, epoch, logs=None):
        stats = self._statistics.read()
        if stats is None:
            return  # no training step ran
        values = self._gradient_logs(stats)
        weights = self._statistics.norms(self._statistics.snapshot())
        for column, name in enumerate(self.layer_names):
            values[f"weight_norm/{name}"] = float(weights[column])
            if self._update_ratios is not None:
                ratio = self._update_ratios[column]
                values[f"update_ratio/{name}"] = float(ratio)
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)
        if logs is not None:
            logs.update(values)
        rules = self._get_rules()
        self._act(rules.check_epoch(stats, self._statistics.present, epoch))

    def on_train_end(self, logs=None):
        self._finish()

    def _finish(self):
        self._close()
        self.summary = summarize_events(
            "GradientNormMonitor",
            self.events,
            self.verbose,
            self.on_detect,
        )

    def _act(self, events):
        self.events.extend(events)
        # Keras skips on_train_end when a callback raises: finish first.
        act_on_events(self, events, self.on_detect, before_raise=self._finish)

    def _close(self):
        if self._statistics is not None:
            self._statistics.close()

    def _gradient_logs(self, stats):
        values = {}
        present = self._statistics.present
        for column, name in enumerate(self.layer_names):
            if present[column]:
                values[f"grad_norm/{name}"] = float(stats["mean"][column])
        values["grad_norm/global"] = float(stats["mean"][-1])
        values["grad_norm_max/global"] = float(stats["max"][-1])
        values["grad_non_finite/global"] = float(stats["non_finite"][-1])
        return values
