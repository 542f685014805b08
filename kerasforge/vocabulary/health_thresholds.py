"""The thresholds that decide when training looks unhealthy, each with why.

`GradientNormMonitor` and `ActivationMonitor` take these as their argument
defaults, and a diagnosis of a finished run reads the same constants, so a
run is judged by one set of numbers. Each value was chosen from runs on
sklearn digits (Adam 1e-3, batch 32, 5 epochs) and is measured in the
README's section on the callbacks.
"""

from __future__ import annotations

VANISHING_RATIO = 1e-3
"""A layer whose epoch gradient norm is below this fraction of the largest
layer's is vanishing. In a 10x64 sigmoid MLP the six input-side layers sit at
6e-7 to 8e-4 of the largest from the first epoch on, while a ReLU/He MLP of
the same depth stays above 0.4 and a tanh/Glorot one above 0.14: 1e-3 leaves
two orders of magnitude on the healthy side."""

VANISHING_THRESHOLD = 1e-7
"""A layer whose epoch gradient norm is below this absolute value is vanishing,
whatever the other layers do (a float32 weight of order 1 no longer moves
under Adam's or SGD's usual step sizes)."""

VANISHING_PATIENCE = 2
"""Epochs in a row a layer must look vanishing before it is flagged: the first
epoch of a healthy net can start low and recover; a sick one stays low."""

EXPLODING_FACTOR = 100.0
"""A step's gradient norm above this many times the run's early global norm is
exploding. The early norm is the root mean square of the global norm over the
first epoch (`grad_norm/global` of epoch 1), or over the first `log_every`
steps when the monitor reads mid-epoch. Being relative, the rule holds for
targets of any scale: over every bundled recipe's healthy runs the largest
step stayed within 7.9x of that norm (diabetes, with targets in the hundreds:
5.8x; batch-1 SGD: 6.2x), while a 6-layer ReLU net with N(0, 0.3) weights
under SGD passes 100x its first step's norm two steps later, long before its
loss turns NaN."""

GROWTH_FACTOR = 10.0
"""An epoch gradient norm that grows more than this many times in one epoch is
exploding. Healthy runs grew at most 2.3x from one epoch to the next."""

DEAD_THRESHOLD = 0.5
"""A ReLU-family layer with more than this fraction of units never positive
on the probe batch has dead units. A healthy ReLU/He MLP keeps 5-27% per
layer; a dying one (bias -5, or learning rate 1.0) reaches 91-100%."""

SATURATION_THRESHOLD = 0.5
"""A sigmoid or tanh layer with more than this fraction of outputs in the flat
region is saturated."""

SATURATION_MARGIN = 0.02
"""An output within this distance of a sigmoid's asymptote (0 or 1), or within
twice it of tanh's (-1 or 1: the same slope), is in the flat region, where
the slope is below 0.02 (sigmoid) or 0.08 (tanh)."""
