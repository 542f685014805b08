"""Statistics over seeds on known numbers: intervals, paired differences, summaries and claims."""

import math

import numpy as np
import pandas as pd
import pytest

from kerasforge.errors import RecipeError
from kerasforge.recipes.reports.seed_statistics import (
    check_claims,
    interval,
    mean_std_table,
    paired_difference,
    summarize,
    t_quantile,
)
from kerasforge.recipes.schema.claims import Claim


def test_t_quantiles_match_the_tables():
    # Two-sided 95%: the values printed in every statistics textbook.
    assert t_quantile(2) == pytest.approx(12.7062, abs=1e-4)
    assert t_quantile(5) == pytest.approx(2.7764, abs=1e-4)
    assert t_quantile(31) == pytest.approx(2.0423, abs=1e-4)


def test_interval_of_known_numbers():
    spread = interval([1, 2, 3, 4, 5])
    assert spread.mean == 3
    assert spread.std == pytest.approx(math.sqrt(2.5))
    assert spread.n == 5
    assert spread.half_width == pytest.approx(2.7764451 * math.sqrt(2.5) / math.sqrt(5))
    assert (spread.low, spread.high) == pytest.approx((3 - 1.96324, 3 + 1.96324), abs=1e-4)


def test_interval_leaves_out_diverged_runs_and_has_no_width_for_one_value():
    assert interval([1.0, np.nan, 3.0, np.inf]).n == 2
    single = interval([0.7])
    assert single.mean == 0.7 and math.isnan(single.half_width)
    assert not single.excludes_zero()
    assert interval([]).n == 0


def test_paired_difference_removes_what_the_seed_does_to_both():
    baseline = np.array([0.60, 0.90, 0.75, 0.82, 0.68])  # some seeds are easy, some hard
    better = baseline + np.array([0.03, 0.05, 0.04, 0.04, 0.04])
    paired = paired_difference(better, baseline)
    assert paired.mean == pytest.approx(0.04)
    assert paired.excludes_zero()
    # Unpaired, the two means' intervals overlap: the seed's effect hides the variant's.
    assert interval(better).low < interval(baseline).high


def test_paired_difference_of_known_numbers():
    paired = paired_difference([2, 4, 6], [1, 2, 3])
    assert (paired.mean, paired.std) == pytest.approx((2.0, 1.0))
    assert paired.half_width == pytest.approx(4.302653 / math.sqrt(3))


def test_paired_difference_needs_one_value_per_seed_each():
    with pytest.raises(ValueError, match="one value per seed on each side. Received: 3 and 2"):
        paired_difference([1, 2, 3], [1, 2])


def _per_seed():
    """Three seeds, two variants: `good` has a lower val_loss and a higher accuracy every seed."""
    rows = []
    for seed, (bad_loss, bad_acc, bad_epochs) in enumerate(
        [(1.0, 0.80, 9), (1.4, 0.70, np.nan), (1.2, 0.75, 8)]
    ):
        rows.append(
            {
                "seed": seed,
                "variant": "bad",
                "findings": "healthy",
                "epochs_run": 10,
                "val_loss": bad_loss,
                "test_accuracy": bad_acc,
                "epochs_to_val_loss_target": bad_epochs,
                "gap": 0.1 * seed,
            }
        )
        rows.append(
            {
                "seed": seed,
                "variant": "good",
                "findings": "healthy",
                "epochs_run": 10,
                "val_loss": bad_loss - 0.5,
                "test_accuracy": bad_acc + 0.1,
                "epochs_to_val_loss_target": 3,
                "gap": 0.1 * (2 - seed),
            }
        )
    return pd.DataFrame(rows)


def test_summarize_gives_mean_std_interval_and_paired_difference_per_variant_and_metric():
    summary = summarize(_per_seed(), baseline="bad").set_index(["variant", "metric"])
    row = summary.loc[("good", "val_loss")]
    assert row["seeds"] == 3
    assert row["mean"] == pytest.approx(0.7)
    assert row["std"] == pytest.approx(0.2)
    half_width = 4.302653 * 0.2 / math.sqrt(3)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.7 - half_width, 0.7 + half_width))
    assert row["diff_vs_baseline"] == pytest.approx(-0.5)
    assert row["diff_ci_low"] == pytest.approx(-0.5) and row["diff_ci_high"] == pytest.approx(-0.5)
    assert row["baseline"] == "bad"
    assert summary.loc[("bad", "val_loss"), "diff_vs_baseline"] == 0
    assert ("good", "findings") not in summary.index


def test_a_run_that_never_reaches_the_target_counts_one_epoch_more_than_it_ran():
    summary = summarize(_per_seed(), baseline="bad").set_index(["variant", "metric"])
    assert summary.loc[("bad", "epochs_to_val_loss_target"), "mean"] == pytest.approx((9 + 11 + 8) / 3)


def test_check_claims_knows_which_way_is_better():
    claims = [
        Claim(variant="good", beats="bad", metric="val_loss"),  # lower is better
        Claim(variant="good", beats="bad", metric="test_accuracy"),  # higher is better
        Claim(variant="bad", beats="good", metric="test_accuracy"),  # the wrong way round
        Claim(variant="good", beats="bad", metric="gap"),  # +0.2, 0, -0.2: no clear difference
        Claim(variant="good", beats="bad", metric="epochs_to_val_loss_target"),
    ]
    checked = check_claims(_per_seed(), claims)
    assert checked["held"].tolist() == [True, True, False, False, True]
    assert checked.loc[0, "gain"] == pytest.approx(0.5)
    assert checked.loc[0, "better"] == "lower" and checked.loc[1, "better"] == "higher"
    assert checked.loc[0, "verdict"] == "`good` beats `bad` on val_loss by 0.5 ± 0 (3 seeds)"
    assert checked.loc[2, "verdict"].startswith("`good` beats `bad` on test_accuracy by 0.1")
    assert checked.loc[3, "verdict"].startswith("no clear difference between `good` and `bad` on gap")


def test_a_claim_on_a_metric_of_unknown_direction_is_a_recipe_error():
    table = _per_seed().assign(my_score=1.0)
    with pytest.raises(RecipeError, match="cannot tell whether 'my_score' is better high or low"):
        check_claims(table, [Claim(variant="good", beats="bad", metric="my_score")])


def test_mean_std_table_has_one_row_per_variant():
    table = mean_std_table(summarize(_per_seed(), baseline="bad")).set_index("variant")
    assert list(table.index) == ["bad", "good"]
    assert table.loc["good", "val_loss"] == "0.7 ± 0.2"
