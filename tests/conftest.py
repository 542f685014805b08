"""Shared fixtures: small recipes that train in a second or two."""

import os

import numpy as np
import pandas as pd
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


def make_wine_frame(rows=300, seed=0):
    """Text labels, a string column with gaps, and a numeric column with gaps."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "alcohol": rng.normal(12.0, 1.0, rows),
            "region": rng.choice(["north", "south", "hills", None], rows),
            "acid": rng.normal(3.0, 1.0, rows),
        }
    )
    frame.loc[::7, "acid"] = np.nan
    score = frame["alcohol"] + 1.5 * (frame["region"] == "north") - 1.5 * (frame["region"] == "south")
    frame["grape"] = np.select([score > 12.8, score < 11.2], ["barbera", "nebbiolo"], "dolcetto")
    return frame


@pytest.fixture(scope="session")
def wine_run(tmp_path_factory):
    """A finished run on `wine_frame` rows (a CSV with text labels): `(TrainingRun, its folder)`."""
    from kerasforge.recipes import load_recipe, train

    folder = tmp_path_factory.mktemp("wine")
    make_wine_frame().to_csv(folder / "wine.csv", index=False)
    (folder / "wine.yaml").write_text(
        "name: wine\n"
        "data: {source: wine.csv, target: grape, missing: mean}\n"
        "model: {task: multiclass, hidden: [16]}\n"
        "training: {epochs: 4}\n"
        "callbacks: {activation_monitor: {enabled: false}}\n"
    )
    run = train(load_recipe(folder / "wine.yaml"), run_dir=folder / "run", verbose=0)
    return run, folder


@pytest.fixture
def wine_frame():
    """`wine_frame(rows, seed)`: rows like the `wine_run` training file (numbers, a string column, gaps)."""
    return make_wine_frame
