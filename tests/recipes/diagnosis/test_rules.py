"""Each rule on scripted histories: what it fires on, what it abstains on, and that its fix
moves the setting the right way. Real runs are in test_zoo.py.
"""

import numpy as np
import pytest

from kerasforge.recipes import load_recipe
from kerasforge.recipes.diagnosis import diagnose

ROWS = {"train": 1257, "val": 270, "test": 270}
DIGITS = {
    "baseline_loss": 2.30,
    "rows": ROWS,
    "normalize": "standard",
    "feature_scales": {"a": 1.0, "b": 1.0},
}


def recipe(**sections):
    """A recipe with early stopping off and the given `section.key` settings."""
    return load_recipe(
        {"name": "scripted", "training": {"epochs": 15}, "callbacks": {"early_stopping": {"enabled": False}}},
        sections,
    )


def kinds(findings):
    return [finding.kind for finding in findings]


def causes(findings):
    return [finding.kind for finding in findings if finding.role == "cause"]


def steps(first, then, epochs, layers=2):
    """`update_ratio/hidden_N` columns: the first step, then a constant."""
    values = [first] + [then] * (epochs - 1)
    return {f"update_ratio/hidden_{index}": values for index in range(1, layers + 1)}


# Adam at 1e-6 with dropout: a noisy loss that barely moves, with steps a thousandth of healthy.
NOISY_FLAT = [3.21, 3.24, 3.19, 3.23, 3.12, 3.22, 3.24, 3.11, 3.25, 3.22, 3.22, 3.09, 3.22, 3.15, 3.19]


def test_a_noisy_loss_with_tiny_steps_is_a_rate_too_low_not_a_zig_zag():
    history = {"loss": NOISY_FLAT, "val_loss": list(np.linspace(2.99, 2.94, 15)), **steps(2.6e-6, 2.5e-6, 15)}
    findings = diagnose(history, recipe(**{"training.learning_rate": 1e-6}), data_info=DIGITS)
    assert "learning_rate_too_high" not in kinds(findings)
    assert causes(findings) == ["learning_rate_too_low"]
    assert findings[0].changes["training.learning_rate"] > 1e-6


def test_large_steps_and_an_overshooting_first_epoch_are_a_rate_too_high():
    history = {"loss": [93.0, 78.0, 33.7, 13.4, 12.9, 12.3, 1.4, 3.0, 5.6, 6.5, 0.5], **steps(0.67, 0.02, 11)}
    findings = diagnose(history, recipe(**{"training.learning_rate": 0.5}), data_info=DIGITS)
    assert causes(findings) == ["learning_rate_too_high"]
    assert findings[0].changes == {"training.learning_rate": 0.05}
    assert "0.67" in findings[0].evidence


def test_steps_that_die_out_after_a_huge_one_are_not_a_rate_too_low():
    # SGD at 4.0: the first step blows the weights up, the ReLUs die, later steps are zero.
    history = {"loss": [1e34] + [2.34] * 9, **steps(8e22, 0.0, 10)}
    findings = diagnose(
        history, recipe(**{"training.optimizer": "sgd", "training.learning_rate": 4.0}), data_info=DIGITS
    )
    assert findings[0].kind == "learning_rate_too_high"
    assert findings[0].changes["training.learning_rate"] < 4.0
    assert "learning_rate_too_low" not in kinds(findings)


# SGD at 4.0 on digits, measured on JAX (seeds 0-2), where the loss stays finite: the whole epoch is
# one compiled call, so epoch 1's step is averaged with the zero steps after the ReLUs died.
DIED_OUT = [
    ([13.70, 14.48], 0.089, 0.0, 0.5),
    ([12.51, 13.03], 0.063, 1.9e-9, 0.48),
    ([14.05, 14.14, 14.55], 0.039, 0.0, 0.3),
]


@pytest.mark.parametrize(("losses", "first", "then", "dead"), DIED_OUT)
def test_large_steps_that_die_out_with_nothing_learnt_are_a_rate_too_high(losses, first, then, dead):
    epochs = 15
    loss = losses + [losses[-1]] * (epochs - len(losses))
    history = {
        "loss": loss,
        "val_loss": loss,
        **steps(first, then, epochs),
        "grad_norm/hidden_1": [1.0] * (len(losses) - 1) + [0.0] * (epochs - len(losses) + 1),
        "grad_norm/output": [1.0] * (len(losses) - 1) + [0.0] * (epochs - len(losses) + 1),
        "dead_fraction/hidden_2": [dead] * epochs,
    }
    findings = diagnose(
        history, recipe(**{"training.optimizer": "sgd", "training.learning_rate": 4.0}), data_info=DIGITS
    )
    assert causes(findings) == ["learning_rate_too_high"], [(f.kind, f.role) for f in findings]
    assert findings[0].changes["training.learning_rate"] < 4.0
    assert "died out" in findings[0].evidence
    assert not {"learning_rate_too_low", "vanishing"} & set(kinds(findings))


