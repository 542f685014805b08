"""Vanishing / exploding / non-finite rules for `GradientNormMonitor`.

Kept apart from the callback so the rules can be unit-tested on plain arrays.
Each (kind, layer) pair fires at most once per `fit`, so a sick layer gives one
event, not one per epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kerasforge.vocabulary.health_kinds import HealthKind
from kerasforge.vocabulary.log_keys import GLOBAL

from ._health_events import HealthEvent, make_event

Statistics = dict[str, Any]


class GradientRules:
    """Turns per-layer gradient statistics into events.

    Args:
        names: List of layer names, one per statistics column; the last
            column is the global norm and is named `log_keys.GLOBAL` here.
        vanishing_threshold: Float. Absolute epoch norm below which a
            layer counts as vanishing.
        vanishing_ratio: Float. Fraction of the largest layer's epoch
            norm below which a layer counts as vanishing.
        exploding_threshold: Float. Per-step norm above which a layer (or the
            global norm) counts as exploding.
        growth_factor: Float. Epoch-over-epoch growth of an epoch norm that
            counts as exploding.
        patience: Integer. Consecutive epochs a layer must look vanishing.
    """

    def __init__(
        self,
        names: Sequence[str],
        vanishing_threshold: float,
        vanishing_ratio: float,
        exploding_threshold: float,
        growth_factor: float,
        patience: int,
    ) -> None:
        self.names = list(names) + [GLOBAL]
        self._vanishing_threshold = vanishing_threshold
        self._vanishing_ratio = vanishing_ratio
        self._exploding_threshold = exploding_threshold
        self._growth_factor = growth_factor
        self._patience = patience
        self._low_epochs = np.zeros(len(names), dtype=int)
        self._previous_mean: np.ndarray | None = None
        self._fired: set[tuple[HealthKind, str]] = set()

    def _event(
        self, kind: HealthKind, column: int, epoch: int, value: float, message: str, step: int | None
    ) -> list[HealthEvent]:
        layer = self.names[column]
        if (kind, layer) in self._fired:
            return []
        self._fired.add((kind, layer))
        where = f"epoch {epoch + 1}" + ("" if step is None else f" step {step}")
        return [
            make_event(
                kind,
                layer,
                epoch,
                value,
                f"{where}: `{layer}` {message}",
                step=step,
            )
        ]

    def check_spikes(
        self, stats: Statistics, present: np.ndarray, epoch: int, step: int | None = None
    ) -> list[HealthEvent]:
        """Non-finite and above-threshold norms; safe to call mid-epoch."""
        events: list[HealthEvent] = []
        layer_hit = False
        for column in np.flatnonzero(present):
            is_global = column == len(self.names) - 1
            count = stats["non_finite"][column]
            if count and not (is_global and layer_hit):
                layer_hit = True
                events += self._event(
                    HealthKind.NON_FINITE,
                    int(column),
                    epoch,
                    count,
                    f"had {count} step(s) with a non-finite gradient norm.",
                    step,
                )
        for column in np.flatnonzero(present):
            peak = stats["max"][column]
            if peak > self._exploding_threshold:
                events += self._event(
                    HealthKind.EXPLODING,
                    int(column),
                    epoch,
                    peak,
                    f"gradient norm reached {peak:.3g} > exploding_threshold={self._exploding_threshold:g}.",
                    step,
                )
        return events

    def check_epoch(self, stats: Statistics, present: np.ndarray, epoch: int) -> list[HealthEvent]:
        """All rules, on a finished epoch's statistics."""
        events = self.check_spikes(stats, present, epoch)
        mean = stats["mean"]
        if self._previous_mean is not None:
            for column in np.flatnonzero(present):
                before, now = self._previous_mean[column], mean[column]
                if before > 0 and now > self._growth_factor * before:
                    events += self._event(
                        HealthKind.EXPLODING,
                        int(column),
                        epoch,
                        now,
                        f"gradient norm grew {now / before:.3g}x in one "
                        f"epoch (growth_factor={self._growth_factor:g}).",
                        None,
                    )
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
                events += self._event(
                    HealthKind.VANISHING,
                    int(column),
                    epoch,
                    value,
                    f"gradient norm {value:.3g} is "
                    f"{value / max(largest, 1e-30):.2g} of the largest layer's "
                    f"({largest:.3g}) for {self._low_epochs[column]} epoch(s).",
                    None,
                )
        return events
