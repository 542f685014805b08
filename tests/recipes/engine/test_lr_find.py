"""The learning-rate range test: `LearningRateFinder` and `kerasforge lr-find`."""

import json
import re

import keras
import numpy as np
import pytest

from kerasforge.callbacks.learning_rate_finder import LearningRateFinder
from kerasforge.cli import main
from kerasforge.errors import ArgumentError
from kerasforge.recipes import find_learning_rate, load_recipe

SMALL = ["data.max_train_rows=400", "model.hidden=[32]"]


def _model(steps_per_execution=1, learning_rate=0.01):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate), loss="mse", steps_per_execution=steps_per_execution
    )
    return model


def _data(rows=256):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 4)).astype("float32")
    return x, x @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32")[:, None]


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"min_learning_rate": 0}, "Argument `min_learning_rate` must be > 0"),
        ({"max_learning_rate": 1e-8}, "Argument `max_learning_rate` must be > 1e-07"),
        ({"steps": 1}, "Argument `steps` must be >= 2"),
        ({"smoothing": 1.0}, "Argument `smoothing` must be < 1"),
        ({"divergence_factor": 1.0}, "Argument `divergence_factor` must be > 1"),
    ],
)
def test_finder_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        LearningRateFinder(**arguments)


def test_finder_config_round_trips():
    finder = LearningRateFinder(1e-5, 1.0, steps=50, smoothing=0.5, divergence_factor=3.0)
    assert LearningRateFinder.from_config(finder.get_config()).get_config() == finder.get_config()


def test_rate_grows_exponentially_from_min_to_max():
    finder = LearningRateFinder(1e-4, 1.0, steps=5)
    assert [finder.rate_at(step) for step in range(5)] == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0])


def test_sweep_records_losses_restores_the_model_and_suggests_a_rate():
    model = _model()
    x, y = _data()
    before = [weight.copy() for weight in model.get_weights()]
    finder = LearningRateFinder(1e-4, 10.0, steps=60)
    model.fit(x, y, batch_size=16, epochs=10, callbacks=[finder], verbose=0)
    assert 3 <= len(finder.losses) <= 60
    assert np.all(np.diff(finder.learning_rates) > 0)
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert 1e-4 <= finder.suggested_learning_rate <= finder.min_loss_learning_rate


def test_finder_stops_when_the_loss_diverges():
    model = _model()
    x, y = _data()
    finder = LearningRateFinder(1e-3, 1e4, steps=200)
    model.fit(x, y, batch_size=16, epochs=20, callbacks=[finder], verbose=0)
    assert len(finder.losses) < 200


@pytest.mark.parametrize(
    "model, message",
    [
        # torch's trainer refuses several steps per call itself, before any callback runs.
        (
            _model(steps_per_execution=4),
            "must be 1 with the PyTorch backend"
            if keras.backend.backend() == "torch"
            else "compile with steps_per_execution=1",
        ),
        (_model(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)), "not a schedule"),
    ],
)
def test_finder_needs_a_constant_rate_and_one_step_per_execution(model, message):
    x, y = _data(32)
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, epochs=1, callbacks=[LearningRateFinder(steps=5)], verbose=0)


def test_find_learning_rate_writes_plot_table_and_suggestion(tmp_path):
    result = find_learning_rate(
        load_recipe("digits_mlp", SMALL), run_dir=tmp_path / "lr", steps=60, verbose=0
    )
    for name in ("lr_find.png", "lr_find.csv", "lr_find.json", "recipe.yaml"):
        assert (result.run_dir / name).is_file()
    summary = json.loads((result.run_dir / "lr_find.json").read_text())
    assert summary["suggested_learning_rate"] == pytest.approx(result.suggested_learning_rate)
    assert 1e-5 < result.suggested_learning_rate < 1.0


@pytest.mark.slow
def test_cli_lr_find_prints_a_set_line(tmp_path, capsys):
    argv = ["lr-find", "digits_mlp", "--steps", "40", "--run-dir", str(tmp_path / "lr")]
    for item in SMALL:
        argv += ["--set", item]
    assert main(argv) == 0
    assert "suggested: --set training.learning_rate=" in capsys.readouterr().out


def test_too_few_steps_is_the_same_error_from_python_and_the_command_line(capsys):
    message = "Argument `steps` (--steps) must be a whole number >= 2"
    with pytest.raises(ArgumentError, match=re.escape(message)):
        find_learning_rate(load_recipe("digits_mlp"), steps=1, write=False)
    assert main(["lr-find", "digits_mlp", "--steps", "1"]) == 2
    assert message in capsys.readouterr().err
