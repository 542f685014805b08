"""The names the callbacks write into the epoch `logs`, and how to read them back.

A per-layer key is `<quantity>/<layer>`, for example `grad_norm/dense_1` or
`grad_norm/encoder/hidden`: the quantity never contains a `/`, and the layer
is the path of the layer inside the model (a nested model's name, a `/`,
then the layer's name), so two sub-models that each have a layer `hidden`
give two keys. The whole model's value uses the layer name `global`
(`grad_norm/global`). A key without a `/`, such as `learning_rate`, is a
plain scalar like `loss`.

Everything that writes or reads these keys (the monitors, the progress bar,
a run's diagnosis and plots) goes through this module, so a key is spelled
in one place.

Example:

```python
from kerasforge.vocabulary import log_keys

log_keys.make_key(log_keys.GRAD_NORM, "encoder/hidden")  # "grad_norm/encoder/hidden"
log_keys.parse_key("grad_norm/encoder/hidden")  # LogKey("grad_norm", "encoder/hidden")
log_keys.layer_keys(history.history, log_keys.GRAD_NORM)  # {"dense": "grad_norm/dense", ...}
```
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

SEPARATOR = "/"
GLOBAL = "global"

# Written by GradientNormMonitor.
GRAD_NORM = "grad_norm"
"""Root mean square over the epoch's steps of the gradient's L2 norm."""
GRAD_NORM_MAX = "grad_norm_max"
"""Largest step's gradient L2 norm in the epoch."""
GRAD_NON_FINITE = "grad_non_finite"
"""Steps of the epoch whose gradient norm was NaN or infinite."""
WEIGHT_NORM = "weight_norm"
"""L2 norm of the layer's trainable weights at the epoch's end."""
UPDATE_RATIO = "update_ratio"
"""||w_after - w_before|| / ||w_before|| of one step, sampled once per epoch."""

# Written by ActivationMonitor.
DEAD_FRACTION = "dead_fraction"
"""Fraction of a ReLU-family layer's units never positive on the probe batch."""
SATURATED_FRACTION = "saturated_fraction"
"""Fraction of a sigmoid/tanh layer's outputs in the flat region."""

# Written by LearningRateLogger; a plain scalar, not per layer.
LEARNING_RATE = "learning_rate"

# Written by TrialPruner: 1.0 at the epoch it stopped training, else 0.0.
PRUNED = "pruned"

# Written by the recipe engine's epoch clock: seconds of the epoch's updates, before validation.
TRAIN_SECONDS = "train_seconds"

GRADIENT_QUANTITIES = (GRAD_NORM, GRAD_NORM_MAX, GRAD_NON_FINITE, WEIGHT_NORM, UPDATE_RATIO)
"""The per-layer quantities GradientNormMonitor writes."""
ACTIVATION_QUANTITIES = (DEAD_FRACTION, SATURATED_FRACTION)
"""The per-layer quantities ActivationMonitor writes."""
QUANTITIES = GRADIENT_QUANTITIES + ACTIVATION_QUANTITIES
"""Every per-layer quantity, in the order a report shows them."""


class LogKey(NamedTuple):
    """A parsed per-layer key: the quantity and the layer path (or `GLOBAL`)."""

    quantity: str
    layer: str

    @property
    def is_global(self) -> bool:
        """Whether the key holds the whole model's value."""
        return self.layer == GLOBAL


def _check_quantity(quantity: str) -> None:
    if quantity not in QUANTITIES:
        allowed = ", ".join(repr(name) for name in QUANTITIES)
        raise ValueError(f"Argument `quantity` must be one of {allowed}. Received: quantity={quantity!r}")


def make_key(quantity: str, layer: str) -> str:
    """Returns the log key of `quantity` for `layer` (a path, or `GLOBAL`).

    Args:
        quantity: String. One of `QUANTITIES`, e.g. `GRAD_NORM`.
        layer: String. The layer's path in the model, e.g. `"encoder/hidden"`.

    Returns:
        String, e.g. `"grad_norm/encoder/hidden"`.

    Raises:
        ValueError: If `quantity` is not one of `QUANTITIES` or `layer` is empty.
    """
    _check_quantity(quantity)
    if not layer:
        raise ValueError(f"Argument `layer` must be a non-empty layer path. Received: layer={layer!r}")
    return f"{quantity}{SEPARATOR}{layer}"


def global_key(quantity: str) -> str:
    """Returns the key of the whole model's value of `quantity`, e.g. `grad_norm/global`."""
    return make_key(quantity, GLOBAL)


def parse_key(key: str) -> LogKey | None:
    """Splits a per-layer key into its quantity and layer path.

    Args:
        key: String. Any epoch log key.

    Returns:
        A `LogKey`, or `None` when `key` is not a per-layer key of a known
        quantity (`loss`, `val_accuracy`, `learning_rate`, ...).
    """
    quantity, separator, layer = key.partition(SEPARATOR)
    if not separator or not layer or quantity not in QUANTITIES:
        return None
    return LogKey(quantity, layer)


def is_per_layer_key(key: str) -> bool:
    """Whether `key` is a per-layer (or global) diagnostic key, not a metric."""
    return parse_key(key) is not None


def layer_keys(keys: Iterable[str], quantity: str, include_global: bool = False) -> dict[str, str]:
    """Maps each layer path to its key of `quantity`, in the order of `keys`.

    Args:
        keys: Iterable of log keys, e.g. `history.history` or a DataFrame's
            columns.
        quantity: String. One of `QUANTITIES`.
        include_global: Boolean. Also return the `GLOBAL` entry. Defaults to
            `False`.

    Returns:
        Dict of layer path to key, e.g. `{"dense": "grad_norm/dense"}`.

    Raises:
        ValueError: If `quantity` is not one of `QUANTITIES`.
    """
    _check_quantity(quantity)
    found = {}
    for key in keys:
        parsed = parse_key(key)
        if parsed is not None and parsed.quantity == quantity and (include_global or not parsed.is_global):
            found[parsed.layer] = key
    return found
