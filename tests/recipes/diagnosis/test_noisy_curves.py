"""The online rules on validation curves measured in wide searches: noise is not a verdict.

Each curve is a trial's per-epoch val_loss from an unpruned wide search (seeds 200-204,
30 trials each, 24 epochs): its final score is known, so each test says what stopping it
at the rule's epoch would have cost.
"""

import numpy as np
import pytest

from kerasforge.recipes.diagnosis import pace_rules
from kerasforge.recipes.diagnosis.online_rules import (
    DIVERGING_EPOCHS,
    STUCK_EPOCHS,
    behind_the_top,
    constant_prediction_rule,
    diverging_rule,
)
from kerasforge.recipes.diagnosis.pace_rules import (
    SLOW_MIN_EPOCHS,
    SLOW_MIN_LEFT,
    gain_decay,
    gain_epochs,
    too_slow_rule,
)

EPOCHS = 24

# breast_cancer, 85 validation rows: deep relu/Adam runs whose first epoch landed low, which then
# fell to the best scores of their search (up to the epochs after their best).
BOUNCED_THEN_FELL = [
    [0.133, 0.334, 0.251, 0.0721, 0.0892, 0.0954, 0.0992, 0.106, 0.115, 0.112, 0.139, 0.15],
    [0.0644, 0.158, 0.336, 0.0759, 0.107, 0.0335, 0.0336],
    [0.138, 0.247, 0.369, 0.0564, 0.0946, 0.112, 0.101, 0.116, 0.121, 0.124, 0.149, 0.187],
]
# digits, a 10-layer tanh net at SGD 0.85: its loss bounced around 1.5 for 24 epochs (final 1.09,
# rank 12 of 30; the top quarter was at 0.29).
BOUNCING_NOWHERE = [
    2.87, 3.09, 1.86, 2.08, 1.49, 2.14, 1.52, 1.91, 1.83, 1.54, 1.38, 2.21,
    1.3, 1.71, 1.7, 2.26, 1.61, 1.53, 1.41, 1.11, 1.09, 1.58, 1.96, 1.38,
]  # fmt: skip
# digits, a 6-layer relu net at SGD 0.25: a lucky epoch 4, bounces, then it settles at 0.29 (rank 4 of
# 30, in the top quarter).
LUCKY_THEN_SETTLED = [
    1.37, 0.776, 1.17, 0.369, 1.2, 0.451, 1.11, 0.599, 0.511, 2.74, 0.315,
    0.311, 0.292, 0.295, 0.312, 0.359, 0.356, 0.36, 0.36, 0.362, 0.362,
]  # fmt: skip
# breast_cancer, a 1-layer relu net at SGD 0.029: slow and smooth, ends at 0.0815 (rank 5 of 30).
SLOW_AND_STEADY = [
    0.289, 0.235, 0.2, 0.176, 0.16, 0.147, 0.137, 0.129, 0.122, 0.117, 0.112, 0.109,
    0.105, 0.101, 0.0984, 0.0958, 0.0939, 0.0919, 0.0896, 0.0877, 0.0861, 0.0845, 0.0828, 0.0815,
]  # fmt: skip

# diabetes (a constant prediction's loss 6139), an 8-layer relu net at Adam 4.1e-4: 0.5 % then 0.8 % of
# that loss off in epochs 2 and 3, then faster; it ended at 3039, in its search's top quarter (3387).
LEAVING_A_PLATEAU = [
    5650, 5620, 5570, 5470, 5330, 5110, 4820, 4420, 3950, 3520, 3220, 3120,
    3110, 3100, 3100, 3080, 3080, 3060, 3080, 3050, 3040, 3070, 3040, 3040,
]  # fmt: skip
DIABETES_CONSTANT = 6139.0


def _first_verdict_of(rule, history, epochs=EPOCHS):
    """The first verdict of `rule` on a history of separate `loss` and `val_loss` curves."""
    for epoch in range(1, len(history["val_loss"]) + 1):
        found = rule({key: values[:epoch] for key, values in history.items()}, epoch, epochs)
        if found is not None:
            return epoch, found
    return None


def _first_verdict(rule, curve, epochs=EPOCHS):
    """The first verdict of `rule` on one curve, read as both the training and the val loss."""
    return _first_verdict_of(rule, {"val_loss": curve, "loss": curve}, epochs)