def test_steps_a_schedule_winds_down_after_the_loss_fell_are_no_rate_too_high():
    # Large early steps decayed to almost nothing, but the loss fell to a tenth of a constant's.
    loss = [*np.geomspace(1.5, 0.23, 8), *[0.23] * 7]
    history = {"loss": loss, "val_loss": loss, "update_ratio/hidden_1": list(np.geomspace(0.02, 1e-8, 15))}
    assert kinds(diagnose(history, recipe(), data_info=DIGITS)) == []
    # The same steps with the loss left at a constant prediction's are the rate's doing.
    history = {**history, "loss": [4.6] + [2.3] * 14, "val_loss": [2.3] * 15}
    assert causes(diagnose(history, recipe(), data_info=DIGITS)) == ["learning_rate_too_high"]


def test_zero_steps_are_blocked_gradients_not_a_rate_too_low():
    history = {"loss": [2.3] * 8, "val_loss": [2.3] * 8, **steps(0.0, 0.0, 8)}
    assert "learning_rate_too_low" not in kinds(diagnose(history, recipe(), data_info=DIGITS))


def test_without_step_sizes_only_a_diverging_loss_counts_as_a_rate_too_high():
    assert kinds(diagnose({"loss": [1.0, 1.4, 0.9, 1.5, 1.0, 1.3]})) == []
    assert causes(diagnose({"loss": [1.0, 2.0, 5.0, float("nan")]})) == ["learning_rate_too_high"]


def test_a_run_still_falling_fast_at_its_last_epoch_stopped_too_early():
    history = {"loss": [2.26, 1.41], "val_loss": [1.66, 1.15], **steps(3e-3, 3e-3, 2)}
    findings = diagnose(history, recipe(**{"training.epochs": 2}), data_info=DIGITS)
    assert causes(findings) == ["stopped_too_early"]
    assert findings[0].changes == {"training.epochs": 30, "callbacks.early_stopping.enabled": True}


def test_a_run_that_slowed_to_a_halt_did_not_stop_too_early():
    loss = list(2.0 * np.exp(-np.arange(15)) + 0.05)
    history = {"loss": loss, "val_loss": [value + 0.1 for value in loss], **steps(3e-3, 2e-3, 15)}
    assert diagnose(history, recipe(), data_info=DIGITS) == []


def test_a_straight_slow_descent_far_from_the_minimum_is_still_improving():
    loss = list(np.linspace(1.88e4, 1.73e4, 25))
    history = {"loss": loss, "val_loss": [value * 1.07 for value in loss], **steps(2e-3, 2e-3, 25)}
    info = {**DIGITS, "baseline_loss": 1.88e4, "rows": {"train": 700, "val": 150, "test": 150}}
    findings = diagnose(
        history, recipe(**{"training.batch_size": 512, "training.epochs": 25}), data_info=info
    )
    assert causes(findings) == ["batch_too_large"]
    assert findings[0].changes["training.batch_size"] < 512


def test_early_stopping_ending_the_run_is_not_stopping_too_early():
    history = {"loss": [2.26, 1.41, 1.0], "val_loss": [1.66, 1.15, 0.9]}
    stopped = load_recipe({"name": "stopped", "training": {"epochs": 30}})
    assert diagnose(history, stopped, data_info=DIGITS) == []


def test_a_smooth_rise_of_the_val_loss_is_overfitting_and_the_same_rise_in_jitter_is_not():
    # The training loss falls 20 % after the val loss's minimum: enough for a rise to be
    # overfitting, too little for the gap between them to widen (see the tests below).
    loss = list(np.geomspace(2.0, 0.01, 5)) + list(np.linspace(0.0099, 0.008, 25))
    smooth = list(np.concatenate([np.linspace(1.5, 0.635, 5), np.linspace(0.64, 0.68, 25)]))
    findings = diagnose({"loss": loss, "val_loss": smooth}, recipe(), data_info=DIGITS)
    assert kinds(findings) == ["overfitting"]
    assert findings[0].changes["model.dropout"] > 0
    jitter = [value * (1.25 if index % 2 else 0.8) for index, value in enumerate(smooth)]
    jitter[4] = 0.5
    assert "overfitting" not in kinds(
        diagnose({"loss": loss, "val_loss": jitter}, recipe(), data_info=DIGITS)
    )


