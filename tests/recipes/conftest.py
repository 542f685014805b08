"""Small versions of the bundled lessons, trained once per session and shared by the tests.

test_lessons.py checks each lesson's claims on them over `LESSON_SEEDS` seeds;
test_diagnosis.py reuses one seed's variants that are built to trigger a rule
(the sigmoid net vanishes, ...).
"""

import pytest

from kerasforge.recipes import compare, load_recipe

# Lesson -> overrides that make it small enough for a test (few epochs and rows).
SMALL_LESSONS = {
    "gd_variants": [
        "data.synthetic.rows=500",
        # 8, not 5: a variant that never reaches the target counts as epochs + 1, and with 5
        # epochs SGD's lead (reached at epoch 3 to 5 over the seeds) was within the noise.
        "training.epochs=8",
        "variants={batch: {training.batch_size: 400}, mini_batch_32: {training.batch_size: 32}, "
        "stochastic: {training.batch_size: 1}}",
    ],
    "vanishing_gradients": [
        "data.max_train_rows=600",
        "model.layers=6",
        "model.units=32",
        "training.epochs=4",
    ],
    "exploding_gradients": ["data.max_train_rows=600", "training.epochs=4"],
    # 16, not 12: early stopping's smaller gap (at every seed) needs the epochs it would stop in.
    "overfitting": ["training.epochs=16"],
    "input_normalization": ["training.epochs=10"],
    "learning_rate": ["data.max_train_rows=600", "training.epochs=6"],
    # The whole lesson: its gains (~0.04 accuracy) need the full 80 epochs to show.
    "transfer_and_pretraining": [],
}


# Seeds each small lesson runs at in test_lessons.py: a claim about training needs several.
LESSON_SEEDS = 3


@pytest.fixture(scope="session")
def seeded_lesson(tmp_path_factory):
    """Returns a function: lesson name -> its `Comparison` over `LESSON_SEEDS` seeds, run on first use."""
    cache = {}

    def run(name):
        if name not in cache:
            folder = tmp_path_factory.mktemp("seeded_lessons") / name
            recipe = load_recipe(name, SMALL_LESSONS[name])
            cache[name] = compare(recipe, run_dir=folder, verbose=0, seeds=LESSON_SEEDS)
        return cache[name]

    return run


@pytest.fixture(scope="session")
def small_lesson(tmp_path_factory):
    """Returns a function: lesson name -> its one-seed `Comparison`, trained on first use.

    One seed, apart from `seeded_lesson`, keeps the diagnosis tests in the quick
    (`-m "not slow"`) loop.
    """
    cache = {}

    def run(name):
        if name not in cache:
            folder = tmp_path_factory.mktemp("lessons") / name
            cache[name] = compare(load_recipe(name, SMALL_LESSONS[name]), run_dir=folder, verbose=0)
        return cache[name]

    return run
