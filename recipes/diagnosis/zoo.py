"""The fault zoo: small runs with one known injected fault each, and healthy controls.

Each `ZooEntry` is a recipe (a shared base, a dataset and the fault's overrides) and
the root-cause kind a correct diagnosis names first (None for a healthy control).
`benchmarks/diagnosis_zoo.py` trains them all, runs `doctor` on each and scores the
diagnosis; the tests train some. `TUNING` is the set the rules' thresholds were
checked on; `HELD_OUT` was written after the rules, on other datasets, seeds and
settings, and is scored separately; two rules were then adjusted on its misses,
so `FRESH` was written after that and scored once, as the rules then stood.

Example:

```python
from kerasforge.recipes.diagnosis.zoo import TUNING

entry = TUNING["lr_high_sgd"]
recipe = entry.recipe()  # digits, SGD at learning rate 4.0
entry.expected  # "learning_rate_too_high"
```
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kerasforge.recipes.schema.loading import load_recipe
from kerasforge.recipes.schema.recipe import Recipe

# Every zoo run starts here: a 64-64 ReLU/He MLP, Adam at 1e-3, 15 epochs, monitors on and quiet.
BASE: dict[str, Any] = {
    "name": "zoo",
    "seed": 0,
    "model": {"hidden": [64, 64], "activation": "relu", "kernel_initializer": "he_normal"},
    "training": {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 32, "epochs": 15},
    "callbacks": {
        "early_stopping": {"enabled": False},
        "gradient_monitor": {"on_detect": "log"},
        "activation_monitor": {"on_detect": "log"},
    },
}

# Dataset -> the overrides that select it (classification and regression).
DATASETS: dict[str, dict[str, Any]] = {
    "digits": {"data.source": "digits", "model.task": "multiclass"},
    "breast_cancer": {"data.source": "breast_cancer", "model.task": "binary"},
    "wine": {"data.source": "wine", "model.task": "multiclass"},
    "iris": {"data.source": "iris", "model.task": "multiclass"},
    "diabetes": {"data.source": "diabetes", "model.task": "regression"},
    "synthetic_binary": {
        "data.source": "synthetic",
        "model.task": "binary",
        "data.synthetic": {"rows": 2000, "features": 30, "informative": 6, "noise": 0.1},
    },
    "synthetic_regression": {
        "data.source": "synthetic",
        "model.task": "regression",
        "data.synthetic": {"rows": 1000, "features": 10, "noise": 10.0},
    },
    "synthetic_multiclass": {
        "data.source": "synthetic",
        "model.task": "multiclass",
        "data.synthetic": {"rows": 1000, "features": 20, "classes": 3, "noise": 0.05},
    },
}

# A healthy control trains until early stopping (patience 5) says it is done.
HEALTHY = {
    "callbacks.early_stopping.enabled": True,
    "callbacks.early_stopping.patience": 5,
    "training.epochs": 80,
}


@dataclass(frozen=True)
class ZooEntry:
    """One zoo run: a dataset, a fault (overrides of `BASE`) and the cause to name.

    Attributes:
        name: Unique name, e.g. `"lr_high_sgd"`.
        dataset: A key of `DATASETS`.
        fault: What was injected, in words.
        expected: The root-cause kind a correct diagnosis names first; None for
            a healthy control, which should get no finding at all.
        overrides: Dotted-key overrides on top of `BASE` and the dataset.
        seed: The recipe seed.
    """

    name: str
    dataset: str
    fault: str
    expected: str | None
    overrides: dict = field(default_factory=dict)
    seed: int = 0

    def recipe(self, extra: Mapping[str, Any] | None = None) -> Recipe:
        """The entry's validated recipe, with optional `extra` overrides."""
        overrides = {**DATASETS[self.dataset], "seed": self.seed, **self.overrides, **(extra or {})}
        return load_recipe({**BASE, "name": self.name}, overrides)

    def control(self) -> Recipe:
        """The same dataset and seed without the fault: the reference for the fault's direction."""
        return load_recipe(
            {**BASE, "name": f"{self.name}_control"}, {**DATASETS[self.dataset], "seed": self.seed}
        )


def _entries(*entries: ZooEntry) -> dict[str, ZooEntry]:
    return {entry.name: entry for entry in entries}


