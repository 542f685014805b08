"""Vanishing / exploding / non-finite rules for `GradientNormMonitor`.

Kept apart from the callback so the rules can be unit-tested on plain arrays.
Each (kind, layer) pair fires at most once per `fit`, so a sick layer gives one
event, not one per epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kerasforge.vocabulary.health_kinds import HealthKind
from kerasforge.vocabulary.log_keys import GLOBAL

from ._gradient_statistics import Statistics
from ._health_events import HealthEvent, make_event


class GradientRules:
    """Turns per-layer gradient statistics into events.

    The exploding rule is scale-free: its reference is the global gradient
    norm of the run's first reading (the root mean square over the first
    epoch, or over the first `log_every` steps), so a regression on targets
    in the hundreds, whose healthy gradients are that much larger, is judged
    like one on targets of order 1.

    Args:
        names: List of layer names, one per statistics column; the last
            column is the global norm and is named `log_keys.GLOBAL` here.
        vanishing_threshold: Float. Absolute epoch norm below which a
            layer counts as vanishing.
        vanishing_ratio: Float. Fraction of the largest layer's epoch
            norm below which a layer counts as vanishing.
        exploding_factor: Float. A step norm (of a layer, or global) above
            this many times the reference counts as exploding.
        exploding_threshold: Float or `None`. A step norm above this
            absolute value also counts as exploding.
        growth_factor: Float. Epoch-over-epoch growth of an epoch norm that
            counts as exploding.
        patience: Integer. Consecutive epochs a layer must look vanishing.
    """

    def __init__(
        self,
        names: Sequence[str],
        vanishing_threshold: float,
        vanishing_ratio: float,
        exploding_factor: float,
        exploding_threshold: float | None,
        growth_factor: float,
        patience: int,
    ) -> None:
        self.names = list(names) + [GLOBAL]
        self._vanishing_threshold = vanishing_threshold
        self._vanishing_ratio = vanishing_ratio
        self._exploding_factor = exploding_factor
        self._exploding_threshold = exploding_threshold
        self._growth_factor = growth_factor
        self._patience = patience
        self._low_epochs = np.zeros(len(names), dtype=int)
        self._previous_mean: np.ndarray | None = None
        self._fired: set[tuple[HealthKind, str]] = set()
        self.reference: float | None = None

    def _event(
        self, kind: HealthKind, column: int, epoch: int, value: float, message: str, step: int | None
    ) -> list[HealthEvent]:
        layer = self.names[column]
        if (kind, layer) in self._fired:
            return []
        self._fired.add((kind, layer))
        where = f"epoch {epoch + 1}" + ("" if step is None else f" step {step}")
        return [make_event(kind, layer, epoch, value, f"{where}: `{layer}` {message}", step=step)]

    def _exploding_limit(self) -> tuple[float, str] | None:
        """The step norm above which a gradient explodes, and how it was set."""
        limits = []
        if self.reference is not None:
            limit = self._exploding_factor * self.reference
            limits.append(
                (limit, f"{self._exploding_factor:g}x the run's early global norm {self.reference:.3g}")
            )
        if self._exploding_threshold is not None:
            limits.append((self._exploding_threshold, f"exploding_threshold={self._exploding_threshold:g}"))
        return min(limits, key=lambda pair: pair[0]) if limits else None

    def check_spikes(
        self, stats: Statistics, present: np.ndarray, epoch: int, step: int | None = None
    ) -> list[HealthEvent]:
        """Non-finite and above-limit norms; safe to call mid-epoch."""
        events: list[HealthEvent] = []
        layer_hit = False
        for column in np.flatnonzero(present):
            is_global = column == len(self.names) - 1
            count = stats["non_finite"][column]
            if count and not (is_global and layer_hit):
                layer_hit = True
                message = f"had {count} step(s) with a non-finite gradient norm."
                events += self._event(HealthKind.NON_FINITE, int(column), epoch, count, message, step)
        global_mean = float(stats["mean"][-1])
        if self.reference is None and stats["steps"] and np.isfinite(global_mean) and global_mean > 0:
            self.reference = global_mean
        limit = self._exploding_limit()
        if limit is None:
            return events
        for column in np.flatnonzero(present):
            peak = stats["max"][column]
            if peak > limit[0]:
                message = f"gradient norm reached {peak:.3g} > {limit[0]:.3g} ({limit[1]})."
                events += self._event(HealthKind.EXPLODING, int(column), epoch, peak, message, step)
        return events

    def check_epoch(self, stats: Statistics, present: np.ndarray, epoch: int) -> list[HealthEvent]:
        """All rules, on a finished epoch's statistics."""
        events = self.check_spikes(stats, present, epoch)
        mean = stats["mean"]
        if self._previous_mean is not None:
            for column in np.flatnonzero(present):
                before, now = self._previous_mean[column], mean[column]
                if before > 0 and now > self._growth_factor * before:
                    message = (
                        f"gradient norm grew {now / before:.3g}x in one epoch "
                        f"(growth_factor={self._growth_factor:g})."
                    )
                    events += self._event(HealthKind.EXPLODING, int(column), epoch, now, message, None)
        self._previous_mean = mean.copy()
        layers = np.flatnonzero(present[:-1])
        if layers.size == 0:
            return events
        largest = mean[layers].max()
        for column in layers:
            value = mean[column]
            low = value < self._vanishing_threshold or (value < self._vanishing_ratio * largest)
            self._low_epochs[column] = (self._low_epochs[column] + 1) * low
            if self._low_epochs[column] >= self._patience:
                message = (
                    f"gradient norm {value:.3g} is {value / max(largest, 1e-30):.2g} of the largest "
                    f"layer's ({largest:.3g}) for {self._low_epochs[column]} epoch(s)."
                )
                events += self._event(HealthKind.VANISHING, int(column), epoch, value, message, None)
        return events
