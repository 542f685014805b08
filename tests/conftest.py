"""Shared fixtures: small recipes that train in a second or two."""

import os

import pytest

from kerasforge._backend_environment import set_backend_environment

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
set_backend_environment()  # before any test imports a backend, as the command line does

TINY_OVERRIDES = {
    "training.epochs": 2,
    "model.hidden": [16],
    "callbacks.activation_monitor.enabled": False,
}


@pytest.fixture
def tiny_overrides():
    """Overrides that shrink any bundled recipe to a couple of seconds of training."""
    return dict(TINY_OVERRIDES)