def _healthy(dataset: str, seed: int = 0) -> ZooEntry:
    return ZooEntry(f"healthy_{dataset}" + (f"_{seed}" if seed else ""), dataset, "none", None, HEALTHY, seed)


_DEEP_SIGMOID = {
    "model.hidden": [32] * 8,
    "model.activation": "sigmoid",
    "model.kernel_initializer": "glorot_uniform",
}

TUNING = _entries(
    _healthy("digits"),
    _healthy("breast_cancer"),
    _healthy("wine"),
    _healthy("iris"),
    _healthy("diabetes"),
    ZooEntry(
        "lr_high_sgd",
        "digits",
        "SGD at learning rate 4.0: the ReLUs die in epoch 1",
        "learning_rate_too_high",
        {"training.optimizer": "sgd", "training.learning_rate": 4.0},
    ),
    ZooEntry(
        "lr_high_adam",
        "breast_cancer",
        "Adam at learning rate 0.5",
        "learning_rate_too_high",
        {"training.learning_rate": 0.5},
    ),
    ZooEntry(
        "lr_high_adam_regression",
        "diabetes",
        "Adam at learning rate 1.0 on a regression",
        "learning_rate_too_high",
        {"training.learning_rate": 1.0},
    ),
    ZooEntry(
        "lr_low_adam",
        "digits",
        "Adam at learning rate 1e-6, with dropout 0.2 (a noisy loss that barely moves)",
        "learning_rate_too_low",
        {"training.learning_rate": 1e-6, "model.dropout": 0.2},
    ),
    ZooEntry(
        "lr_low_sgd",
        "diabetes",
        "SGD at learning rate 1e-5",
        "learning_rate_too_low",
        {"training.optimizer": "sgd", "training.learning_rate": 1e-5},
    ),
    ZooEntry(
        "unscaled_target",
        "synthetic_regression",
        "the target multiplied by 100 (std about 10,000), as prices in the thousands are",
        "unscaled_target",
        {"data.synthetic.target_scale": 100.0},
    ),
    ZooEntry("vanishing_sigmoid", "digits", "8 sigmoid layers of 32 units", "vanishing", _DEEP_SIGMOID),
    ZooEntry(
        "vanishing_tiny_init",
        "wine",
        "5 ReLU layers initialised N(0, 0.001)",
        "vanishing",
        {"model.hidden": [32] * 5, "model.kernel_initializer": {"name": "random_normal", "stddev": 0.001}},
    ),
    ZooEntry(
        "exploding_linear",
        "diabetes",
        "6 linear layers initialised N(0, 0.5), SGD at 0.01, no clipping",
        "exploding",
        {
            "model.hidden": [64] * 6,
            "model.activation": "linear",
            "model.kernel_initializer": {"name": "random_normal", "stddev": 0.5},
            "training.optimizer": "sgd",
            "training.learning_rate": 0.01,
        },
    ),
    ZooEntry(
        "dead_relu_bias",
        "digits",
        "ReLU biases initialised at -5",
        "dead_units",
        {"model.bias_initializer": {"name": "constant", "value": -5.0}},
    ),
    ZooEntry(
        "saturated_tanh",
        "wine",
        "tanh units initialised N(0, 2)",
        "saturated",
        {"model.activation": "tanh", "model.kernel_initializer": {"name": "random_normal", "stddev": 2.0}},
    ),
    ZooEntry(
        "unnormalized_sgd",
        "breast_cancer",
        "raw features (std 0.003 to 550), SGD at 0.01",
        "unnormalized_inputs",
        {"data.normalize": "none", "training.optimizer": "sgd", "training.learning_rate": 0.01},
    ),
    ZooEntry(
        "overfitting_tiny_data",
        "synthetic_binary",
        "200 training rows, a 256-256 network, no regularisation, 30 epochs",
        "overfitting",
        {"data.max_train_rows": 200, "model.hidden": [256, 256], "training.epochs": 30},
    ),
    ZooEntry(
        "underfit_small",
        "digits",
        "one hidden unit, trained until early stopping",
        "underfitting",
        {"model.hidden": [1], **HEALTHY},
    ),
    ZooEntry("underfit_l2", "breast_cancer", "L2 penalty 1.0", "underfitting", {"model.l2": 1.0}),
    ZooEntry(
        "underfit_dropout",
        "digits",
        "dropout 0.9 on 16 units",
        "underfitting",
        {"model.dropout": 0.9, "model.hidden": [16], "training.epochs": 20},
    ),
    ZooEntry(
        "stopped_early",
        "digits",
        "2 epochs of a 32-unit network (accuracy about 0.8)",
        "stopped_too_early",
        {"training.epochs": 2, "model.hidden": [32]},
    ),
    ZooEntry(
        "batch_too_large",
        "digits",
        "batch 2048 (one update per epoch) for 15 epochs",
        "batch_too_large",
        {"training.batch_size": 2048},
    ),
    ZooEntry(
        "bad_init_large",
        "iris",
        "ReLU weights initialised N(0, 3), Adam",
        "bad_initialization",
        {"model.kernel_initializer": {"name": "random_normal", "stddev": 3.0}, "training.epochs": 30},
    ),
    ZooEntry(
        "bad_init_zeros",
        "synthetic_multiclass",
        "tanh weights initialised to zeros (every unit the same)",
        "bad_initialization",
        {"model.kernel_initializer": "zeros", "model.activation": "tanh"},
    ),
)