def test_a_validation_loss_that_bounces_for_two_epochs_is_not_diverging():
    for curve in BOUNCED_THEN_FELL:
        assert _first_verdict(diverging_rule(), curve) is None, curve


def test_a_validation_loss_above_its_start_epoch_after_epoch_diverges():
    start = 0.1
    curve = [start] + [start * 2] * DIVERGING_EPOCHS + [start * 3]
    epoch, (kind, evidence) = _first_verdict(diverging_rule(), curve)
    assert (kind, epoch) == ("diverging", 1 + DIVERGING_EPOCHS)
    assert "above 1.5x its first epoch's 0.1" in evidence


# wine (sklearn, 36 validation rows; a constant prediction's loss 1.10), two runs of an unseen wide
# space (seed 302) whose first epoch landed near zero, then spent 3 epochs at 1.5x that or more: they
# finished first and third of their search.
NEAR_ZERO_THEN_BOUNCED = [
    [0.00369, 0.44, 0.0096, 0.00987, 0.186, 0.217, 1.05, 0.673, 0.00073, 0.00233, 1.96e-05],
    [0.0628, 0.398, 0.611, 1.05, 0.523, 0.0353, 0.00791, 0.0118, 0.014],
]
WINE_CONSTANT = 1.10


def test_a_validation_loss_under_a_constant_predictions_is_not_diverging():
    for curve in NEAR_ZERO_THEN_BOUNCED:
        assert _first_verdict(diverging_rule(), curve) is not None  # the first epoch alone set the bar
        assert _first_verdict(diverging_rule(baseline=WINE_CONSTANT), curve) is None, curve
    # Far above both its start and a constant prediction's, epoch after epoch, it diverges.
    curve = [0.3] + [WINE_CONSTANT * 2] * DIVERGING_EPOCHS
    epoch, (kind, evidence) = _first_verdict(diverging_rule(baseline=WINE_CONSTANT), curve)
    assert (kind, epoch) == ("diverging", 1 + DIVERGING_EPOCHS)
    assert "and a constant prediction's 1.1 for 3 epochs" in evidence


# iris (sklearn, 30 validation rows; a constant prediction's loss 1.10), a held-out space (seed 302):
# a 5-layer relu net at Adam 0.026 reached 0.123 at epoch 11, the best of its search, then its val loss
# rose to 2.1-2.4 for 3 epochs.
BEST_THEN_DIVERGED = [
    0.88, 0.787, 0.9, 0.781, 0.687, 0.577, 0.743, 1.04, 0.988, 0.786,
    0.123, 0.138, 0.173, 0.295, 0.312, 0.306, 2.39, 2.17, 2.09,
]  # fmt: skip
IRIS_CONSTANT = 1.10


def test_a_trial_that_ranks_with_the_top_trials_is_not_stopped_for_its_loss():
    diverging = diverging_rule(baseline=IRIS_CONSTANT)
    history = {"val_loss": BEST_THEN_DIVERGED}
    assert _first_verdict_of(diverging, history)[0] == 19
    top_at = [0.3] * len(BEST_THEN_DIVERGED)  # the top third's best by each epoch, behind this run's
    gated = behind_the_top(diverging, "val_loss", "min", top_at, alone=True)
    assert _first_verdict_of(gated, history) is None
    # Behind the top trials, it is stopped, and says by how much; with no top trials yet, on its own.
    ahead = behind_the_top(diverging, "val_loss", "min", [0.1] * len(BEST_THEN_DIVERGED), alone=True)
    epoch, (kind, evidence) = _first_verdict_of(ahead, history)
    assert (epoch, kind) == (19, "diverging")
    assert "its best val_loss by epoch 19, 0.123, is behind 0.1, the top finished trials' by then" in evidence
    assert _first_verdict_of(behind_the_top(diverging, "val_loss", "min", None, alone=True), history)
    assert _first_verdict_of(behind_the_top(diverging, "val_loss", "min", None, alone=False), history) is None


def test_too_slow_waits_out_a_noisy_start():
    # The top quarter of those searches (0.0721) is what each of these curves reached.
    for curve in BOUNCED_THEN_FELL:
        verdict = _first_verdict(too_slow_rule("val_loss", "min", target=0.0721), curve[:SLOW_MIN_EPOCHS])
        assert verdict is None, curve