# 80 digits rows, a 512-512 network, 40 epochs (the zoo's `overfitting_digits`): the val loss rose
# 7 % above its epoch-4 minimum and slid back to 4 % above it while the training loss fell 100-fold.
ROSE_AND_SLIDING_BACK = [1.692, 1.095, 0.759, 0.686, 0.688, 0.706, 0.722, 0.725, 0.723, 0.721, 0.722, 0.723]
ROSE_AND_SLIDING_BACK += list(np.linspace(0.726, 0.737, 8)) + list(np.linspace(0.737, 0.716, 20))


def test_a_val_loss_that_rose_and_slides_back_is_a_rise_and_a_flat_one_a_widening_gap():
    loss = list(np.geomspace(2.35, 0.0007, 40))
    findings = diagnose({"loss": loss, "val_loss": ROSE_AND_SLIDING_BACK}, recipe(), data_info=DIGITS)
    assert kinds(findings) == ["overfitting"]
    assert "held 0.72" in findings[0].evidence
    # The same minimum followed by a level within the jitter of a healthy split is no rise; with the
    # training loss falling 100-fold meanwhile, the gap between them widens: overfitting all the same.
    flat = ROSE_AND_SLIDING_BACK[:4] + [0.686 + 0.01 * (index % 2) for index in range(36)]
    findings = diagnose({"loss": loss, "val_loss": flat}, recipe(), data_info=DIGITS)
    assert kinds(findings) == ["overfitting"] and "bottomed at" not in findings[0].evidence
    assert "widened" in findings[0].title
    # A training loss that levelled off with it leaves no gap widening: a healthy plateau.
    plateau = list(np.geomspace(2.35, 0.2, 4)) + list(np.linspace(0.2, 0.18, 36))
    assert diagnose({"loss": plateau, "val_loss": flat}, recipe(), data_info=DIGITS) == []


# 80 digits rows, a 512-512 network, 40 epochs (the zoo's `overfitting_digits`, another seed): the
# val loss crept 3 % above its epoch-9 minimum, never enough for a rise, while the training loss fell
# 7-fold. Dropout and early stopping took its val loss to 0.460 (from 0.479).
CREPT_UP = [1.519, 0.889, 0.632, 0.522, 0.483, 0.471, 0.466, 0.466, 0.465, 0.466, 0.467, 0.468]
CREPT_UP += list(np.linspace(0.469, 0.479, 28))
CREPT_UP_TRAIN = list(np.geomspace(2.5, 0.0038, 9)) + list(np.geomspace(0.0031, 0.00056, 31))

# A noisy regression (the zoo's `overfitting_regression`: 100 rows, a 256-256 network, 100 epochs),
# every 5th epoch of its second half: the val loss slid 20 % while the training loss fell 3.4-fold.
# Every regulariser tried raised its val loss (dropout 0.3 and early stopping: 204 to 355).
SLIDING_VAL = [255.2, 230.9, 231.0, 226.7, 233.1, 223.0, 221.0, 213.6, 211.1, 211.5, 203.5]
FALLING_TRAIN = [70.12, 57.44, 50.13, 43.87, 41.05, 34.16, 30.65, 27.92, 24.87, 22.88, 20.74]
# A constant prediction's loss there is the target's variance, about 13,000.
REGRESSION = {
    **DIGITS,
    "baseline_loss": 13000.0,
    "rows": {"train": 100, "val": 200, "test": 200},
    "target_std": 114.0,
}


def test_a_val_loss_held_above_its_minimum_while_the_gap_widens_is_overfitting():
    findings = diagnose({"loss": CREPT_UP_TRAIN, "val_loss": CREPT_UP}, recipe(), data_info=DIGITS)
    assert kinds(findings) == ["overfitting"], [finding.title for finding in findings]
    assert "widened" in findings[0].title and findings[0].epoch == 9
    assert findings[0].numbers["gap_after"] >= 2 * findings[0].numbers["gap_before"]
    assert findings[0].changes["model.dropout"] > 0
    # Early stopping on val_loss that ended the run and restored its best epoch leaves no overfit model.
    stopped = recipe(**{"callbacks.early_stopping.enabled": True, "callbacks.early_stopping.patience": 5})
    history = {"loss": CREPT_UP_TRAIN[:15], "val_loss": CREPT_UP[:15]}
    assert "overfitting" not in kinds(diagnose(history, stopped, data_info=DIGITS))


