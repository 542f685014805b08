"""Reruns every bundled lesson over several seeds and prints whether each claim held.

Each lesson runs as `compare(recipe, seeds=N)` in this process, from the
recipe's own seed or from `--start`, so anyone can check the lessons on seeds
they were not designed on. Prints, per lesson, each variant's mean ± std on the
metrics its claims name, each claim with its paired 95% interval, and the wall
time; then one line per lesson and the total.

Usage:
    python benchmarks/lessons.py [--seeds 5] [--start SEED] [--workers 1] [--markdown] [NAME ...]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _timing import print_table

from kerasforge.recipes import compare, load_recipe
from kerasforge.recipes.reports.seed_statistics import headline_metrics, mean_std_table

LESSONS = (
    "gd_variants",
    "vanishing_gradients",
    "exploding_gradients",
    "overfitting",
    "input_normalization",
    "learning_rate",
    "transfer_and_pretraining",
)


def _mean_std(summary: pd.DataFrame, variant: str, metric: str) -> str:
    row = summary[(summary["variant"] == variant) & (summary["metric"] == metric)].iloc[0]
    return f"{row['mean']:.3g} ± {row['std']:.2g}"


def _markdown(name: str, result, metrics: list[str]) -> str:
    """A README Lessons-table cell: mean ± std per variant and metric, then each claim."""
    summary = result.table
    parts = []
    for metric in metrics:
        cells = ", ".join(
            f"{variant} {_mean_std(summary, variant, metric)}"
            for variant in dict.fromkeys(summary["variant"])
        )
        parts.append(f"{metric}: {cells}.")
    for row in result.claims.itertuples():
        mark = "held" if row.held else "**did not hold**"
        parts.append(f"Claim {row.claim}: {mark}, gain {row.gain:.3g} [{row.ci_low:.3g}, {row.ci_high:.3g}].")
    return f"| `{name}` | " + " ".join(parts) + " |"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(LESSONS), help="lessons to run (default: all)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per lesson")
    parser.add_argument("--start", type=int, default=None, help="first seed (default: each recipe's own)")
    parser.add_argument("--workers", type=int, default=1, help="processes that train seeds at once")
    parser.add_argument("--markdown", action="store_true", help="also print README table rows")
    args = parser.parse_args(argv)
    rows, markdown = [], []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.names:
            overrides = [] if args.start is None else [f"seed={args.start}"]
            recipe = load_recipe(name, overrides)
            lesson_started = time.perf_counter()
            result = compare(
                recipe, run_dir=Path(scratch) / name, verbose=0, seeds=args.seeds, workers=args.workers
            )
            seconds = time.perf_counter() - lesson_started
            metrics = headline_metrics(result.per_seed, [claim.metric for claim in recipe.claims])
            print(f"\n## {name}: seeds {result.seeds[0]}..{result.seeds[-1]}, {seconds:.0f} s")
            print(mean_std_table(result.table)[["variant", *metrics]].to_string(index=False))
            for row in result.claims.itertuples():
                print(f"  {'HELD    ' if row.held else 'NOT HELD'}  {row.verdict}")
            held = int(result.claims["held"].sum())
            rows.append(
                {
                    "lesson": name,
                    "seeds": f"{result.seeds[0]}..{result.seeds[-1]}",
                    "claims held": f"{held} of {len(result.claims)}",
                    "wall s": f"{seconds:.0f}",
                }
            )
            markdown.append(_markdown(name, result, metrics))
    total = time.perf_counter() - started
    print()
    print_table(rows, list(rows[0]))
    print(f"total wall time: {total:.0f} s ({total / 60:.1f} min), workers={args.workers}")
    if args.markdown:
        print("\n" + "\n".join(markdown))
    return 0 if all(row["claims held"].split()[0] == row["claims held"].split()[-1] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
