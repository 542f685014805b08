import math

import keras
import keras_tuner as kt
import pytest

from kerasforge.recipes import prepare_data
from kerasforge.tuning import RecipeHyperModel, SearchSpace


class _BatchCounter(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.batches = []

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.batches[-1] += 1


def _hypermodel(recipe):
    return RecipeHyperModel(SearchSpace(recipe), prepare_data(recipe))


@pytest.mark.parametrize("batch_size", [16, 64])
def test_trial_batch_size_sets_the_steps_per_epoch(batch_size, tiny_recipe):
    recipe = tiny_recipe(
        training={"epochs": 2, "batch_size": 32, "steps_per_execution": 1},
        search={"batch_size": [16, 64]},
    )
    hypermodel = _hypermodel(recipe)
    hp = kt.HyperParameters()
    hp.values["batch_size"] = batch_size
    counter = _BatchCounter()
    hypermodel.fit(hp, hypermodel.build(hp), callbacks=[counter])
    steps = math.ceil(len(hypermodel.data.x_train) / batch_size)
    assert counter.batches == [steps, steps]


def test_trial_epochs_and_hyperband_budget_reach_fit(tiny_recipe):
    hypermodel = _hypermodel(
        tiny_recipe(search={"epochs": [3]}, callbacks={"early_stopping": {"enabled": False}})
    )
    hp = kt.HyperParameters()
    history = hypermodel.fit(hp, hypermodel.build(hp))
    assert len(history.epoch) == 3
    history = hypermodel.fit(hp, hypermodel.build(hp), epochs=5, initial_epoch=4)
    assert len(history.epoch) == 1


def test_trial_gets_the_recipe_callbacks(tiny_recipe):
    hypermodel = _hypermodel(tiny_recipe())
    hp = kt.HyperParameters()
    hypermodel.fit(hp, hypermodel.build(hp))
    assert "learning_rate" in hypermodel.history_ or "lr" in hypermodel.history_
    assert any(key.startswith("grad_norm/") for key in hypermodel.history_)


def test_nan_loss_fails_the_trial_with_its_reason(tiny_recipe):
    # 1e30, not 1e12: at 1e12 JAX and torch keep a clipped, finite cross-entropy for 3 epochs;
    # at 1e30 the activations overflow float32 on every backend.
    recipe = tiny_recipe(
        training={"epochs": 3, "optimizer": "sgd", "learning_rate": 1e30},
        callbacks={"early_stopping": {"enabled": False}, "gradient_monitor": {"enabled": False}},
    )
    hypermodel = _hypermodel(recipe)
    hp = kt.HyperParameters()
    with pytest.raises(kt.errors.FailedTrialError, match=r"loss became (nan|inf) at epoch \d"):
        hypermodel.fit(hp, hypermodel.build(hp))
    assert hypermodel.history_ is not None


def test_fit_rejects_data_arguments(tiny_recipe):
    hypermodel = _hypermodel(tiny_recipe())
    hp = kt.HyperParameters()
    with pytest.raises(TypeError, match="takes its data from the recipe"):
        hypermodel.fit(hp, hypermodel.build(hp), [1, 2], batch_size=8)