def test_too_slow_paces_a_bouncing_run_by_its_best_so_far():
    # Its bounces are epoch-to-epoch "gains" of up to 0.9, a straight line at which would reach any
    # target; its best so far fell 0.11 in the 5 epochs before epoch 11.
    epoch, (kind, evidence) = _first_verdict(too_slow_rule("val_loss", "min", target=0.29), BOUNCING_NOWHERE)
    assert kind == "too_slow" and SLOW_MIN_EPOCHS <= epoch <= 12, (epoch, evidence)
    assert np.min(BOUNCING_NOWHERE) > 0.29  # and run to its end it did not get there


def test_too_slow_leaves_a_slow_steady_run_that_reaches_the_target():
    assert _first_verdict(too_slow_rule("val_loss", "min", target=0.0815), SLOW_AND_STEADY) is None


def test_too_slow_counts_a_noisy_run_s_spread_as_room_below_its_best():
    # From its lucky epoch 4 its best stood still for 5 epochs: paced by that alone it would stop
    # at epoch 9, though it went on to 0.292. Its values lie 0.34 above its best on average, and a
    # run that bounces that much can land that far below it.
    rule = too_slow_rule("val_loss", "min", target=0.292)
    assert _first_verdict(rule, LUCKY_THEN_SETTLED) is None


def test_a_loss_that_falls_faster_each_epoch_is_leaving_its_plateau_not_stuck():
    assert _first_verdict(constant_prediction_rule(DIABETES_CONSTANT), LEAVING_A_PLATEAU) is None


def test_a_loss_that_bounces_at_a_constant_prediction_s_is_stuck():
    # The same start, then a loss that stops falling: what a net that learns nothing shows.
    curve = LEAVING_A_PLATEAU[:3] + [5580, 5575, 5590]
    epoch, (kind, evidence) = _first_verdict(constant_prediction_rule(DIABETES_CONSTANT), curve)
    assert kind == "constant_prediction" and epoch == 4, (epoch, evidence)
    assert f"for epochs {epoch - STUCK_EPOCHS + 1}-{epoch}" in evidence


# breast_cancer (a constant prediction's loss 0.661), a 4-layer tanh net at SGD 3.1 (seed 201): a
# too-large step broke its weights in epoch 2; its training loss, far above a constant's, mended
# from then on, and its val loss reached 0.000858 at epoch 14, the best of its search.
RECOVERING = {
    "loss": [1.64, 4.09, 3.65, 2.95, 1.44, 0.746, 0.727, 0.326, 0.207, 0.172, 0.27, 0.272, 0.55, 0.251],
    "val_loss": [
        0.559, 4.43, 1.85, 5.42, 0.588, 0.181, 0.197, 0.169, 0.0991, 0.39, 0.354, 1.37, 0.111, 0.000858,
    ],
}  # fmt: skip
BREAST_CANCER_CONSTANT = 0.661


def test_a_run_whose_training_loss_mends_above_a_constant_s_is_recovering_not_diverging():
    diverging = diverging_rule(baseline=BREAST_CANCER_CONSTANT)
    assert _first_verdict_of(diverging, RECOVERING) is None
    start = RECOVERING["loss"][:1]
    # The same val loss with a training loss that does not mend, or that has fit the training rows
    # (under a constant's: overfitting), diverges.
    for train in ([4.09, 4.2, 4.5], [0.3, 0.2, 0.1]):
        history = {"loss": start + train, "val_loss": RECOVERING["val_loss"][: 1 + len(train)]}
        epoch, (kind, _) = _first_verdict_of(diverging, history)
        assert (kind, epoch) == ("diverging", 1 + DIVERGING_EPOCHS), train


# wine (held out, 36 validation rows; a constant prediction's loss 1.08), an RMSprop net at 0.18
# (seed 201): its val loss bounced at 3-13x a constant's, then reached 0.0000 at epoch 8, the best
# score of its search.
BOUNCING_HIGH = {
    "loss": [23.5, 21.7, 20.1, 13.6, 14.6, 13.4, 4.86, 16.3],
    "val_loss": [29.6, 3.17, 5.39, 7.61, 13.8, 2.75, 0.497, 0.0],
}
WINE_HELD_OUT_CONSTANT = 1.08


def test_a_run_bouncing_far_above_its_best_is_not_stuck():
    rule = constant_prediction_rule(WINE_HELD_OUT_CONSTANT)
    assert _first_verdict_of(rule, BOUNCING_HIGH) is None
    # Quiet at the same best, it is stuck.
    quiet = {key: values[:2] + [values[1] * 1.001] * 2 for key, values in BOUNCING_HIGH.items()}
    epoch, (kind, _) = _first_verdict_of(rule, quiet)
    assert (kind, epoch) == ("constant_prediction", 4)