HELD_OUT = _entries(
    _healthy("synthetic_regression", seed=3),
    _healthy("digits", seed=7),
    _healthy("breast_cancer", seed=5),
    ZooEntry(
        "lr_high_sgd_wine",
        "wine",
        "SGD at learning rate 3.0",
        "learning_rate_too_high",
        {"training.optimizer": "sgd", "training.learning_rate": 3.0},
        seed=1,
    ),
    ZooEntry(
        "lr_high_adam_digits",
        "digits",
        "Adam at learning rate 0.3",
        "learning_rate_too_high",
        {"training.learning_rate": 0.3},
        seed=2,
    ),
    ZooEntry(
        "lr_high_rmsprop_regression",
        "synthetic_regression",
        "RMSprop at learning rate 0.5",
        "learning_rate_too_high",
        {"training.optimizer": "rmsprop", "training.learning_rate": 0.5},
        seed=4,
    ),
    ZooEntry(
        "lr_low_sgd_breast_cancer",
        "breast_cancer",
        "SGD at learning rate 1e-4",
        "learning_rate_too_low",
        {"training.optimizer": "sgd", "training.learning_rate": 1e-4},
        seed=3,
    ),
    ZooEntry(
        "lr_low_adam_iris",
        "iris",
        "Adam at learning rate 1e-5",
        "learning_rate_too_low",
        {"training.learning_rate": 1e-5, "training.epochs": 30},
        seed=1,
    ),
    ZooEntry(
        "vanishing_sigmoid_wine",
        "wine",
        "8 sigmoid layers of 32 units",
        "vanishing",
        {**_DEEP_SIGMOID, "training.epochs": 30},
        seed=2,
    ),
    ZooEntry(
        "vanishing_tiny_init_digits",
        "digits",
        "4 ReLU layers initialised N(0, 0.002)",
        "vanishing",
        {"model.hidden": [64] * 4, "model.kernel_initializer": {"name": "random_normal", "stddev": 0.002}},
        seed=5,
    ),
    ZooEntry(
        "exploding_relu_init",
        "synthetic_regression",
        "6 ReLU layers initialised N(0, 0.4), SGD at 0.01",
        "exploding",
        {
            "model.hidden": [64] * 6,
            "model.kernel_initializer": {"name": "random_normal", "stddev": 0.4},
            "training.optimizer": "sgd",
            "training.learning_rate": 0.01,
        },
        seed=1,
    ),
    ZooEntry(
        "dead_relu_bias_breast_cancer",
        "breast_cancer",
        "ReLU biases initialised at -3",
        "dead_units",
        {"model.bias_initializer": {"name": "constant", "value": -3.0}},
        seed=4,
    ),
    ZooEntry(
        "dead_relu_lr_iris",
        "iris",
        "SGD at learning rate 8: the ReLUs die",
        "learning_rate_too_high",
        {"training.optimizer": "sgd", "training.learning_rate": 8.0},
        seed=2,
    ),
    ZooEntry(
        "saturated_sigmoid_digits",
        "digits",
        "sigmoid units initialised N(0, 1.5)",
        "saturated",
        {"model.activation": "sigmoid", "model.kernel_initializer": {"name": "random_normal", "stddev": 1.5}},
        seed=6,
    ),
    ZooEntry(
        "unnormalized_wine",
        "wine",
        "raw features (proline in the hundreds, hue below 1), SGD at 0.01",
        "unnormalized_inputs",
        {"data.normalize": "none", "training.optimizer": "sgd", "training.learning_rate": 0.01},
        seed=3,
    ),
    ZooEntry(
        "overfitting_digits",
        "digits",
        "80 training rows, a 512-512 network, no regularisation, 40 epochs",
        "overfitting",
        {"data.max_train_rows": 80, "model.hidden": [512, 512], "training.epochs": 40},
        seed=8,
    ),
    ZooEntry("underfit_l2_digits", "digits", "L2 penalty 0.3", "underfitting", {"model.l2": 0.3}, seed=9),
    ZooEntry(
        "stopped_early_breast_cancer",
        "breast_cancer",
        "3 epochs of SGD at 0.01",
        "stopped_too_early",
        {"training.epochs": 3, "training.optimizer": "sgd", "training.learning_rate": 0.01},
        seed=6,
    ),
    ZooEntry(
        "batch_too_large_regression",
        "synthetic_regression",
        "batch 512 (two updates per epoch) for 25 epochs",
        "batch_too_large",
        {"training.batch_size": 512, "training.epochs": 25},
        seed=7,
    ),
    ZooEntry(
        "bad_init_ones_wine",
        "wine",
        "ReLU weights initialised to ones",
        "bad_initialization",
        {"model.kernel_initializer": "ones"},
        seed=4,
    ),
)

