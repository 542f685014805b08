"""`TrialPruner`: stops a training run as soon as a rule finds a problem it will not recover from."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np

from kerasforge.checks import check_integer
from kerasforge.vocabulary import HealthKind, log_keys

from ._config import ConfigFromInit
from ._health_events import print_message

logger = logging.getLogger("kerasforge.callbacks")

Verdict = tuple[str, str]
"""What a rule found: `(kind, evidence)`."""
OnlineRule = Callable[[Mapping[str, Sequence[float]], int, int], "Verdict | None"]
"""`rule(history, epoch, epochs)`: the epoch logs so far (key -> one value per epoch of this
fit), the 1-based epoch just finished and the epochs planned; a `Verdict` to stop, else None."""
BatchRule = Callable[[Sequence[float], int], "Verdict | None"]
"""`rule(windows, epoch)`: the mean training loss of each window of `check_every` batches since the
fit began (oldest first) and the 1-based epoch running; a `Verdict` to stop at once, else None."""


def non_finite(history: Mapping[str, Sequence[float]], epoch: int, epochs: int) -> Verdict | None:
    """A NaN or infinite loss, or a step with a NaN or infinite gradient: no update recovers from it.

    Reads `loss` and `grad_non_finite/global` (written by `GradientNormMonitor`). Once a weight is
    NaN every later output and gradient is NaN too, so there is nothing left to wait for.
    """
    loss = history.get("loss") or []
    if loss and not math.isfinite(loss[-1]):
        return HealthKind.NON_FINITE.value, f"loss became {loss[-1]} at epoch {epoch}"
    steps = history.get(log_keys.global_key(log_keys.GRAD_NON_FINITE)) or []
    if steps and steps[-1] and math.isfinite(steps[-1]):
        return (
            HealthKind.NON_FINITE.value,
            f"{int(steps[-1])} step(s) of epoch {epoch} had a NaN/Inf gradient",
        )
    return None


class TrialPruner(ConfigFromInit, keras.callbacks.Callback):
    """Stops training when one of its rules finds a problem the run will not recover from.

    At each epoch's end it appends the epoch `logs` (the loss, the metrics and
    whatever the monitors before it logged, e.g. `grad_norm/<layer>`,
    `dead_fraction/<layer>`) to `history`, then asks each rule, in order:
    first `non_finite` (unless `check_finite=False`), then `rules`. The first
    rule that answers stops training (`model.stop_training`) and sets
    `verdict`: `{"kind", "evidence", "epoch"}` (the 1-based epoch, counted
    from the start of training, so a fit with `initial_epoch` reports the
    real epoch). It logs `pruned` (`log_keys.PRUNED`): 0.0 each epoch, 1.0
    at the epoch it stopped training. Put it after the monitors, so their
    logs are in. Backend-neutral: it reads only the logs. State is reset at
    each `fit`.

    With `check_every`, it also looks inside each epoch: every
    `check_every` batches (or at the next batch end Keras reports, when one
    call runs several steps) it takes the mean training loss of the batches
    since its last look (from Keras's running mean of the epoch) and stops at
    once on a non-finite one (`check_finite`) or when a `batch_rules` rule
    answers. A run that turns NaN in its first steps then costs those steps,
    not a whole epoch. Looking makes Keras wait for that batch's logs, so a
    look every few dozen steps costs next to nothing.

    Args:
        rules: Sequence of `OnlineRule` callables `rule(history, epoch,
            epochs) -> (kind, evidence) | None`. Defaults to `()`.
        check_finite: Boolean. Also stop on a non-finite loss or gradient.
            Defaults to `True`.
        verbose: Integer. 1 prints the verdict. Defaults to `0`.
        check_every: Integer or None. Batches between looks inside an epoch;
            None looks only at epochs' ends. Defaults to `None`.
        batch_rules: Sequence of `BatchRule` callables `rule(windows, epoch)
            -> (kind, evidence) | None`, asked at each look. Defaults to `()`.

    Raises:
        ValueError: If a rule is not callable, `verbose` is negative or
            `check_every` is below 1.

    Example:

    ```python
    def stuck(history, epoch, epochs):
        return ("stuck", "loss above 2.0") if epoch >= 3 and history["loss"][-1] > 2.0 else None

    pruner = TrialPruner(rules=[stuck])
    model.fit(x, y, epochs=20, callbacks=[GradientNormMonitor(), pruner])
    pruner.verdict  # None, or {"kind": "stuck", "evidence": "loss above 2.0", "epoch": 3}
    ```
    """

    def __init__(
        self,
        rules: Sequence[OnlineRule] = (),
        check_finite: bool = True,
        verbose: int = 0,
        check_every: int | None = None,
        batch_rules: Sequence[BatchRule] = (),
    ) -> None:
        super().__init__()
        rules, batch_rules = tuple(rules), tuple(batch_rules)
        for name, given, signature in (
            ("rules", rules, "rule(history, epoch, epochs)"),
            ("batch_rules", batch_rules, "rule(windows, epoch)"),
        ):
            for index, rule in enumerate(given):
                if not callable(rule):
                    raise ValueError(
                        f"Argument `{name}` must hold callables {signature}. "
                        f"Received: {name}[{index}]={rule!r}"
                    )
        check_integer("verbose", verbose, minimum=0)
        check_integer("check_every", check_every, minimum=1, allow_none=True)
        self.rules = rules
        self.check_finite = bool(check_finite)
        self.verbose = verbose
        self.check_every = check_every
        self.batch_rules = batch_rules
        self._reset()

    def _reset(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.verdict: dict[str, Any] | None = None
        self.windows: list[float] = []
        self._seen = (0, 0.0)  # batches of this epoch looked at, and their mean loss

    @property
    def async_safe(self) -> bool:
        """Whether Keras may run `on_train_batch_end` in the background: only when it does not look
        inside epochs (a look reads the batch's loss)."""
        return self.check_every is None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch
        self._seen = (0, 0.0)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.check_every is None or self.verdict is not None or not logs or "loss" not in logs:
            return
        done, mean_before = self._seen
        if (batch + 1) // self.check_every <= done // self.check_every:
            return
        mean = float(np.asarray(logs["loss"], dtype="float64").reshape(()))
        # Keras logs the epoch's running mean: the window's own mean is what it added.
        window = (mean * (batch + 1) - mean_before * done) / (batch + 1 - done) if done else mean
        self._seen = (batch + 1, mean)
        self.windows.append(window if math.isfinite(mean) else mean)
        epoch = getattr(self, "_epoch", 0) + 1
        found = None
        if self.check_finite and not math.isfinite(mean):
            found = HealthKind.NON_FINITE.value, f"loss became {mean} at step {batch + 1} of epoch {epoch}"
        for rule in self.batch_rules:
            found = found or rule(self.windows, epoch)
        if found is not None:
            self._stop(found, epoch)

    def _stop(self, found: Verdict, epoch: int) -> None:
        kind, evidence = found
        self.verdict = {"kind": str(kind), "evidence": str(evidence), "epoch": epoch}
        self.model.stop_training = True
        message = f"TrialPruner stopped training at epoch {epoch}: {kind}: {evidence}"
        logger.info(message)
        if self.verbose:
            print_message(message)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()

    def _record(self, logs: Mapping[str, Any]) -> None:
        epochs = len(next(iter(self.history.values()), []))
        for key, value in logs.items():
            array = np.asarray(value, dtype="float64") if np.size(value) == 1 else None
            if array is None:
                continue  # a per-class metric is no number a rule reads
            series = self.history.setdefault(key, [math.nan] * epochs)
            series.append(float(array.reshape(())))
        for series in self.history.values():
            if len(series) == epochs:  # a key missing this epoch (e.g. `validation_freq`)
                series.append(math.nan)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        self._record({key: value for key, value in logs.items() if key != log_keys.PRUNED})
        planned = int((self.params or {}).get("epochs") or epoch + 1)
        found = None
        for rule in ((non_finite,) if self.check_finite else ()) + self.rules:
            found = rule(self.history, epoch + 1, planned)
            if found is not None:
                break
        stopped_inside = self.verdict is not None and self.verdict["epoch"] == epoch + 1
        logs[log_keys.PRUNED] = 0.0 if found is None and not stopped_inside else 1.0
        if found is None or self.verdict is not None:
            return
        self._stop(found, epoch + 1)