# wine (held out), a 4-layer elu net at RMSprop 6.9e-4 (seed 200): smooth and slowing; 0.0167 in its
# 24th and last epoch put it in the top quarter.
SLOWING_TO_THE_EDGE = [
    0.34, 0.185, 0.13, 0.103, 0.0846, 0.0701, 0.0598, 0.0505, 0.0439, 0.0378, 0.0348, 0.032,
    0.0309, 0.0269, 0.0255, 0.0217, 0.0214, 0.0213, 0.0202, 0.0195, 0.019, 0.0191,
]  # fmt: skip


def test_too_slow_does_not_judge_a_run_in_its_last_epochs():
    rule = too_slow_rule("val_loss", "min", target=0.017)
    history = {"val_loss": SLOWING_TO_THE_EDGE, "loss": SLOWING_TO_THE_EDGE}
    epoch = len(SLOWING_TO_THE_EDGE)
    assert rule(history, epoch, epoch + SLOW_MIN_LEFT - 1) is None  # a stop would save too little
    kind, evidence = rule(history, epoch, epoch + SLOW_MIN_LEFT)
    assert kind == "too_slow" and f"the {SLOW_MIN_LEFT} epochs left reach" in evidence


# 30k synthetic rows, a 4-layer relu net at SGD 1.1e-3 (seed 201): smooth, each epoch's gain smaller
# than the last; it ended at 0.700, rank 12 of 30 (the top quarter was at 0.408).
SMOOTH_AND_FLATTENING = [
    1.119, 1.052, 1.014, 0.9836, 0.9576, 0.9279, 0.9026, 0.8793, 0.8578, 0.8405, 0.8257, 0.8103,
    0.798, 0.7865, 0.7766, 0.7662, 0.7563, 0.7475, 0.7396, 0.7308, 0.7241, 0.7148, 0.7072, 0.6999,
]  # fmt: skip
# The same search, a 6-layer sigmoid net at Adam 6.2e-4: a plateau, then the loss falls faster; it
# ended at 0.399, in the top quarter.
LEAVING_A_SIGMOID_PLATEAU = [
    0.7884, 0.7701, 0.7652, 0.7575, 0.7402, 0.6808, 0.6512, 0.6287, 0.5912, 0.5588, 0.5252, 0.5036,
    0.5016, 0.4729, 0.4655, 0.4576, 0.4471, 0.4371, 0.4292, 0.422, 0.4174, 0.417, 0.4056, 0.3994,
]  # fmt: skip
# The top third of the trials that search had finished before either of them (`TrialPruning.target`).
TOP_THIRD_30K = 0.668


def test_gain_epochs_credits_the_epochs_left_with_gains_falling_as_one_over_the_epoch():
    assert gain_epochs(4, 24, decay=0) == 20
    assert gain_epochs(4, 24, decay=1) == pytest.approx(4 * sum(1 / later for later in range(5, 25)))
    assert gain_epochs(24, 24, decay=1) == 0
    assert gain_epochs(4, 24, decay=2) < gain_epochs(4, 24, decay=1) < gain_epochs(4, 24, decay=0)


def test_a_run_s_gains_fall_at_their_own_pace_at_most_as_one_over_the_epoch():
    assert gain_decay(np.array([0.04, 0.035]), epoch=4) == pytest.approx(np.log(0.04 / 0.035) / np.log(4 / 3))
    assert gain_decay(np.array([0.09, 0.01, 0.001]), epoch=4) == pace_rules.GAIN_DECAY
    assert gain_decay(np.array([0.03, 0.01, 0.0]), epoch=4) == 0  # no new best: bouncing, not falling
    assert gain_decay(np.array([0.03, 0.03, 0.03]), epoch=4) == 0  # a straight line
    assert gain_decay(np.array([0.03, 0.01, 0.02]), epoch=4) == 0  # rising again
    assert gain_decay(np.array([0.0, 0.0]), epoch=3) == 0