# Written after the rules were adjusted on HELD_OUT's first score, and scored once as they stood.
FRESH = _entries(
    _healthy("wine", seed=11),
    _healthy("iris", seed=12),
    _healthy("synthetic_multiclass", seed=13),
    ZooEntry(
        "lr_high_sgd_momentum_digits",
        "digits",
        "SGD with momentum 0.9 at learning rate 1.0",
        "learning_rate_too_high",
        {
            "training.optimizer": "sgd",
            "training.learning_rate": 1.0,
            "training.optimizer_args": {"momentum": 0.9},
        },
        seed=21,
    ),
    ZooEntry(
        "lr_high_adamw_breast_cancer",
        "breast_cancer",
        "AdamW at learning rate 0.3",
        "learning_rate_too_high",
        {"training.optimizer": "adamw", "training.learning_rate": 0.3},
        seed=22,
    ),
    ZooEntry(
        "lr_high_adam_multiclass",
        "synthetic_multiclass",
        "Adam at learning rate 0.5",
        "learning_rate_too_high",
        {"training.learning_rate": 0.5},
        seed=23,
    ),
    ZooEntry(
        "lr_low_rmsprop_digits",
        "digits",
        "RMSprop at learning rate 1e-6",
        "learning_rate_too_low",
        {"training.optimizer": "rmsprop", "training.learning_rate": 1e-6},
        seed=24,
    ),
    ZooEntry(
        "lr_low_sgd_wine",
        "wine",
        "SGD at learning rate 1e-4",
        "learning_rate_too_low",
        {"training.optimizer": "sgd", "training.learning_rate": 1e-4, "training.epochs": 30},
        seed=25,
    ),
    ZooEntry(
        "vanishing_tanh_tiny_init",
        "breast_cancer",
        "6 tanh layers initialised N(0, 0.01)",
        "vanishing",
        {
            "model.hidden": [32] * 6,
            "model.activation": "tanh",
            "model.kernel_initializer": {"name": "random_normal", "stddev": 0.01},
        },
        seed=26,
    ),
    ZooEntry(
        "vanishing_sigmoid_regression",
        "diabetes",
        "8 sigmoid layers of 32 units on a regression",
        "vanishing",
        _DEEP_SIGMOID,
        seed=27,
    ),
    ZooEntry(
        "exploding_linear_digits",
        "digits",
        "5 linear layers initialised N(0, 0.5), SGD at 0.01, no clipping",
        "exploding",
        {
            "model.hidden": [64] * 5,
            "model.activation": "linear",
            "model.kernel_initializer": {"name": "random_normal", "stddev": 0.5},
            "training.optimizer": "sgd",
            "training.learning_rate": 0.01,
        },
        seed=28,
    ),
    ZooEntry(
        "dead_relu_bias_wine",
        "wine",
        "ReLU biases initialised at -4",
        "dead_units",
        {"model.bias_initializer": {"name": "constant", "value": -4.0}},
        seed=29,
    ),
    ZooEntry(
        "saturated_tanh_regression",
        "diabetes",
        "tanh units initialised N(0, 1.5)",
        "saturated",
        {"model.activation": "tanh", "model.kernel_initializer": {"name": "random_normal", "stddev": 1.5}},
        seed=30,
    ),
    ZooEntry(
        "unnormalized_adam_breast_cancer",
        "breast_cancer",
        "raw features (std 0.003 to 550), Adam at 1e-3",
        "unnormalized_inputs",
        {"data.normalize": "none"},
        seed=31,
    ),
    ZooEntry(
        "overfitting_wine",
        "wine",
        "30 training rows, a 256-256 network, no regularisation, 60 epochs",
        "overfitting",
        {"data.max_train_rows": 30, "model.hidden": [256, 256], "training.epochs": 60},
        seed=32,
    ),
    ZooEntry(
        "overfitting_regression",
        "synthetic_regression",
        "100 training rows, a 256-256 network, no regularisation, 100 epochs",
        "overfitting",
        {"data.max_train_rows": 100, "model.hidden": [256, 256], "training.epochs": 100},
        seed=33,
    ),
    ZooEntry(
        "underfit_dropout_breast_cancer",
        "breast_cancer",
        "dropout 0.95 on 8 units",
        "underfitting",
        {"model.dropout": 0.95, "model.hidden": [8]},
        seed=34,
    ),
    ZooEntry(
        "underfit_narrow_multiclass",
        "synthetic_multiclass",
        "one hidden unit, trained until early stopping",
        "underfitting",
        {"model.hidden": [1], **HEALTHY},
        seed=35,
    ),
    ZooEntry(
        "stopped_early_wine",
        "wine",
        "3 epochs",
        "stopped_too_early",
        {"training.epochs": 3},
        seed=36,
    ),
    ZooEntry(
        "stopped_early_diabetes",
        "diabetes",
        "5 epochs",
        "stopped_too_early",
        {"training.epochs": 5},
        seed=37,
    ),
    ZooEntry(
        "batch_too_large_breast_cancer",
        "breast_cancer",
        "batch 256 (two updates per epoch)",
        "batch_too_large",
        {"training.batch_size": 256},
        seed=38,
    ),
    ZooEntry(
        "bad_init_large_wine",
        "wine",
        "ReLU weights initialised N(0, 2), Adam",
        "bad_initialization",
        {"model.kernel_initializer": {"name": "random_normal", "stddev": 2.0}},
        seed=39,
    ),
    ZooEntry(
        "bad_init_constant_digits",
        "digits",
        "ReLU weights initialised to the constant 0.1",
        "bad_initialization",
        {"model.kernel_initializer": {"name": "constant", "value": 0.1}},
        seed=40,
    ),
)


