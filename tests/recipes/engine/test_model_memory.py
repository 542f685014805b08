import resource
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasforge.errors import RecipeError
from kerasforge.recipes import build_model, build_network, load_recipe
from kerasforge.recipes.engine.build_optimizer import build_optimizer
from kerasforge.recipes.engine.model_memory import (
    available_memory,
    check_model_memory,
    count_weights,
    estimate_memory,
    optimizer_slots,
)
from kerasforge.recipes.engine.prepare_data import PreparedData
from kerasforge.recipes.schema.training import OPTIMIZERS

TOO_BIG = {"model.hidden": [2_000_000_000]}  # 64 inputs: about 3 TB to train


@pytest.mark.parametrize(
    "optimizer, arguments",
    [(name, {}) for name in OPTIMIZERS]
    + [
        ("sgd", {"momentum": 0.9}),
        ("rmsprop", {"momentum": 0.9, "centered": True}),
        ("adam", {"amsgrad": True}),
        ("adamw", {"use_ema": True}),
    ],
)
def test_optimizer_slots_match_the_variables_keras_makes(optimizer, arguments):
    recipe = load_recipe(
        "digits_mlp", {"training.optimizer": optimizer, "training.optimizer_args": arguments}
    )
    built = build_optimizer(recipe.training, updates_per_epoch=10)
    weights = [keras.Variable(np.zeros((3, 5), dtype="float32"))]
    built.build(weights)
    per_weight = [variable for variable in built.variables if tuple(variable.shape) == (3, 5)]
    assert optimizer_slots(recipe.training) == len(per_weight)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"model.batch_norm": True},
        {"model.residual": True, "model.hidden": [32, 32, 16]},
        {"model.freeze": 1, "model.batch_norm": True, "model.residual": True},
        {"model.hidden": []},
    ],
)
def test_weight_count_matches_the_network_built(overrides):
    recipe = load_recipe("digits_mlp", overrides)
    model = build_network(recipe.model, input_dim=64, output_units=10)
    trained = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    assert count_weights(recipe.model, 64, 10) == (model.count_params(), trained)


def test_estimate_adds_weights_gradients_slots_activations_and_data():
    recipe = load_recipe("digits_mlp", {"model.hidden": [100], "training.batch_size": 10})
    estimate = estimate_memory(recipe, input_dim=64, output_units=10, rows=1000)
    weights = 64 * 100 + 100 + 100 * 10 + 10
    assert estimate.weights == weights
    assert (estimate.weight_bytes, estimate.gradient_bytes, estimate.slot_bytes) == (
        4 * weights,
        4 * weights,
        8 * weights,
    )
    assert estimate.activation_bytes == 2 * 10 * (64 + 2 * 100 + 10) * 4
    assert estimate.data_bytes == 1000 * 64 * 4
    assert estimate.total_bytes == 16 * weights + estimate.activation_bytes + estimate.data_bytes


def test_available_memory_reads_a_positive_figure():
    free, source = available_memory()
    assert free > 0 and source


def test_an_address_space_limit_counts():
    code = (
        "from kerasforge.recipes.engine.model_memory import available_memory; "
        "free, source = available_memory(); print(free < 3 * 2**30, source)"
    )

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, resource.RLIM_INFINITY))

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=limit, timeout=60
    )
    assert result.stdout.strip() == "True the address-space limit (ulimit -v)", result.stderr


def test_a_model_too_big_for_memory_is_refused_with_the_numbers():
    recipe = load_recipe("digits_mlp", TOO_BIG)
    pattern = (
        r"the model is too big for this machine: `model.hidden` \[2000000000\] on 64 inputs is "
        r"150,000,000,010 weights, and training needs at least 3424.0 GB \(weights 600.0 GB \+ "
        r"gradients 600.0 GB \+ adam slots 1200.0 GB \(2 per weight\) \+ .*\), but only .* is available"
    )
    with pytest.raises(RecipeError, match=pattern):
        check_model_memory(recipe, input_dim=64, output_units=10)


def test_build_model_refuses_before_building_a_layer():
    recipe = load_recipe("digits_mlp", TOO_BIG)
    rows, labels = np.zeros((20, 64), dtype="float32"), np.zeros(20, dtype="int32")
    data = PreparedData(
        x_train=rows,
        y_train=labels,
        x_val=rows,
        y_val=labels,
        x_test=rows,
        y_test=labels,
        feature_names=[f"x{i}" for i in range(64)],
        task="multiclass",
        class_names=list(range(10)),
    )
    # Building the first layer would ask TensorFlow for 512 GB and fail with its own
    # ResourceExhaustedError; the recipe error comes first.
    with pytest.raises(RecipeError, match=r"too big for this machine"):
        build_model(recipe, data)
