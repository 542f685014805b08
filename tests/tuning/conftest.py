"""Tiny recipes shared by the tuning tests: synthetic data, a few rows, 2 epochs."""

import pytest

from kerasforge.recipes import load_recipe

TINY = {
    "name": "tiny",
    "seed": 3,
    "data": {"source": "synthetic", "synthetic": {"rows": 160, "features": 6, "classes": 3}},
    "model": {"hidden": [8]},
    "training": {"epochs": 2, "batch_size": 32},
    "callbacks": {"early_stopping": {"patience": 1}, "activation_monitor": {"probe_rows": 16}},
    "search": {
        "max_trials": 2,
        "layers": {"min": 1, "max": 2},
        "units": [4, 8],
        "batch_size": [16, 32],
    },
}


@pytest.fixture
def tiny_recipe():
    """Returns a function making the tiny recipe with some top-level sections replaced."""

    def make(**sections):
        return load_recipe({**TINY, **sections})

    return make