def _value(recipe: Recipe, key: str):
    node: Any = recipe.model_dump(mode="json")
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _magnitude(value) -> float | None:
    """A number to compare settings by: the value, a list's sum (hidden widths), a schedule's peak."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list) and all(isinstance(item, int | float) for item in value):
        return float(sum(value))
    if isinstance(value, dict) and "peak" in value:
        return float(value["peak"])
    return None


def harmful_changes(entry: ZooEntry, changes: Mapping[str, Any]) -> list[str]:
    """The suggested changes that push a faulted setting further in the fault's direction.

    The fault moved some settings away from the healthy control (learning rate
    up, epochs down, dropout up ...). A change of one of those settings that
    moves it further the same way makes the fault worse, e.g. suggesting a
    higher learning rate for a run whose rate was raised to 4.0.

    Args:
        entry: The zoo entry.
        changes: A finding's `changes`.

    Returns:
        One line per harmful change (empty when none is).
    """
    faulty, control = entry.recipe(), entry.control()
    harmful = []
    for key, new in changes.items():
        before, reference, after = (
            _magnitude(_value(faulty, key)),
            _magnitude(_value(control, key)),
            _magnitude(new),
        )
        if None in (before, reference, after) or math.isclose(before, reference):
            continue
        if (before - reference) * (after - before) > 0:
            harmful.append(f"{key}: the fault moved it {reference:g} -> {before:g}, the fix to {after:g}")
    return harmful
