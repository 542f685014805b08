"""Statistics over seeds: means, confidence intervals, paired differences and claims.

`compare --seeds N` trains every variant once per seed, and a seed fixes the
split, the initialisation and the data order for all variants alike. So the
variants are compared pair by pair, seed by seed: the paired difference
removes what the seed does to both (an easy split, a lucky initialisation) and
keeps what the variant does. Its 95% interval is Student's t with N - 1
degrees of freedom, as for any mean of N values whose spread is estimated from
them.

Example:

```python
interval([0.91, 0.93, 0.92])  # Interval(mean=0.92, std=0.01, n=3, half_width=0.0248)
paired_difference([0.91, 0.93, 0.92], [0.88, 0.91, 0.90])
```
"""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from kerasforge.errors import RecipeError
from kerasforge.recipes.schema.claims import COMPARISON_METRICS, Claim
from kerasforge.vocabulary import metric_direction

CONFIDENCE = 0.95
# Columns of the per-seed table that describe the set-up, not an outcome.
_SETUP_COLUMNS = ("seed", "variant", "changes", "batch_size", "updates_per_epoch", "findings")
# Columns of `comparison.csv` when a comparison ran over several seeds.
SUMMARY_COLUMNS = (
    "variant",
    "metric",
    "seeds",
    "mean",
    "std",
    "ci_low",
    "ci_high",
    "baseline",
    "diff_vs_baseline",
    "diff_ci_low",
    "diff_ci_high",
)
CLAIM_COLUMNS = (
    "claim",
    "variant",
    "beats",
    "metric",
    "better",
    "seeds",
    "gain",
    "ci_low",
    "ci_high",
    "held",
)


@dataclass(frozen=True)
class Interval:
    """A mean with its sample standard deviation and a two-sided confidence interval.

    Attributes:
        mean: Mean of the finite values (NaN when there are none).
        std: Sample standard deviation (ddof 1); NaN for fewer than 2 values.
        n: Number of finite values used.
        half_width: Half the width of the `CONFIDENCE` interval (Student's t, n - 1
            degrees of freedom); NaN for fewer than 2 values.
    """

    mean: float
    std: float
    n: int
    half_width: float

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def excludes_zero(self) -> bool:
        """True when the interval lies wholly above or wholly below 0 (False when undefined)."""
        return bool(self.n >= 2 and (self.low > 0 or self.high < 0))

    def __str__(self) -> str:
        mean = self.mean + 0.0  # no "-0"
        if math.isnan(self.half_width):
            return f"{mean:.3g}"
        return f"{mean:.3g} ± {self.half_width:.2g}"


def t_quantile(n: int, confidence: float = CONFIDENCE) -> float:
    """Student's t quantile for a two-sided `confidence` interval of a mean of `n` values."""
    return float(stats.t.ppf(0.5 + confidence / 2, n - 1))


