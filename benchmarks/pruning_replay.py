"""Replays unpruned searches through the `diagnosis` pruner, epoch by epoch, training nothing.

An unpruned search runs every trial to its end, so its per-epoch logs say both
what the pruner would have seen at each epoch and what each trial went on to
score. This feeds those logs, trial after trial in search order, to the
`TrialPruner` a `diagnosis` search gives each trial (with the search's pruned
and completed trials so far as its reference) and reports, per search and
pooled: the trials it stops and why; the false positives (a stopped trial that
finished in the unpruned search's top 25%: a rank of at most a quarter of its
completed trials) and of those the ones it *lost*
(its score when stopped, the best epoch before, outside that top 25%); the
epochs trained; and the epochs to the unpruned search's best val_loss, each
trial also costing `--fixed` epochs (building and tracing a model: about 10
epochs of the bundled data, under 1 of data whose epochs take seconds). The
summary also gives the ceiling no pruner can pass: the epochs to the best of an
oracle that knows every trial's final score and stops each one outside the top
quarter after its first or fourth epoch (no false positive, by construction).

The pruner's checks inside an epoch (`exploding` within 32 steps) are not
replayed: per-step losses are not in the logs. A trial they would stop inside
its first epoch counts one epoch here.

Usage:
    python benchmarks/pruning_replay.py --collect --seeds 200 201 202 203 204   # the searches, once
    python benchmarks/pruning_replay.py                                         # the replay: seconds

The first line runs the wide digits and breast_cancer spaces of
`pruned_search.py`, unpruned, 30 trials each, into `--folder`; the rule
thresholds in `recipes/diagnosis/online_rules.py` and `pace_rules.py` cite this replay.
"""

import argparse
import math
import os
import statistics
import types
from pathlib import Path

from pruned_search import HELD_OUT_SPACES, ORACLE_EPOCHS, SPACES, TOLERANCE, top_quarter_count

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _recipe(space: str, seed: int, trials: int):
    from kerasforge.recipes import load_recipe

    name, make = {**SPACES, **HELD_OUT_SPACES}[space]
    return load_recipe(name, make(name, seed, trials, 24, 8))


def collect(folder: Path, spaces: list[str], seeds: list[int], trials: int) -> None:
    """Runs each unpruned search into `folder/<space>/<seed>`, skipping those already there."""
    from kerasforge.tuning import run_search

    for space in spaces:
        for seed in seeds:
            target = folder / space / str(seed)
            if (target / "trials.csv").exists():
                continue
            print(f"searching {space}, seed {seed}", flush=True)
            run_search(
                _recipe(space, seed, trials), max_trials=trials, run_dir=target, verbose=0, prune="none"
            )


def replay(run_dir: Path, space: str, seed: int, trials: int, fixed: float) -> dict:
    """Replays one unpruned search; returns what the pruner would have done."""
    from kerasforge.recipes import apply_overrides, describe_data, prepare_data
    from kerasforge.tuning.search_space import SearchSpace
    from kerasforge.tuning.trial_pruning import TrialPruning
    from kerasforge.tuning.trial_table import load_histories, load_trials, trial_values

    recipe = _recipe(space, seed, trials)
    space_of_recipe = SearchSpace(recipe)
    data_info = describe_data(recipe, prepare_data(recipe))
    table = load_trials(run_dir)
    histories = load_histories(run_dir)
    pruning = TrialPruning("diagnosis", "val_loss", "min")
    outcomes = []
    for row in table.to_dict("records"):
        frame = histories[histories["trial_id"] == row["trial_id"]]
        logs = frame.pivot_table(index="epoch", columns="metric", values="value", dropna=False)
        values = trial_values(run_dir, row["trial_id"])
        trial_recipe = apply_overrides(recipe, space_of_recipe.overrides(values), origin="replay")
        pruner = pruning.pruner(trial_recipe, data_info)
        pruner.set_model(types.SimpleNamespace(stop_training=False))
        pruner.set_params({"epochs": recipe.training.epochs})
        pruner.on_train_begin()
        for epoch, epoch_logs in enumerate(logs.to_dict("records")):
            pruner.on_epoch_begin(epoch)
            pruner.on_epoch_end(epoch, dict(epoch_logs))
            if pruner.verdict is not None:
                break
        curve = [float(value) for value in logs.get("val_loss", [])]
        stopped = pruner.verdict["epoch"] if pruner.verdict else None
        outcomes.append(
            {
                "trial": row["trial_id"],
                "curve": curve,
                "completed": row["status"] == "COMPLETED",
                "stopped": stopped,
                "kind": pruner.verdict["kind"] if pruner.verdict else None,
            }
        )
        if stopped:
            pruning.pruned.append(curve[:stopped])
        elif row["status"] == "COMPLETED":
            pruning.completed.append(curve)
    return _score(outcomes, fixed)


def _best(curve) -> float:
    finite = [value for value in curve if math.isfinite(value)]
    return min(finite) if finite else math.inf


