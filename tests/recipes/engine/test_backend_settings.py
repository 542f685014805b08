"""What differs per Keras backend. CI runs this module on TensorFlow, JAX and torch (.ci/run).

The table's logic is checked for every backend in every process (`backend=` argument);
the training tests check the backend the process runs, so each CI leg covers its own.
"""

import json
import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from kerasforge.data.epoch_dataset import EpochArrays
from kerasforge.errors import DataError, RecipeError
from kerasforge.recipes import load_recipe, prepare_data, train
from kerasforge.recipes.engine.backend_settings import (
    BACKEND_FACTS,
    MAX_STEPS_PER_EXECUTION,
    backend_facts,
    compile_options,
    resolve_steps_per_execution,
)


def tiny(**overrides):
    base = {"training.epochs": 2, "model.hidden": [16], "callbacks.activation_monitor.enabled": False}
    return load_recipe("digits_mlp", {**base, **overrides})


@pytest.mark.parametrize("backend", sorted(BACKEND_FACTS))
def test_auto_steps_per_execution_is_what_the_backend_runs_in_one_call(backend):
    most = 1 if backend == "torch" else MAX_STEPS_PER_EXECUTION
    assert resolve_steps_per_execution(tiny(), updates=40, backend=backend) == min(40, most)
    assert resolve_steps_per_execution(tiny(), updates=3, backend=backend) == min(3, most)


def test_more_steps_per_call_than_torch_runs_is_one_line_naming_the_backend():
    recipe = tiny(**{"training.steps_per_execution": 8})
    assert resolve_steps_per_execution(recipe, updates=40, backend="jax") == 8
    with pytest.raises(RecipeError, match=r"the torch backend runs at most 1 step\(s\).*Received: 8"):
        resolve_steps_per_execution(recipe, updates=40, backend="torch")


def test_a_backend_that_cannot_train_is_refused_with_the_ones_that_can():
    with pytest.raises(RecipeError, match=r"KERAS_BACKEND='numpy' cannot train.*tensorflow, jax, torch"):
        backend_facts("numpy")


@pytest.mark.parametrize("setting, expected", [("auto", None), (True, True), (False, False)])
def test_jit_compile_auto_takes_the_backend_default_else_the_recipe(setting, expected):
    for backend, facts in BACKEND_FACTS.items():
        options = compile_options(tiny(**{"training.jit_compile": setting}), 40, backend=backend)
        assert options["jit_compile"] == (facts.jit_compile if expected is None else expected)


def test_rows_are_fed_as_the_backends_trainer_reads_them_fastest():
    data = prepare_data(tiny())
    train_set = data.dataset("train", 32, epoch_of_pass=lambda: 0, shuffle=True, seed=1)
    validation = data.dataset("val", 256)
    if backend_facts().reads_tf_data_in_graph:
        import tensorflow as tf

        assert isinstance(train_set, tf.data.Dataset) and isinstance(validation, tf.data.Dataset)
        with pytest.raises(
            DataError, match=r"`shard` splits batches on JAX only.*Received: shard=\(1, 0, 2\)"
        ):
            data.dataset("train", 32, epoch_of_pass=lambda: 0, shard=(1, 0, 2))
    else:
        assert isinstance(train_set, EpochArrays) and isinstance(validation, EpochArrays)
        assert train_set.shuffle and not validation.shuffle
        assert len(train_set) == -(-len(data.x_train) // 32)


def test_a_recipe_trains_on_this_backend_with_its_settings(tmp_path):
    run = train(tiny(), run_dir=tmp_path / "run", verbose=0)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["steps_per_execution"] == resolve_steps_per_execution(tiny(), metrics["updates_per_epoch"])
    assert np.isfinite(run.history["loss"]).all()
    # Two epochs of a 16-unit net on digits reach 0.25 to 0.4: well above chance (0.1) on every backend.
    assert run.test_metrics["accuracy"] > 0.2, keras.backend.backend()


def _saved_compile_config(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))["compile_config"]


def test_a_saved_run_model_records_settings_every_backend_accepts(tmp_path):
    run = train(tiny(), run_dir=tmp_path / "run", verbose=0)
    config = _saved_compile_config(tmp_path / "run" / "model.keras")
    assert config["steps_per_execution"] == 1
    assert config["jit_compile"] == "auto"
    # The trained model keeps its own settings; only the file is neutral.
    assert int(run.model.steps_per_execution) == resolve_steps_per_execution(tiny(), 40)


@pytest.mark.slow
# The backend this run trains on, and TensorFlow (which the test extra always installs): every
# backend's CI leg checks its own files load on TensorFlow, without needing the others installed.
@pytest.mark.parametrize("other", sorted({keras.backend.backend(), "tensorflow"}))
# mixed_float16 saves a LossScaleOptimizer around the recipe's, and float16 layers.
@pytest.mark.parametrize("mixed_precision", [False, "mixed_float16"])
def test_a_run_model_loads_compiled_on_every_backend_and_predicts_the_same(tmp_path, other, mixed_precision):
    train(tiny(**{"training.mixed_precision": mixed_precision}), run_dir=tmp_path / "run", verbose=0)
    path = tmp_path / "run" / "model.keras"
    here = keras.saving.load_model(path)
    # The saved model takes raw columns (digits: 64 numeric pixels), one array each.
    rows = {name: np.linspace(0.0, 16.0, 4, dtype="float32") for name in here.input}
    np.savez(tmp_path / "rows.npz", **rows)
    script = (
        "import sys, keras, numpy as np\n"
        "import kerasforge.layers  # registers the preprocessing layers\n"
        "model = keras.saving.load_model(sys.argv[1])\n"
        "assert model.compiled\n"
        "rows = dict(np.load(sys.argv[2]))\n"
        "np.save(sys.argv[3], model.predict(rows, verbose=0))\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, path, tmp_path / "rows.npz", tmp_path / "p.npy"],
        check=True,
        env={**os.environ, "KERAS_BACKEND": other},
        timeout=600,
    )
    expected = here.predict(rows, verbose=0)
    # float16 keeps 11 bits: another backend's float16 kernels may round the hidden layer differently.
    tolerance = {"rtol": 1e-2, "atol": 1e-3} if mixed_precision else {"rtol": 1e-4, "atol": 1e-6}
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, **tolerance)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's trainer traces")
def test_a_recipe_fit_traces_its_train_step_once():
    # Keras on TensorFlow builds the optimizer's slots inside the first trace, which then runs
    # twice: a third of a short search trial's fixed cost.
    from kerasforge.recipes import build_model, fit_model, prepare_data

    recipe = tiny()
    data = prepare_data(recipe)
    model = build_model(recipe, data)
    traces = []
    train_step = model.train_step
    model.train_step = lambda batch: traces.append(batch) or train_step(batch)
    fit_model(recipe, model, data, verbose=0)
    assert len(traces) == 1
    assert model.optimizer.built and int(model.optimizer.iterations) == 2 * (data.rows["train"] // 32 + 1)
