"""Small versions of the bundled lessons, trained once per session and shared by the tests.

test_lessons.py checks each lesson's claim on them; test_diagnosis.py reuses the
variants that are built to trigger a rule (the sigmoid net vanishes, ...).
"""

import pytest

from kerasforge.recipes import compare, load_recipe

# Lesson -> overrides that make it small enough for a test (few epochs and rows).
SMALL_LESSONS = {
    "gd_variants": [
        "data.synthetic.rows=500",
        "training.epochs=3",
        "variants={batch: {training.batch_size: 400}, mini_batch_32: {training.batch_size: 32}, "
        "stochastic: {training.batch_size: 1}}",
    ],
    "vanishing_gradients": [
        "data.max_train_rows=300",
        "model.layers=6",
        "model.units=32",
        "training.epochs=2",
    ],
    "exploding_gradients": ["data.max_train_rows=600", "training.epochs=4"],
    "overfitting": ["training.epochs=12"],
    "input_normalization": ["training.epochs=10"],
    "learning_rate": ["data.max_train_rows=600", "training.epochs=6"],
    "transfer_and_pretraining": ["training.epochs=6"],
}


@pytest.fixture(scope="session")
def small_lesson(tmp_path_factory):
    """Returns a function: lesson name -> its `Comparison`, trained on first use."""
    cache = {}

    def run(name):
        if name not in cache:
            folder = tmp_path_factory.mktemp("lessons") / name
            cache[name] = compare(load_recipe(name, SMALL_LESSONS[name]), run_dir=folder, verbose=0)
        return cache[name]

    return run