def test_a_val_loss_still_sliding_down_is_not_overfitting_however_wide_the_gap():
    second_half = np.arange(50, 100)
    val = list(np.geomspace(12680, 260, 50)) + list(
        np.interp(second_half, np.arange(50, 101, 5), SLIDING_VAL)
    )
    loss = list(np.geomspace(12410, 75, 50)) + list(
        np.interp(second_half, np.arange(50, 101, 5), FALLING_TRAIN)
    )
    assert val[-1] / loss[-1] > 2 * val[50] / loss[50]  # the gap widened
    assert "overfitting" not in kinds(
        diagnose({"loss": loss, "val_loss": val}, recipe(), data_info=REGRESSION)
    )


@pytest.mark.parametrize(
    "settings, final, key, lower",
    [
        ({"model.l2": 1.0}, (243, 12.9, 12.2), "model.l2", True),
        ({"model.dropout": 0.9, "model.hidden": [16]}, (5.1, 2.2, 1.72), "model.dropout", True),
        ({"model.hidden": [2]}, (2.4, 1.5, 1.52), "model.hidden", False),
    ],
)
def test_underfitting_loosens_what_holds_the_model_back(settings, final, key, lower):
    start, train_end, val_end = final
    decay = np.exp(-np.arange(15))
    loss = list(train_end + (start - train_end) * decay)
    val = list(val_end + (start - val_end) * decay)
    findings = diagnose({"loss": loss, "val_loss": val}, recipe(**settings), data_info=DIGITS)
    assert causes(findings) == ["underfitting"]
    before = settings[key]
    after = findings[0].changes[key]
    if lower:
        assert after < before
    else:
        assert sum(after) > sum(before)


def test_large_gradient_norms_alone_are_not_exploding():
    # Mean squared error on targets near 150: healthy norms of a thousand.
    norms = list(np.linspace(480, 1000, 15))
    history = {
        "loss": list(np.linspace(6100, 2500, 15)),
        "grad_norm/global": norms,
        "grad_norm_max/global": [2 * value for value in norms],
        **steps(2e-3, 2e-3, 15),
    }
    stopped = load_recipe({"name": "regression", "model": {"task": "regression"}, "training": {"epochs": 15}})
    assert "exploding" not in kinds(diagnose(history, stopped, data_info={**DIGITS, "baseline_loss": 6170}))


def test_a_gradient_far_above_its_start_is_exploding_and_clipping_is_the_fix():
    norms = [1.0, 1.2, 1.1, 300.0, 2.0]
    history = {"loss": [2.0, 1.5, 1.4, 1.3, 1.2], "grad_norm/global": norms, "grad_norm_max/global": norms}
    findings = diagnose(history, recipe(), data_info=DIGITS)
    assert causes(findings) == ["exploding"]
    assert findings[0].changes == {"training.clipnorm": 1.0}


def test_vanishing_reads_the_early_epochs_and_suggests_relu_for_sigmoid():
    history = {
        "loss": [2.35, 2.31, 2.31, 2.3, 2.2, 2.0, 1.9, 1.84, 1.8],
        "grad_norm/hidden_1": [1.6e-5, 1.5e-5, 1.8e-5, 3e-3, 0.05, 0.1, 0.2, 0.2, 0.2],
        "grad_norm/output": [0.6] * 9,
    }
    findings = diagnose(history, recipe(**{"model.activation": "sigmoid"}), data_info=DIGITS)
    assert findings[0].kind == "vanishing"
    assert findings[0].changes == {"model.activation": "relu", "model.kernel_initializer": "he_normal"}


def test_zero_initial_weights_are_a_bad_initialization_not_vanishing():
    history = {
        "loss": [1.1] * 10,
        "val_loss": [1.1] * 10,
        "grad_norm/hidden_1": [0.0] * 10,
        "grad_norm/output": [0.14] * 10,
    }
    zeros = recipe(**{"model.kernel_initializer": "zeros", "model.activation": "tanh"})
    findings = diagnose(history, zeros, data_info={**DIGITS, "baseline_loss": 1.1})
    assert findings[0].kind == "bad_initialization"
    assert findings[0].changes == {"model.kernel_initializer": "glorot_uniform"}
    assert "vanishing" not in kinds(findings)