def interval(values, confidence: float = CONFIDENCE) -> Interval:
    """The mean of the finite `values` with its standard deviation and confidence interval.

    Args:
        values: Numbers, one per seed. NaN and inf (a diverged run) are left out.
        confidence: Float. Coverage of the interval. Defaults to `0.95`.

    Returns:
        An `Interval`.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    n = len(finite)
    if n == 0:
        return Interval(math.nan, math.nan, 0, math.nan)
    if n == 1:
        return Interval(float(finite[0]), math.nan, 1, math.nan)
    std = float(finite.std(ddof=1))
    return Interval(float(finite.mean()), std, n, t_quantile(n, confidence) * std / math.sqrt(n))


def paired_difference(values, baseline, confidence: float = CONFIDENCE) -> Interval:
    """The interval of `values - baseline`, seed by seed.

    Args:
        values: One number per seed for a variant.
        baseline: One number per seed, the same seeds in the same order, for the
            variant it is compared with.
        confidence: Float. Defaults to `0.95`.

    Returns:
        An `Interval` over the seeds where both are finite.

    Raises:
        ValueError: if the two do not have one value per seed each.
    """
    values, baseline = np.asarray(values, dtype=float), np.asarray(baseline, dtype=float)
    if values.shape != baseline.shape:
        raise ValueError(
            f"paired values need one value per seed on each side. Received: {len(values)} and {len(baseline)}"
        )
    return interval(values - baseline, confidence)


def direction_of(metric: str) -> str | None:
    """`"min"` or `"max"`: which way `metric` (a column of the comparison) gets better."""
    if metric in COMPARISON_METRICS:
        return COMPARISON_METRICS[metric]
    return metric_direction(metric)


def outcome_columns(per_seed: pd.DataFrame) -> list[str]:
    """The numeric columns of a per-seed table that measure an outcome."""
    return [
        column
        for column in per_seed
        if column not in _SETUP_COLUMNS and pd.api.types.is_numeric_dtype(per_seed[column])
    ]


def censor_epochs_to_target(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Counts a run that never reached the target loss as one epoch more than it ran.

    That is a lower bound on the epochs it would need, so a claim that a
    variant gets there sooner is, if anything, understated.
    """
    table = per_seed.copy()
    for column in table:
        if column.startswith("epochs_to_"):
            table[column] = table[column].fillna(table["epochs_run"] + 1)
    return table


def _by_seed(per_seed: pd.DataFrame, variant: str, metric: str) -> pd.Series:
    return per_seed[per_seed["variant"] == variant].set_index("seed")[metric]


