"""`pretrain_autoencoder`: it learns to reproduce its rows, repeatably, fast, and saves a portable file."""

import json
import zipfile

import keras
import numpy as np
import pytest

from kerasforge.recipes import load_recipe, prepare_data
from kerasforge.recipes.engine.pretraining import pretrain_autoencoder

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def lesson():
    recipe = load_recipe("transfer_and_pretraining", {"data.max_train_rows": None, "training.epochs": 6})
    return recipe, prepare_data(recipe)


def _pretrain(lesson, path, seed):
    recipe, data = lesson
    keras.utils.set_random_seed(seed)
    return keras.models.load_model(
        pretrain_autoencoder(recipe, data.x_train, path, x_val=data.x_val, verbose=0)
    )


def _mse(model, x):
    return float(np.mean((model.predict(x, verbose=0) - x) ** 2))


@pytest.mark.parametrize("seed", SEEDS)
def test_the_autoencoder_reproduces_unseen_rows_better_than_their_mean_and_names_its_layers_as_the_recipe(
    lesson, tmp_path, seed
):
    _, data = lesson
    model = _pretrain(lesson, tmp_path / "autoencoder.keras", seed)
    mean_guess = float(np.mean((data.x_val - data.x_train.mean(axis=0)) ** 2))
    # Six epochs on every training row take standardised digits to about 0.7 of the mean's error.
    assert _mse(model, data.x_val) < 0.8 * mean_guess
    assert model.get_layer("hidden_1").units == 64 and model.get_layer("hidden_2").units == 32


def test_the_same_seed_pretrains_the_same_weights_and_another_seed_others(lesson, tmp_path):
    first = _pretrain(lesson, tmp_path / "a.keras", seed=5).get_weights()
    again = _pretrain(lesson, tmp_path / "b.keras", seed=5).get_weights()
    other = _pretrain(lesson, tmp_path / "c.keras", seed=6).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


def test_the_saved_autoencoder_records_compile_settings_every_backend_loads(lesson, tmp_path):
    path = tmp_path / "autoencoder.keras"
    _pretrain(lesson, path, seed=0)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))["compile_config"]
    # Trained at up to 32 updates per call; the file says 1, which torch accepts too.
    assert config["steps_per_execution"] == 1
    assert config["optimizer"]["module"] == "keras.optimizers"
