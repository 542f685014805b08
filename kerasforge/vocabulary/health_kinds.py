"""The kinds of training-health problem, one word per concept, with their remedies.

Every event a monitor records (`monitor.events[i]["kind"]`) is one of these,
and a diagnosis of a finished run names the same problems with the same
words. `HealthKind` is a `str` enum, so `HealthKind.VANISHING == "vanishing"`
and an event dict stays plain JSON.

The words, and why:

* `vanishing`: a layer's gradient is a tiny fraction of the largest
  layer's, so it barely learns.
* `exploding`: a gradient norm far above the run's own early norms, or
  growing many times from one epoch to the next.
* `non_finite`: a NaN or infinite gradient norm. Kept apart from
  `exploding` because a NaN also comes from `log(0)`, a division by zero or
  bad data, where clipping does not help; the remedies overlap.
* `dead_units`: most units of a ReLU-family layer (relu, relu6, leaky_relu,
  elu, selu) are never positive. Named for the units, not `dead_relu`,
  because the rule covers the whole family.
* `saturated`: most outputs of a sigmoid or tanh layer sit in the flat
  region, where the slope is near zero.

Example:

```python
from kerasforge.vocabulary import HealthKind

[event for event in monitor.events if event["kind"] == HealthKind.VANISHING]
HealthKind.DEAD_UNITS.remedy  # "lower the learning rate; use LeakyReLU ..."
```
"""

from __future__ import annotations

import enum


class HealthKind(str, enum.Enum):
    """A kind of training-health problem; the value is the word events use."""

    VANISHING = "vanishing"
    EXPLODING = "exploding"
    NON_FINITE = "non_finite"
    DEAD_UNITS = "dead_units"
    SATURATED = "saturated"

    def __str__(self) -> str:
        return self.value

    @property
    def remedy(self) -> str:
        """What to try, in one line: the fixes the monitors' summaries name."""
        return REMEDIES[self]


_EXPLODING_REMEDY = (
    "clip gradients (`clipnorm=` or `global_clipnorm=` on the optimizer); "
    "lower the learning rate; use a better initialisation (He or Glorot)"
)

REMEDIES: dict[HealthKind, str] = {
    HealthKind.VANISHING: (
        "use ReLU or LeakyReLU instead of sigmoid or tanh; He (ReLU) or "
        "Glorot (sigmoid/tanh) initialisation; add BatchNormalization; add "
        "residual connections; use fewer layers"
    ),
    HealthKind.EXPLODING: _EXPLODING_REMEDY,
    HealthKind.NON_FINITE: _EXPLODING_REMEDY
    + "; check the data and the loss for NaN, log(0) or division by zero",
    HealthKind.DEAD_UNITS: (
        "lower the learning rate; use LeakyReLU or ELU; He initialisation; "
        "check for large negative biases; add BatchNormalization"
    ),
    HealthKind.SATURATED: (
        "use a ReLU-family activation; normalise the inputs; Glorot initialisation; add BatchNormalization"
    ),
}
