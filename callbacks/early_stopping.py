"""EarlyStopping with kerasforge's defaults and more reasons to stop."""

from __future__ import annotations

import math
import warnings
from typing import Any

import keras
import numpy as np

from kerasforge import _keras_compat
from kerasforge.checks import check_choice, check_integer, check_number

from ._config import ConfigFromInit
from ._health_events import print_message

MODES = ("auto", "min", "max")
_MAXIMIZED = ("acc", "accuracy", "auc", "precision", "recall", "f1", "iou")


class EarlyStopping(ConfigFromInit, keras.callbacks.Callback):
    """Stops training when a monitored metric stops improving.

    A drop-in for `keras.callbacks.EarlyStopping`: the same arguments and
    patience/baseline/`start_from_epoch` behaviour, the same attributes
    (`monitor_op` is `keras.ops.less` or `keras.ops.greater` after the first
    epoch; `best`, `wait`, `best_weights`; `best_epoch` and `stopped_epoch`
    are 0 until set), a metric logged as a 1-element array (`F1Score`) is
    read as its value, and `mode="auto"` on a metric whose direction cannot
    be told raises `ValueError`. The defaults differ: `min_delta=1e-4` and
    `restore_best_weights=True`. Three more reasons to stop:
    `divergence_threshold` (stop at once when the metric is worse than this),
    `stopping_threshold` (stop once it is good enough) and `check_finite`
    (stop on a NaN or infinite metric).

    `stop_reason` says why training stopped (`"patience"`, `"divergence"`,
    `"threshold"`, `"non_finite"`), or is `None` if this callback did not
    stop it; as in Keras, `stopped_epoch` is 0 when it did not stop, so
    `stop_reason` tells a stop at epoch 0 apart. With `verbose=1` it says
    both at train end. The best weights are restored at train end even when
    another callback stopped training. All state is reset at each `fit`.

    Args:
        monitor: String. Quantity to monitor. Defaults to `"val_loss"`.
        min_delta: Float >= 0. Smallest change that counts as an improvement.
            Defaults to `1e-4`.
        patience: Integer. Epochs without improvement before stopping.
            Defaults to `0`.
        verbose: Integer. 0 is silent, 1 says why and when it stopped.
            Defaults to `0`.
        mode: String. `"auto"`, `"min"` or `"max"`. `"auto"` minimises losses
            and errors and maximises accuracy-like metrics. Defaults to
            `"auto"`.
        baseline: Float or `None`. Training stops if the metric does not beat
            it within `patience` epochs. Defaults to `None`.
        restore_best_weights: Boolean. Restore the weights of the best epoch
            at train end. Defaults to `True`.
        start_from_epoch: Integer. Epochs to wait before monitoring. Defaults
            to `0`.
        divergence_threshold: Float or `None`. Stop at once when the metric is
            worse than this. Defaults to `None`.
        stopping_threshold: Float or `None`. Stop once the metric is at least
            this good. Defaults to `None`.
        check_finite: Boolean. Stop when the metric is NaN or infinite.
            Defaults to `True`.

    Raises:
        ValueError: If an argument is out of range, or, at the first epoch's
            end, the direction of the monitored metric cannot be inferred
            with `mode="auto"` (as Keras does), or the metric holds more than
            one value. A missing metric gives a warning listing the available
            keys, as in Keras.

    Example:

    ```python
    stopper = EarlyStopping(patience=5, divergence_threshold=10.0)
    model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[stopper])
    stopper.best_epoch, stopper.stop_reason
    ```
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 1e-4,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = True,
        start_from_epoch: int = 0,
        divergence_threshold: float | None = None,
        stopping_threshold: float | None = None,
        check_finite: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"Argument `monitor` must be a non-empty string. Received: monitor={monitor!r}")
        check_number("min_delta", min_delta, minimum=0)
        check_integer("patience", patience, minimum=0)
        check_integer("verbose", verbose, minimum=0)
        check_choice("mode", mode, MODES)
        check_number("baseline", baseline, allow_none=True)
        check_integer("start_from_epoch", start_from_epoch, minimum=0)
        for name, value in (
            ("divergence_threshold", divergence_threshold),
            ("stopping_threshold", stopping_threshold),
        ):
            check_number(name, value, allow_none=True)
        self.monitor = monitor
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.mode = mode
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.divergence_threshold = divergence_threshold
        self.stopping_threshold = stopping_threshold
        self.check_finite = check_finite
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.best_weights: Any = None
        self.stopped_epoch = 0
        self.stop_reason: str | None = None
        self.monitor_op: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()

    def _monitor_op(self) -> Any:
        """`keras.ops.less` when smaller is better, `keras.ops.greater` when larger is."""
        if self.mode != "auto":
            return keras.ops.less if self.mode == "min" else keras.ops.greater
        name = self.monitor.removeprefix("val_")
        if name.endswith("loss") or "error" in name:
            return keras.ops.less
        for metric in getattr(self.model, "metrics", None) or []:
            for inner in getattr(metric, "metrics", [metric]):
                direction = _keras_compat.metric_direction(inner)
                if inner.name == name and direction is not None:
                    return keras.ops.greater if direction == "up" else keras.ops.less
        if name in _MAXIMIZED or name.endswith(_MAXIMIZED):
            return keras.ops.greater
        raise ValueError(
            f"EarlyStopping cannot tell whether `{self.monitor}` should go "
            "down or up. Pass mode='min' or mode='max'. Received: mode='auto'"
        )

    def _better(self, value: float, reference: float, delta: float = 0.0) -> bool:
        """Whether `value` beats `reference` by more than `delta`."""
        sign = 1.0 if self.monitor_op is keras.ops.less else -1.0
        return sign * (reference - value) > delta

    def _value(self, logs: dict[str, Any]) -> float:
        value = np.asarray(logs[self.monitor], dtype="float64")
        if value.size != 1:
            raise ValueError(
                f"EarlyStopping needs one number for `{self.monitor}`, which holds {value.size} values "
                f"(shape {value.shape}); monitor a scalar metric, e.g. F1Score(average='macro'). "
                f"Received: {self.monitor}={value.tolist()!r}"
            )
        return float(value.reshape(()))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.monitor_op is None:
            # As Keras: decided once the model's metrics are built, and an
            # undecidable direction raises even when the metric is missing.
            self.monitor_op = self._monitor_op()
        if self.monitor not in logs:
            # A warning, not an error, as in Keras: with `validation_freq > 1`
            # the `val_` keys are legitimately missing on some epochs.
            warnings.warn(
                f"EarlyStopping is monitoring `{self.monitor}`, which is not "
                f"in the epoch logs. Available keys: {sorted(logs)}. Pass one "
                "of them as `monitor` (`val_` keys need validation data).",
                stacklevel=2,
            )
            return
        current = self._value(logs)
        if self.check_finite and not math.isfinite(current):
            return self._stop(epoch, "non_finite")
        if epoch < self.start_from_epoch:
            return
        if self.divergence_threshold is not None and self._better(self.divergence_threshold, current):
            return self._stop(epoch, "divergence")
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self.best is None or self._better(current, self.best, self.min_delta):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(current, self.baseline, self.min_delta):
                self.wait = 0
            if self.stopping_threshold is not None and not self._better(self.stopping_threshold, current):
                self._stop(epoch, "threshold")
            return
        if self.wait >= self.patience and epoch > 0:
            self._stop(epoch, "patience")

    def _stop(self, epoch: int, reason: str) -> None:
        self.stopped_epoch = epoch
        self.stop_reason = reason
        self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.verbose and self.best is not None:
            stopped = (
                "did not stop training"
                if self.stop_reason is None
                else f"stopped at epoch {self.stopped_epoch + 1} ({self.stop_reason})"
            )
            print_message(
                f"EarlyStopping {stopped}; best {self.monitor}={self.best:.6g} "
                f"at epoch {self.best_epoch + 1}."
            )
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print_message(
                    f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)