def _score(outcomes: list[dict], fixed: float) -> dict:
    finals = sorted(_best(each["curve"]) for each in outcomes if each["completed"])
    best, line = finals[0], finals[top_quarter_count(len(finals)) - 1]
    within = best * (1 + TOLERANCE)

    def epochs_to_best(stop) -> float:
        """Epochs, fixed costs included, until a trial reaches the best; `stop(trial)` is where it
        stops, or None when it runs to its end."""
        elapsed = 0.0
        for each in outcomes:
            run = stop(each) or len(each["curve"])
            reached = [i for i, value in enumerate(each["curve"][:run], 1) if value <= within]
            if reached:
                return elapsed + fixed + reached[0]
            elapsed += fixed + max(run, 1)
        return math.inf

    def oracle(epoch: int):
        """Knows each trial's final score: stops every one outside the top quarter after `epoch`."""
        return lambda each: None if _best(each["curve"]) <= line else epoch

    stopped = [each for each in outcomes if each["stopped"]]
    false = [each for each in stopped if each["completed"] and _best(each["curve"]) <= line]
    lost = [each for each in false if _best(each["curve"][: each["stopped"]]) > line]
    trained = sum(each["stopped"] or len(each["curve"]) for each in outcomes)
    unpruned = epochs_to_best(lambda each: None)
    return {
        "trials": len(outcomes),
        "stopped": len(stopped),
        "kinds": sorted(each["kind"] for each in stopped),
        "false": [f"{each['trial']} {each['kind']}@{each['stopped']}" for each in false],
        "lost": [f"{each['trial']} {each['kind']}@{each['stopped']}" for each in lost],
        "epochs": trained / sum(len(each["curve"]) for each in outcomes),
        "to_best": epochs_to_best(lambda each: each["stopped"]) / unpruned,
        "oracle": {epoch: epochs_to_best(oracle(epoch)) / unpruned for epoch in ORACLE_EPOCHS},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default="pruning_replay_searches", type=Path)
    parser.add_argument(
        "--spaces",
        nargs="*",
        default=["digits (wide)", "breast_cancer (wide)"],
        choices=[*SPACES, *HELD_OUT_SPACES],
        metavar="SPACE",
    )
    parser.add_argument("--seeds", nargs="*", type=int, default=[200, 201, 202, 203, 204])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--fixed", type=float, default=10.0, help="a trial's fixed cost, in epochs")
    parser.add_argument("--collect", action="store_true", help="run the unpruned searches first")
    parser.add_argument(
        "--what-if",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="replay with a threshold of a rule module changed, e.g. TOP_SHARE=0.25",
    )
    args = parser.parse_args()
    for change in args.what_if:
        _what_if(parser, change)
    if args.collect:
        collect(args.folder, args.spaces, args.seeds, args.trials)
    rows = []
    for space in args.spaces:
        for seed in args.seeds:
            run_dir = args.folder / space / str(seed)
            if not (run_dir / "trials.csv").exists():
                print(f"{space}, seed {seed}: no search in {run_dir} (run with --collect)")
                continue
            row = replay(run_dir, space, seed, args.trials, args.fixed)
            rows.append(row)
            print(
                f"{space}, seed {seed}: stopped {row['stopped']} of {row['trials']}, "
                f"false positives {len(row['false'])} {row['false']}, lost {len(row['lost'])} {row['lost']}, "
                f"epochs {row['epochs']:.2f}, epochs to best {row['to_best']:.2f}",
                flush=True,
            )
    if rows:
        _summary(rows, args.fixed)


def _what_if(parser: argparse.ArgumentParser, change: str) -> None:
    """Sets one rule threshold (a number) for this replay, in the module that defines it."""
    from kerasforge.recipes.diagnosis import online_rules, pace_rules
    from kerasforge.tuning import trial_pruning

    thresholds = {
        key: module
        for module in (online_rules, pace_rules, trial_pruning)
        for key, held in vars(module).items()
        if key.isupper() and isinstance(held, int | float)
    }
    name, _, value = change.partition("=")
    if name not in thresholds:
        allowed = ", ".join(sorted(thresholds))
        parser.error(f"--what-if {change}: {name!r} is not a threshold; use one of {allowed}")
    module = thresholds[name]
    try:
        setattr(module, name, type(getattr(module, name))(float(value)))
    except ValueError:
        parser.error(f"--what-if {change}: {value!r} is not a number; give {name}=NUMBER")


def _summary(rows: list[dict], fixed: float) -> None:
    stopped = sum(row["stopped"] for row in rows)
    false = sum(len(row["false"]) for row in rows)
    lost = sum(len(row["lost"]) for row in rows)
    worst_false = max(len(row["false"]) / max(row["stopped"], 1) for row in rows)
    worst_lost = max(len(row["lost"]) / max(row["stopped"], 1) for row in rows)
    print(
        f"\n{len(rows)} searches: stopped {stopped}; "
        f"false positives {false} ({false / max(stopped, 1):.1%}), "
        f"lost {lost} ({lost / max(stopped, 1):.1%}); "
        f"worst search {worst_false:.0%} false, {worst_lost:.0%} lost; "
        f"median epochs trained {statistics.median(row['epochs'] for row in rows):.2f}, "
        f"to the best {statistics.median(row['to_best'] for row in rows):.2f} "
        f"(a trial's fixed cost {fixed:g} epochs)"
    )
    ceilings = ", ".join(
        f"after epoch {epoch} {statistics.median(row['oracle'][epoch] for row in rows):.2f}"
        for epoch in ORACLE_EPOCHS
    )
    print(
        "the ceiling: an oracle that knows each trial's final score and stops every trial outside "
        f"the top quarter reaches the best in (median) {ceilings} of the epochs"
    )


if __name__ == "__main__":
    main()
