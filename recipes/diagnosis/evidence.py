"""`RunEvidence`: what the diagnosis rules read about one run, as physical quantities.

The rules compare a run with itself and with physics, not with fixed absolute
numbers: the loss against the loss of the best constant prediction, a layer's
gradient against the other layers', a step against the weights it moves, the
slope of the loss over the last epochs against its noise, and the initial
weights against the scale that keeps a signal's variance through a layer.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kerasforge.recipes.schema.model import InitializerSpec
from kerasforge.recipes.schema.recipe import Recipe
from kerasforge.recipes.schema.training import ScheduleSection
from kerasforge.vocabulary import log_keys

# Epochs at the start of a run that show how it began: a third of the run, 1 to 5 epochs.
EARLY_EPOCHS = 5
# The window over which "still improving" is measured: the last epochs, at most this many.
RECENT_EPOCHS = 5
# A loss still falling by this share of its value per epoch at the end (and by more than its
# noise) would have gone on improving: another run as long would take off several percent.
STILL_IMPROVING_RATE = 0.01
# ... as is one falling at least this share of its average pace over the whole run: a run near
# its minimum slows down (healthy runs end at a tenth of their average pace or less), one far
# from it keeps going in a straight line, however slowly. Below MIN_IMPROVING_RATE it is a drift.
UNSLOWED_PACE = 0.5
MIN_IMPROVING_RATE = 0.001
# Activations whose variance-preserving initialisation (He) has gain sqrt(2); the others, 1.
RELU_LIKE = ("relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "swish", "mish", "softplus")
# Activations with flat tails, whose units saturate and pass slopes near zero.
SATURATING = ("sigmoid", "tanh", "hard_sigmoid", "softsign")
# Initialisers that give every unit of a layer the same weights: the units can never differ.
SYMMETRIC_INITIALIZERS = ("zeros", "ones", "constant")


@dataclass
class RunEvidence:
    """What the rules look at: the history frame, the recipe, events and data facts."""

    history: pd.DataFrame
    recipe: Recipe | None = None
    events: list = field(default_factory=list)
    data_info: dict = field(default_factory=dict)

    # -- columns ---------------------------------------------------------------------------

    def series(self, key: str) -> np.ndarray | None:
        """The column as floats, or None when the run did not log it."""
        if key not in self.history:
            return None
        return self.history[key].to_numpy(dtype=float)

    def layer_columns(self, quantity: str) -> dict[str, np.ndarray]:
        """Per-layer columns of a `log_keys` quantity (not the global one) as layer -> values."""
        return {
            layer: self.history[key].to_numpy(dtype=float)
            for layer, key in log_keys.layer_keys(self.history.columns, quantity).items()
        }

    def hidden_columns(self, quantity: str) -> dict[str, np.ndarray]:
        """The hidden Dense layers' columns (`hidden_1`, `hidden_2`, ...), input side first.

        The output layer is left out: its bias starts at the target's mean, so
        its weight norm measures the target's scale, not the network's.
        Falls back to every layer when the model has no `hidden_N` layers.
        """
        columns = self.layer_columns(quantity)
        hidden = {name: values for name, values in columns.items() if hidden_index(name) is not None}
        return dict(sorted(hidden.items(), key=lambda item: hidden_index(item[0]))) or columns

    def global_series(self, quantity: str) -> np.ndarray | None:
        """The whole model's column of a `log_keys` quantity, or None when not logged."""
        return self.series(log_keys.global_key(quantity))

    # -- the run's shape ---------------------------------------------------------------------

    @property
    def epochs(self) -> int:
        """Epochs the run trained."""
        return len(self.history)

    @property
    def early(self) -> slice:
        """The first third of the run (1 to `EARLY_EPOCHS` epochs): how training began."""
        return slice(0, min(EARLY_EPOCHS, max(1, math.ceil(self.epochs / 3))))

    @property
    def baseline(self) -> float | None:
        """The training loss of the best constant prediction (`data.json`), if known."""
        value = self.data_info.get("baseline_loss")
        return float(value) if value else None

    @property
    def stopped_by_early_stopping(self) -> bool:
        """Whether early stopping ended the run before its last planned epoch."""
        if self.recipe is None:
            return False
        stopping = self.recipe.callbacks.early_stopping
        return stopping.enabled and self.epochs < self.recipe.training.epochs

    @property
    def updates_per_epoch(self) -> int | None:
        """Optimizer updates per epoch: training rows over the batch size."""
        rows = (self.data_info.get("rows") or {}).get("train")
        if self.recipe is None or not rows:
            return None
        training = self.recipe.training
        if training.drop_remainder:
            return max(1, rows // training.batch_size)
        return math.ceil(rows / training.batch_size)

    @property
    def input_features(self) -> int | None:
        """Number of input columns the model sees, from the data description."""
        scales = self.data_info.get("feature_scales")
        return len(scales) if scales else None

    # -- derived quantities ------------------------------------------------------------------

    def fit_share(self) -> float | None:
        """The final loss as a share of the constant prediction's: 1 means nothing was learnt.

        The smaller of the final train and validation loss, so dropout's noise
        in the training loss does not count as a poor fit.
        """
        baseline = self.baseline
        loss = self.series("loss")
        if not baseline or loss is None or not np.isfinite(loss[-1]):
            return None
        final = float(loss[-1])
        val = self.series("val_loss")
        if val is not None and np.isfinite(val[-1]):
            final = min(final, float(val[-1]))
        return final / baseline

    def step_ratios(self) -> np.ndarray | None:
        """Per epoch, the median over hidden layers of `update_ratio`: how far one step moves
        the weights, relative to their norm. None when not logged."""
        columns = self.hidden_columns(log_keys.UPDATE_RATIO)
        if not columns:
            return None
        stacked = np.vstack(list(columns.values()))
        with np.errstate(all="ignore"):
            stacked = np.where(np.isfinite(stacked), stacked, np.nan)
            if np.all(np.isnan(stacked)):
                return None
            return np.nanmedian(stacked, axis=0)

    def typical_step(self) -> float | None:
        """The median step ratio over the first third of the run (see `step_ratios`)."""
        ratios = self.step_ratios()
        if ratios is None:
            return None
        early = ratios[self.early]
        early = early[np.isfinite(early)]
        return float(np.median(early)) if len(early) else None

    def largest_step(self) -> tuple[float, int] | None:
        """The largest step ratio of the run and its epoch (1-based)."""
        ratios = self.step_ratios()
        if ratios is None or not np.isfinite(ratios).any():
            return None
        index = int(np.nanargmax(ratios))
        return float(ratios[index]), epoch_number(index)

    def init_amplification(self) -> float | None:
        """How much the initial weights multiply a signal's spread through the whole network.

        Each layer multiplies it by `std(w) * sqrt(fan_in) / gain`, where `gain`
        is that of the variance-preserving initialisation for the activation
        (sqrt(2), He, for the ReLU family; 1, Glorot/LeCun, otherwise): 1 per
        layer keeps the signal's variance, so gradients neither vanish nor
        explode at the start. None without a recipe or for pretrained weights.
        """
        if self.recipe is None or self.recipe.model.init_from:
            return None
        model = self.recipe.model
        widths = model.hidden_widths
        fan_ins = [self.input_features or (widths[0] if widths else 1), *widths]
        fan_outs = [*widths, 1]
        hidden_gain = math.sqrt(2.0) if model.activation in RELU_LIKE else 1.0
        amplification = 1.0
        for index, (fan_in, fan_out) in enumerate(zip(fan_ins, fan_outs, strict=True)):
            gain = hidden_gain if index < len(widths) else 1.0
            amplification *= initial_std(model.kernel_initializer, fan_in, fan_out) * math.sqrt(fan_in) / gain
        return amplification

    def recent_improvement(self, key: str = "val_loss") -> tuple[float, float] | None:
        """How fast `key` was still falling at the end: (share per epoch, share above noise).

        Fits a line to the last `RECENT_EPOCHS` epochs. The first number is the
        fitted fall per epoch as a share of the final value; the second is the
        fitted fall over the window minus three standard deviations of the
        points around the line, as a share of the final value (> 0: the fall is
        larger than the noise). None when the series is missing or not finite.
        """
        values = self.series(key)
        if values is None or len(values) < 2:
            return None
        window = values[-RECENT_EPOCHS:]
        if not np.all(np.isfinite(window)) or window[-1] == 0:
            return None
        epochs = np.arange(len(window), dtype=float)
        slope, intercept = np.polyfit(epochs, window, 1)
        noise = float(np.std(window - (slope * epochs + intercept))) if len(window) > 2 else 0.0
        scale = abs(float(window[-1]))
        fall = -slope * (len(window) - 1)
        return float(-slope / scale), float((fall - 3 * noise) / scale)

    def still_improving(self) -> dict | None:
        """How the validation loss (or the loss, without one) was still falling when the run ended.

        Returns None unless, over the last epochs, it fell by more than its
        noise (see `recent_improvement`) and either by `STILL_IMPROVING_RATE`
        of its value per epoch or, if at least by `MIN_IMPROVING_RATE`, at
        `UNSLOWED_PACE` of its average pace over the run or more (not slowing
        down: far from its minimum); the training loss fell too; and early
        stopping did not end the run. Otherwise a dict: `key`, `rate` (share per epoch),
        `start` and `end` (the window's first and last values), `epochs` (its length).
        """
        if self.stopped_by_early_stopping:
            return None
        val = self.series("val_loss")
        key = "val_loss" if val is not None and np.all(np.isfinite(val[-RECENT_EPOCHS:])) else "loss"
        measured = self.recent_improvement(key)
        if measured is None or measured[0] < MIN_IMPROVING_RATE or measured[1] <= 0:
            return None
        values = self.series(key)
        average = (values[0] - values[-1]) / max(len(values) - 1, 1) / abs(values[-1])
        if measured[0] < STILL_IMPROVING_RATE and measured[0] < UNSLOWED_PACE * average:
            return None
        if key != "loss":
            train = self.recent_improvement("loss")
            if train is None or train[0] <= 0:
                return None
        window = self.series(key)[-RECENT_EPOCHS:]
        return {
            "key": key,
            "rate": measured[0],
            "start": float(window[0]),
            "end": float(window[-1]),
            "epochs": len(window),
        }


def hidden_index(layer: str) -> int | None:
    """The N of a `hidden_N` layer name, or None for other layers."""
    prefix, _, number = layer.partition("_")
    return int(number) if prefix == "hidden" and number.isdigit() else None


def initial_std(spec: str | InitializerSpec, fan_in: int, fan_out: int) -> float:
    """The standard deviation of a Keras initialiser's weights for a layer (for constants, |value|)."""
    name = spec.name if isinstance(spec, InitializerSpec) else spec
    arguments = spec.model_dump(exclude_none=True) if isinstance(spec, InitializerSpec) else {}
    if name.startswith("glorot"):
        return math.sqrt(2.0 / (fan_in + fan_out))
    if name.startswith("he_"):
        return math.sqrt(2.0 / fan_in)
    if name.startswith("lecun"):
        return math.sqrt(1.0 / fan_in)
    if name == "variance_scaling":
        return math.sqrt(arguments.get("scale", 1.0) / fan_in)
    if name == "orthogonal":
        return arguments.get("gain", 1.0) / math.sqrt(max(fan_in, fan_out))
    if name in ("random_normal", "truncated_normal"):
        # A truncated normal drops draws beyond two deviations, shrinking the spread by 0.88.
        return arguments.get("stddev", 0.05) * (0.88 if name == "truncated_normal" else 1.0)
    if name == "random_uniform":
        return (arguments.get("maxval", 0.05) - arguments.get("minval", -0.05)) / math.sqrt(12.0)
    if name == "ones":
        return 1.0
    if name == "constant":
        return abs(arguments.get("value", 0.0))
    return 0.0  # zeros


def initializer_name(spec: str | InitializerSpec) -> str:
    """The Keras name of an initialiser given as a name or a spec."""
    return spec.name if isinstance(spec, InitializerSpec) else spec


def proper_initializer(recipe: Recipe | None) -> str:
    """The variance-preserving initialiser for the recipe's activation: He or Glorot."""
    if recipe is not None and recipe.model.activation not in RELU_LIKE:
        return "glorot_uniform"
    return "he_normal"


def epoch_number(index) -> int:
    """The 1-based epoch of a 0-based history row."""
    return int(index) + 1


def learning_rate(recipe: Recipe | None) -> float | None:
    """The recipe's constant learning rate, or its schedule's peak."""
    if recipe is None:
        return None
    rate = recipe.training.learning_rate
    return rate.peak if isinstance(rate, ScheduleSection) else float(rate)


def learning_rate_change(recipe: Recipe | None, factor: float) -> dict:
    """The change scaling the recipe's learning rate (or schedule peak) by `factor`."""
    if recipe is None:
        return {}
    rate = recipe.training.learning_rate
    key = "training.learning_rate.peak" if isinstance(rate, ScheduleSection) else "training.learning_rate"
    return {key: float(f"{learning_rate(recipe) * factor:.3g}")}


def longer_training_change(recipe: Recipe | None, factor: int = 3, at_least: int = 30) -> dict:
    """More epochs (`factor` times, at least `at_least`), with early stopping on so the extra
    epochs cannot cost validation loss: it stops when they stop helping and restores the best."""
    if recipe is None:
        return {}
    changes = {"training.epochs": max(recipe.training.epochs * factor, at_least)}
    if not recipe.callbacks.early_stopping.enabled:
        changes["callbacks.early_stopping.enabled"] = True
    return changes
