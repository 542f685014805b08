"""`training.mixed_precision`: the dtype policy a model is built under, its float32 head, and CPU.

This machine has no GPU, so what is tested is the CPU behaviour and every piece a
GPU run shares with it: the policy names, the float32 output layer, the
`LossScaleOptimizer` for `mixed_float16`, the global policy left as it was, the
policy recorded in the run folder, and the saved model loading and predicting on
CPU. Every test but the tolerance one runs on each backend's CI leg.
"""

import json
import warnings
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest

from kerasforge.errors import RecipeError
from kerasforge.recipes import load_recipe, train
from kerasforge.recipes.engine.mixed_precision import CPU_POLICY, GPU_POLICY, resolve_dtype_policy
from kerasforge.recipes.engine.use_model import predict_file
from kerasforge.recipes.schema.training import MIXED_PRECISION_POLICIES

FALLBACK_WARNING = r"`training.mixed_precision: true`: no GPU visible .* built in float32"


@pytest.mark.parametrize(
    "setting, on_gpu, expected",
    [
        (False, True, "float32"),
        (True, True, GPU_POLICY),
        *[(name, on_gpu, name) for name in MIXED_PRECISION_POLICIES for on_gpu in (False, True)],
    ],
)
def test_a_policy_is_false_float32_true_mixed_float16_on_gpu_or_the_name_given(setting, on_gpu, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of these warns
        assert resolve_dtype_policy(setting, on_gpu=on_gpu) == expected


def test_true_without_a_gpu_falls_back_to_float32_with_one_warning():
    with pytest.warns(UserWarning, match=FALLBACK_WARNING) as caught:
        assert resolve_dtype_policy(True, on_gpu=False) == CPU_POLICY == "float32"
    assert len(caught) == 1


@pytest.mark.parametrize("value", ["mixed_float32", "fp16", 16])
def test_a_mixed_precision_value_outside_the_list_is_one_line_naming_key_value_and_allowed(value):
    with pytest.raises(
        RecipeError, match=r"`training.mixed_precision` must be true or false or one of "
    ) as error:
        load_recipe("digits_mlp", {"training.mixed_precision": value})
    message = str(error.value)
    assert "\n" not in message
    assert f"Received: {value!r}" in message
    assert all(repr(name) in message for name in MIXED_PRECISION_POLICIES)


def _wine_recipe(tmp_path, wine_frame, mixed_precision) -> object:
    wine_frame().to_csv(tmp_path / "wine.csv", index=False)
    (tmp_path / "wine.yaml").write_text(
        "name: wine\n"
        "data: {source: wine.csv, target: grape, missing: mean}\n"
        "model: {task: multiclass, hidden: [16], dropout: 0.1}\n"
        f"training: {{epochs: 2, mixed_precision: {mixed_precision}}}\n"
        "callbacks: {activation_monitor: {enabled: false}}\n"
    )
    return load_recipe(tmp_path / "wine.yaml")


def test_mixed_float16_keeps_the_head_float32_scales_the_loss_records_the_policy_and_restores_it(
    tmp_path, wine_frame, capsys
):
    recipe = _wine_recipe(tmp_path, wine_frame, "mixed_float16")
    run = train(recipe, run_dir=tmp_path / "run", verbose=2)

    model = run.model
    assert model.dtype_policy.name == "mixed_float16"
    assert model.get_layer("hidden_1").compute_dtype == "float16"
    assert model.get_layer("hidden_1").variable_dtype == "float32"  # the weights stay float32
    assert model.get_layer("output").compute_dtype == "float32"
    assert keras.backend.standardize_dtype(model.outputs[0].dtype) == "float32"
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)  # Keras's compile wraps it
    assert np.isfinite(run.history["loss"]).all()
    assert keras.config.dtype_policy().name == "float32"  # the next model in this process is float32
    metrics = json.loads((run.run_dir / "metrics.json").read_text())
    assert metrics["dtype_policy"] == "mixed_float16"
    assert (
        "training.mixed_precision: dtype policy mixed_float16, output layer float32"
        in capsys.readouterr().out
    )

    # The file names the optimizers by their public Keras names, so it loads on any backend.
    with zipfile.ZipFile(run.run_dir / "model.keras") as archive:
        optimizer = json.loads(archive.read("config.json"))["compile_config"]["optimizer"]
    assert optimizer["class_name"] == "LossScaleOptimizer"
    assert optimizer["module"] == optimizer["config"]["inner_optimizer"]["module"] == "keras.optimizers"

    # The saved raw-columns model loads and predicts on this CPU, its head still float32.
    saved = keras.saving.load_model(run.run_dir / "model.keras")
    assert saved.get_layer("output").compute_dtype == "float32"
    rows = wine_frame(rows=30, seed=5).drop(columns=["grape"])
    rows.to_csv(tmp_path / "new.csv", index=False)
    assert predict_file(run.run_dir, tmp_path / "new.csv", tmp_path / "out.csv") == 30
    probabilities = pd.read_csv(tmp_path / "out.csv").iloc[:, 1:].to_numpy()
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_true_on_this_cpu_trains_in_float32_says_so_once_and_records_it(tmp_path, wine_frame, capsys):
    recipe = _wine_recipe(tmp_path, wine_frame, "true")
    with pytest.warns(UserWarning, match=FALLBACK_WARNING) as caught:
        run = train(recipe, run_dir=tmp_path / "run", verbose=2)
    assert len([warning for warning in caught if "mixed_precision" in str(warning.message)]) == 1
    assert run.model.dtype_policy.name == "float32"
    assert all(layer.compute_dtype == "float32" for layer in run.model.layers)
    assert not isinstance(run.model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert json.loads((run.run_dir / "metrics.json").read_text())["dtype_policy"] == "float32"
    assert "training.mixed_precision: dtype policy float32\n" in capsys.readouterr().out


# bfloat16 keeps 8 bits of mantissa: 5 epochs of digits_mlp move each seed's final val_loss by
# at most 0.010 and its test accuracy by at most 0.0074 against float32 (TensorFlow, seeds 1-5,
# README's GPU section). The bounds below are 5x and nearly 3x those.
VAL_LOSS_TOLERANCE = 0.05
MEAN_ACCURACY_TOLERANCE = 0.02


@pytest.mark.slow
def test_mixed_bfloat16_trains_within_tolerance_of_float32_over_seeds():
    accuracy_gaps = []
    for seed in (1, 2, 3):
        results = {}
        for policy in ("float32", "mixed_bfloat16"):
            recipe = load_recipe(
                "digits_mlp",
                {
                    "seed": seed,
                    "training.epochs": 5,
                    "model.hidden": [32],
                    "training.mixed_precision": policy,
                    "callbacks.activation_monitor.enabled": False,
                },
            )
            run = train(recipe, verbose=0, write=False)
            assert run.model.get_layer("output").compute_dtype == "float32"
            results[policy] = run
        full, mixed = results["float32"], results["mixed_bfloat16"]
        assert mixed.model.get_layer("hidden_1").compute_dtype == "bfloat16"
        assert mixed.history["val_loss"][-1] == pytest.approx(
            full.history["val_loss"][-1], abs=VAL_LOSS_TOLERANCE
        )
        accuracy_gaps.append(mixed.test_metrics["accuracy"] - full.test_metrics["accuracy"])
    assert abs(np.mean(accuracy_gaps)) <= MEAN_ACCURACY_TOLERANCE