def test_no_gradient_in_any_layer_is_not_vanishing():
    # N(0, 3) weights on iris, measured on JAX: the outputs start huge and confidently wrong, the
    # loss clips the softmax and no layer, the output's included, gets any gradient.
    history = {
        "loss": [7.91] * 30,
        "val_loss": [7.33] * 30,
        "grad_norm/hidden_1": [0.0] * 30,
        "grad_norm/hidden_2": [0.0] * 30,
        "grad_norm/output": [0.0] * 30,
    }
    large = recipe(**{"model.kernel_initializer": {"name": "random_normal", "stddev": 3.0}})
    findings = diagnose(history, large, data_info={**DIGITS, "baseline_loss": 1.099})
    assert causes(findings) == ["bad_initialization"], [(f.kind, f.role) for f in findings]
    assert findings[0].changes == {"model.kernel_initializer": "he_normal"}
    assert "vanishing" not in kinds(findings)


def test_units_dead_from_the_start_with_a_negative_bias_get_zero_biases():
    history = {"loss": [2.3] * 6, "val_loss": [2.3] * 6, "dead_fraction/hidden_1": [0.9] * 6}
    negative = recipe(**{"model.bias_initializer": {"name": "constant", "value": -5.0}})
    findings = diagnose(history, negative, data_info=DIGITS)
    assert findings[0].kind == "dead_units"
    assert findings[0].changes == {"model.bias_initializer": "zeros"}


def test_saturation_from_large_initial_weights_gets_a_glorot_initializer():
    history = {"loss": list(np.linspace(10, 3.5, 8)), "saturated_fraction/hidden_1": [0.8] * 8}
    large = recipe(
        **{"model.activation": "tanh", "model.kernel_initializer": {"name": "random_normal", "stddev": 2.0}}
    )
    findings = diagnose(history, large, data_info=DIGITS)
    assert findings[0].kind == "saturated"
    assert findings[0].changes == {"model.kernel_initializer": "glorot_uniform"}


def test_unnormalized_inputs_are_named_only_when_the_run_shows_their_harm():
    raw = {**DIGITS, "normalize": "none", "feature_scales": {"age": 10.0, "salary": 20000.0}}
    decay = np.exp(-np.arange(20))
    healthy = {"loss": list(0.1 + 1.9 * decay), "val_loss": list(0.2 + 1.8 * decay)}
    assert diagnose(healthy, recipe(), data_info=raw) == []
    diverged = {"loss": [3800.0, 0.9, 0.66, 0.66, 0.66], **steps(0.85, 1e-6, 5)}
    findings = diagnose(
        diverged, recipe(**{"training.optimizer": "sgd", "training.learning_rate": 0.01}), data_info=raw
    )
    assert causes(findings) == ["unnormalized_inputs"]
    assert findings[0].changes == {"data.normalize": "standard"}
    assert "learning_rate_too_high" in kinds(findings[1:])
    standardised = {**raw, "normalize": "standard"}
    assert "unnormalized_inputs" not in kinds(diagnose(diverged, recipe(), data_info=standardised))


def test_an_unscaled_target_is_named_when_the_loss_stays_near_a_constants_and_nothing_else_explains_it():
    prices = {**DIGITS, "baseline_loss": 1.0e8, "target_std": 1.0e4, "scale_target": False}
    regression = recipe(**{"model.task": "regression"})
    stuck = list(np.linspace(1.0e8, 0.93e8, 15))  # 93 % of a constant prediction's loss, falling slowly
    flat_end = stuck[:-3] + [stuck[-4]] * 3  # ...and no longer improving when the run ends
    findings = diagnose({"loss": flat_end, "val_loss": flat_end}, regression, data_info=prices)
    assert causes(findings) == ["unscaled_target"]
    assert findings[0].changes == {"data.scale_target": True}
    assert "1e+04" in findings[0].evidence
    consequences = [(finding.kind, finding.caused_by) for finding in findings[1:]]
    assert consequences == [("underfitting", "unscaled_target")]
    # Scaled already, or a target spread no wider than a network's outputs start: plain underfitting.
    for data_info in ({**prices, "scale_target": True}, {**prices, "target_std": 77.0}):
        findings = diagnose({"loss": flat_end, "val_loss": flat_end}, regression, data_info=data_info)
        assert causes(findings) == ["underfitting"]
    # A run that learnt the target, however widely it spreads, is not flagged.
    learnt = list(1.0e8 * np.exp(-np.arange(15)) + 1.0e6)
    assert diagnose({"loss": learnt, "val_loss": learnt}, regression, data_info=prices) == []