def test_too_slow_stops_a_flattening_run_when_its_falling_gains_cannot_reach_the_top(monkeypatch):
    rule = too_slow_rule("val_loss", "min", target=TOP_THIRD_30K)
    epoch, (kind, evidence) = _first_verdict(rule, SMOOTH_AND_FLATTENING)
    assert (kind, epoch) == ("too_slow", SLOW_MIN_EPOCHS), evidence
    assert "falling as 1/epoch" in evidence
    # A straight line credits each of the 20 epochs left with the whole recent gain: it kept the same
    # run 4 times as long.
    monkeypatch.setattr(pace_rules, "GAIN_DECAY", 0.0)
    epoch, (_, evidence) = _first_verdict(rule, SMOOTH_AND_FLATTENING)
    assert epoch >= 3 * SLOW_MIN_EPOCHS and "falling as" not in evidence


def test_too_slow_credits_a_run_leaving_its_plateau_with_its_gains_in_full():
    curve = LEAVING_A_SIGMOID_PLATEAU
    assert _first_verdict(too_slow_rule("val_loss", "min", target=TOP_THIRD_30K), curve) is None
    # By epoch 4 its gains went 0.018, 0.005, 0.008: rising again. Credited with gains falling as
    # 1/epoch from there, it would have been stopped, though it went on to the top quarter.
    gains = -np.diff(curve[:SLOW_MIN_EPOCHS])
    assert gain_decay(gains, SLOW_MIN_EPOCHS) == 0
    pace = (curve[0] - curve[SLOW_MIN_EPOCHS - 1]) / len(gains)
    assert curve[SLOW_MIN_EPOCHS - 1] - pace * gain_epochs(SLOW_MIN_EPOCHS, EPOCHS, 1.0) > TOP_THIRD_30K


@pytest.mark.parametrize("exponent", [0.05, 0.3, 1.0, 3.0])
@pytest.mark.parametrize("scale", [0.1, 5.0, 3000.0])
def test_too_slow_never_stops_a_power_law_or_exponential_curve_short_of_its_own_end(exponent, scale):
    # A learning curve that levels off as a power law of the epochs (floor + scale / epoch ** b) loses
    # its gains faster than 1/epoch; one that levels off exponentially, slowly (a low rate on a
    # well-conditioned problem), can lose them slower for a while, as its own gains show. Either way
    # the rule's line, aimed at where the curve really ends, never falls short of it.
    epochs = np.arange(1, EPOCHS + 1)
    for floor in (0.0, scale):
        curve = list(floor + scale / epochs**exponent)
        assert _first_verdict(too_slow_rule("val_loss", "min", target=curve[-1]), curve) is None
    leveling = list(scale * (1 + np.exp(-exponent * epochs)))
    assert _first_verdict(too_slow_rule("val_loss", "min", target=leveling[-1]), leveling) is None


def test_credited_with_one_over_the_epoch_a_slow_exponential_would_stop_short(monkeypatch):
    # The test above can fail: ignoring the run's own, slower fall stops a slow exponential early.
    monkeypatch.setattr(pace_rules, "gain_decay", lambda gains, epoch: 1.0)
    leveling = list(1 + np.exp(-0.05 * np.arange(1, EPOCHS + 1)))
    assert _first_verdict(too_slow_rule("val_loss", "min", target=leveling[-1]), leveling) is not None


# breast_cancer, a 4-layer sigmoid net at SGD 1.03 (benchmark seed 101): its val loss bounced
# above its best at epoch 3, then fell to 0.0607 by epoch 11, the best score of its search.
BOUNCED_THEN_BEST = [
    0.7336, 0.6308, 0.8388, 0.362, 0.2409, 0.0942, 0.1055, 0.127, 0.1042, 0.077, 0.0607, 0.0912,
]  # fmt: skip


def test_an_epoch_with_no_new_best_is_a_bounce_not_a_falling_gain(monkeypatch):
    best = np.minimum.accumulate(BOUNCED_THEN_BEST[:3])
    assert gain_decay(-np.diff(best), epoch=3) == 0
    # Twice the top trials' loss at epoch 3, so judged there; on a straight line it is left alone.
    rule = too_slow_rule("val_loss", "min", target=0.0607, reference=[0.3] * EPOCHS)
    assert _first_verdict(rule, BOUNCED_THEN_BEST) is None
    # Read as a gain fallen to 0 (at 1/epoch), the search's best trial was stopped at epoch 3.
    monkeypatch.setattr(pace_rules, "gain_decay", lambda gains, epoch: pace_rules.GAIN_DECAY)
    epoch, (kind, _) = _first_verdict(rule, BOUNCED_THEN_BEST)
    assert (kind, epoch) == ("too_slow", 3)
