"""The `callbacks:` section of a recipe."""

from typing import Literal

from pydantic import Field

from kerasforge.recipes.schema.base import Int32, NonNegativeFloat, StrictModel
from kerasforge.vocabulary import log_keys

# Epoch log keys a recipe run writes besides the compiled loss and metrics and their
# `val_` twins: the learning rate (LearningRateLogger, always attached) and the wall time
# of the updates (the engine's epoch clock).
ALWAYS_LOGGED = (log_keys.LEARNING_RATE, log_keys.TRAIN_SECONDS)


class EarlyStoppingSection(StrictModel):
    """Stop when the monitored metric stops improving by at least `min_delta`."""

    enabled: bool = Field(True, description="Use early stopping.")
    monitor: str = Field("val_loss", description="Epoch log key to watch.")
    min_delta: NonNegativeFloat = Field(1e-4, description="Smallest change that counts as improvement.")
    patience: Int32 = Field(10, ge=0, description="Epochs without improvement before stopping.")
    mode: Literal["auto", "min", "max"] = Field("auto", description="Direction of improvement.")
    restore_best_weights: bool = Field(True, description="End with the best epoch's weights.")
    start_from_epoch: Int32 = Field(0, ge=0, description="Epochs to wait before watching.")
    divergence_threshold: float | None = Field(
        None, description="Stop at once when the metric is worse than this."
    )
    stopping_threshold: float | None = Field(None, description="Stop as soon as the metric is this good.")


class GradientMonitorSection(StrictModel):
    """Per-layer gradient norms in the epoch logs, with vanishing/exploding alerts."""

    enabled: bool = Field(True, description="Record gradient norms and watch for trouble.")
    on_detect: Literal["warn", "stop", "raise", "log"] = Field("warn", description="What a detection does.")
    vanishing_threshold: float | None = Field(
        None, gt=0.0, description="Absolute gradient norm below which a layer counts as vanishing."
    )
    vanishing_ratio: float | None = Field(
        None, gt=0.0, lt=1.0, description="Fraction of the largest layer norm below which it vanishes."
    )
    exploding_threshold: float | None = Field(
        None, gt=0.0, description="Gradient norm above which a layer counts as exploding."
    )
    growth_factor: float | None = Field(
        None, gt=1.0, description="Epoch-over-epoch growth that counts as exploding."
    )
    patience: Int32 | None = Field(None, ge=1, description="Epochs a condition must hold.")


class ActivationMonitorSection(StrictModel):
    """Dead ReLU units and saturated sigmoid/tanh units, measured on a validation batch."""

    enabled: bool = Field(True, description="Record dead and saturated unit fractions.")
    on_detect: Literal["warn", "stop", "raise", "log"] = Field("warn", description="What a detection does.")
    probe_rows: Int32 = Field(256, ge=1, description="Validation rows in the probe batch.")


class CallbacksSection(StrictModel):
    """Callbacks attached to every fit of the recipe."""

    early_stopping: EarlyStoppingSection = Field(default_factory=EarlyStoppingSection)
    gradient_monitor: GradientMonitorSection = Field(default_factory=GradientMonitorSection)
    activation_monitor: ActivationMonitorSection = Field(default_factory=ActivationMonitorSection)

    def log_prefixes(self) -> tuple[str, ...]:
        """The `<prefix>/<layer>` log keys the enabled monitors write."""
        prefixes = ()
        if self.gradient_monitor.enabled:
            prefixes += log_keys.GRADIENT_QUANTITIES
        if self.activation_monitor.enabled:
            prefixes += log_keys.ACTIVATION_QUANTITIES
        return prefixes