def summarize(per_seed: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """One row per variant and metric: mean, std, interval, and the paired difference to `baseline`.

    Args:
        per_seed: One row per (seed, variant), as in `seeds.csv`.
        baseline: The variant the paired differences are taken against.

    Returns:
        A DataFrame with `SUMMARY_COLUMNS` (the baseline's own difference is 0).
    """
    table = censor_epochs_to_target(per_seed)
    rows = []
    for variant in dict.fromkeys(table["variant"]):
        for metric in outcome_columns(table):
            values = _by_seed(table, variant, metric)
            spread = interval(values)
            reference = _by_seed(table, baseline, metric).reindex(values.index)
            difference = paired_difference(values, reference)
            rows.append(
                {
                    "variant": variant,
                    "metric": metric,
                    "seeds": spread.n,
                    "mean": spread.mean,
                    "std": spread.std,
                    "ci_low": spread.low,
                    "ci_high": spread.high,
                    "baseline": baseline,
                    "diff_vs_baseline": difference.mean,
                    "diff_ci_low": difference.low,
                    "diff_ci_high": difference.high,
                }
            )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def gain(per_seed: pd.DataFrame, variant: str, other: str, metric: str) -> Interval:
    """How much better `variant` is than `other` on `metric`, seed by seed (positive = better).

    Raises:
        RecipeError: if the metric's direction is unknown.
    """
    direction = direction_of(metric)
    if direction is None:
        raise RecipeError(_no_direction(metric))
    table = censor_epochs_to_target(per_seed)
    ours = _by_seed(table, variant, metric)
    theirs = _by_seed(table, other, metric).reindex(ours.index)
    difference = paired_difference(ours, theirs)
    if direction == "min":
        return Interval(-difference.mean, difference.std, difference.n, difference.half_width)
    return difference


def verdict(variant: str, other: str, metric: str, better: Interval) -> str:
    """The outcome in words: "`a` beats `b` on val_loss by 1.9 ± 0.2 (5 seeds)" or "no clear difference"."""
    seeds = f"({better.n} seed{'s' if better.n != 1 else ''})"
    if better.excludes_zero() and better.mean > 0:
        return f"`{variant}` beats `{other}` on {metric} by {better} {seeds}"
    if better.excludes_zero():
        flipped = Interval(-better.mean, better.std, better.n, better.half_width)
        return f"`{other}` beats `{variant}` on {metric} by {flipped} {seeds}"
    return f"no clear difference between `{variant}` and `{other}` on {metric}: {better} {seeds}"


def check_claims(per_seed: pd.DataFrame, claims: list[Claim]) -> pd.DataFrame:
    """Checks each claim on a per-seed table; one row per claim with `CLAIM_COLUMNS` and `verdict`.

    A claim holds when the paired gain's 95% interval lies wholly above 0.

    Args:
        per_seed: One row per (seed, variant).
        claims: The recipe's claims.

    Example:

    ```python
    claims = check_claims(pd.read_csv("runs/x/seeds.csv"), recipe.claims)
    claims[["claim", "held"]]
    ```
    """
    rows = []
    for claim in claims:
        better = gain(per_seed, claim.variant, claim.beats, claim.metric)
        rows.append(
            {
                "claim": claim.text(),
                "variant": claim.variant,
                "beats": claim.beats,
                "metric": claim.metric,
                "better": "lower" if direction_of(claim.metric) == "min" else "higher",
                "seeds": better.n,
                "gain": better.mean,
                "ci_low": better.low,
                "ci_high": better.high,
                "held": better.excludes_zero() and better.mean > 0,
                "verdict": verdict(claim.variant, claim.beats, claim.metric, better),
                "why": claim.why,
            }
        )
    return pd.DataFrame(rows, columns=[*CLAIM_COLUMNS, "verdict", "why"])


def _no_direction(metric: str) -> str:
    known = ", ".join(name for name, direction in COMPARISON_METRICS.items() if direction)
    return (
        f"cannot tell whether {metric!r} is better high or low; claims need a loss, an error, "
        f"an accuracy or a score, or one of {known}"
    )


def check_directions(claims: list[Claim]) -> None:
    """Raises `RecipeError` for a claim on a metric whose better direction is unknown."""
    for index, claim in enumerate(claims):
        if direction_of(claim.metric) is None:
            raise RecipeError(f"`claims.{index}.metric`: {_no_direction(claim.metric)}")


def mean_std_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per variant, one column per metric, each cell "mean ± std" (from `summarize`)."""
    cells = summary.assign(
        cell=[
            f"{mean:.4g}" if np.isnan(std) else f"{mean:.4g} ± {std:.2g}"
            for mean, std in zip(summary["mean"], summary["std"], strict=True)
        ]
    )
    table = cells.pivot(index="variant", columns="metric", values="cell")
    table = table.loc[list(dict.fromkeys(summary["variant"])), list(dict.fromkeys(summary["metric"]))]
    return table.reset_index().rename_axis(columns=None)


def mean_history(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The per-epoch mean of several histories of one variant, over the seeds that ran that epoch."""
    stacked = pd.concat([frame.reset_index(drop=True) for frame in frames], keys=range(len(frames)))
    return stacked.groupby(level=1).mean()


def headline_metrics(per_seed: pd.DataFrame, claimed: list[str] = ()) -> list[str]:
    """The metrics worth a sentence: those the claims name, val (or train) loss, the first test score."""
    outcomes = outcome_columns(per_seed)
    loss = "val_loss" if "val_loss" in outcomes and per_seed["val_loss"].notna().any() else "train_loss"
    scores = [name for name in outcomes if name.startswith("test_") and name != "test_loss"]
    wanted = [*claimed, loss, *scores[:1]]
    return [name for name in dict.fromkeys(wanted) if name in outcomes and direction_of(name)]


def baseline_verdicts(per_seed: pd.DataFrame, baseline: str, metrics: list[str]) -> list[str]:
    """One sentence per other variant and metric: how it fares against `baseline`, seed by seed."""
    return [
        verdict(variant, baseline, metric, gain(per_seed, variant, baseline, metric))
        for variant in dict.fromkeys(per_seed["variant"])
        if variant != baseline
        for metric in metrics
    ]
