"""The private KerasTuner APIs in tuning/_keras_tuner_compat.py fail here, by name, when they change."""

import contextlib
import threading

import keras
import keras_tuner as kt
import pytest

from kerasforge.tuning import _keras_tuner_compat


def test_save_best_epoch_is_a_keras_callback():
    assert issubclass(_keras_tuner_compat.SaveBestEpoch, keras.callbacks.Callback)


def test_hyperband_brackets_match_the_plan_keras_tuner_documents():
    # The first bracket is the largest: its rounds run ever fewer trials for ever more
    # epochs, up to max_epochs; there are as many brackets as it has rounds.
    brackets = _keras_tuner_compat.hyperband_brackets(max_epochs=9, factor=3)
    assert brackets[0][-1][1] == 9
    assert [epochs for _, epochs in brackets[0]] == sorted(epochs for _, epochs in brackets[0])
    assert all(trials >= 1 and epochs >= 1 for bracket in brackets for trials, epochs in bracket)
    assert len(brackets) == len(brackets[0])


def test_quiet_keras_tuner_turns_off_debug_and_the_stray_print(capsys):
    from keras_tuner.src import config
    from keras_tuner.src.engine import conditions

    _keras_tuner_compat.quiet_keras_tuner()
    assert config.DEBUG is False
    hp = kt.HyperParameters()
    hp.Int("layers", 1, 3)
    with hp.conditional_scope("layers", [2, 3]):
        hp.Int("units_2", 4, 8)
    conditions.Parent("layers", [2, 3]).to_proto()
    assert capsys.readouterr().out == ""


def test_build_without_parent_weights_builds_a_promoted_trial_without_loading_a_file(tmp_path):
    def build(hp):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(hp.Int("units", 1, 2))])
        model.compile("adam", "mse")
        return model

    tuner = kt.Hyperband(build, objective="val_loss", max_epochs=2, directory=tmp_path, project_name="p")
    hp = kt.HyperParameters()
    hp.Fixed("units", 2)
    hp.Fixed("tuner/trial_id", "0000")  # a parent trial that left no weight file
    model = _keras_tuner_compat.build_without_parent_weights(tuner, hp)
    assert model.layers[-1].units == 2


def test_an_oracle_method_that_raises_keeps_its_lock_until_released():
    oracle = kt.oracles.RandomSearchOracle(objective="val_loss", max_trials=1)
    unknown = kt.engine.trial.Trial(oracle.get_space(), trial_id="missing", status="FAILED")
    with pytest.raises(KeyError, match="missing"):
        oracle.end_trial(unknown)  # raises inside KerasTuner's `synchronized`
    other = threading.Thread(target=_end, args=(oracle, unknown), daemon=True)
    other.start()
    other.join(timeout=0.5)
    assert other.is_alive()  # waiting for the lock the raising call kept
    _keras_tuner_compat.release_oracle_lock(oracle)
    other.join(timeout=5)
    assert not other.is_alive()


def _end(oracle, trial):
    with contextlib.suppress(KeyError):
        oracle.end_trial(trial)
