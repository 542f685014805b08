"""The same random search with `--prune none`, `median` and `diagnosis`: what pruning saves, and costs.

Wide spaces (learning rate 1e-6..10 log, 1-10 hidden layers, relu/sigmoid/tanh,
SGD and Adam) on sklearn's digits and breast_cancer, and the bundled narrow
`digits_mlp` space. Within a repeat every mode searches with the same seeds, so
the random oracle proposes the same trials in the same order in each mode; the
modes run in a rotating order, each search in a fresh process. The unpruned
search runs every trial to its end, so it also measures what each pruned trial
would have scored (no separate rerun is needed).

Per dataset and repeat, for each pruned mode against `none`:

- time to best: training seconds (the sum of trial times, in trial order) until
  a trial reaches the unpruned search's best val_loss (within 1%), as a share
  of the unpruned search's; of the trial that reaches it, the share of its
  time up to that epoch (its epochs taken as equally long); a search that never
  reaches it counts as infinite;
- top-10 in budget: trials that ended within half the unpruned search's
  training time with a score (what the oracle ranks: a pruned trial's best
  epoch before it stopped) as good as the unpruned search's 10th best;
- false positives: pruned trials that, run to their end, ranked in the
  unpruned search's top 25% (a rank of at most a quarter of its completed
  trials: the top 6 of 27), as a share of the pruned trials; and of those,
  the ones pruning *lost*: their score when pruned (the best epoch before it,
  which is what the oracle ranks) was outside that top 25%. A trial stopped
  after its best epoch (overfitting, or a noisy run that had its lucky epoch)
  keeps the score it would have finished with;
- epochs to best: the same, counting epochs trained instead of seconds (what
  the time would be on data whose epochs dominate a trial's fixed costs, and
  free of the machine's load);
- best ratio: the best val_loss the search found over the unpruned search's;
- time: the whole search's wall time, CPU time (`process_time`) and epochs
  trained over the unpruned search's; each search prints the load average.

Under that table, per wide space: the ceiling no pruner passes (an oracle that knows every
trial's final score and stops each one outside the top quarter after epoch 1 or 4, never one
inside it), in wall time from a trial cost model fitted on the unpruned searches, and in epochs,
next to `diagnosis`; and where `diagnosis`'s epochs before the unpruned best went.

The defaults (24 epochs, patience 8) keep the bundled recipes' ratio of
patience to epochs (50 and 15) at a length three repeats can afford; 30 trials
make the top 10 a third of a search (of 15 it was two thirds, hopeless trials
included).

Usage:
    python benchmarks/pruned_search.py [--repeats 3] [--trials 30] [--epochs 24] [--patience 8]
    python benchmarks/pruned_search.py --repeats 1 --trials 6 --epochs 6 --narrow-epochs 6   # a smoke run
    python benchmarks/pruned_search.py --save runs.json      # keep every search's trial table
    python benchmarks/pruned_search.py --rescore runs.json   # score them again, training nothing
    python benchmarks/pruned_search.py --modes diagnosis     # none and diagnosis only (a rule change)
    KERAS_BACKEND=torch python benchmarks/pruned_search.py --modes diagnosis   # on another backend

Each saved search records the Keras backend it trained on; a `--save` file
resumes only on the backend its searches ran on (files from before the
backend was recorded are TensorFlow's).
"""

import argparse
import json
import math
import multiprocessing
import os
import statistics
import tempfile
import time

import numpy as np
from scipy import optimize

from kerasforge.recipes.diagnosis.pace_rules import SLOW_MIN_EPOCHS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODES = ("none", "median", "diagnosis")
TOLERANCE = 0.01
TOP_SHARE = 0.25
BUDGET_SHARE = 0.5
EARLIEST_BACKEND = "tensorflow"
"""The backend of a saved search that does not record one: every search saved before it was recorded."""
ORACLE_EPOCHS = (1, SLOW_MIN_EPOCHS)
"""Epochs after which the ceiling's oracle stops the trials outside the top quarter: after the first,
and after `SLOW_MIN_EPOCHS`, the first a pace can be judged on (three gains)."""


def _wide(base: str, seed: int, trials: int, epochs: int, patience: int) -> dict:
    return {
        "seed": seed,
        "model.hidden": [32],
        "model.dropout": 0.0,
        "model.l2": 0.0,
        "training.epochs": epochs,
        "training.batch_size": 32,
        "callbacks.early_stopping.patience": patience,
        "search": {
            "max_trials": trials,
            "layers": {"min": 1, "max": 10},
            "units": [32],
            "units_per_layer": False,
            "activation": ["relu", "sigmoid", "tanh"],
            "optimizer": ["sgd", "adam"],
            "learning_rate": {"min": 1e-6, "max": 10.0},
            # The whole search in its (fresh, pool worker) process, which may not start children.
            "trials_per_process": max(trials, 20),
            # Unpruned, a wide space's NaN trials fail, and 3 in a row would end the search early.
            "max_consecutive_failures": trials,
        },
    }


def _narrow(seed: int, trials: int, epochs: int, patience: int) -> dict:
    # digits_mlp's own space (the default one: it has no `search:`), shortened to fit the benchmark.
    return {
        "seed": seed,
        "training.epochs": epochs,
        "callbacks.early_stopping.patience": patience,
        "search": {
            "max_trials": trials,
            "layers": {"min": 1, "max": 3},
            "units": {"min": 32, "max": 256, "step": 32},
            "dropout": [0.0, 0.1, 0.2, 0.3],
            "optimizer": ["adam", "rmsprop", "sgd"],
            "learning_rate": {"min": 1e-4, "max": 1e-2},
            "batch_size": [32, 64, 128],
        },
    }


def _wide_synthetic(base: str, seed: int, trials: int, epochs: int, patience: int) -> dict:
    # The same wide space on generated data large enough that a trial's epochs, not its fixed
    # costs (building and tracing the model, about 0.5-1 s), take most of its time, as on real data:
    # an epoch of a 1-layer net takes about 0.2 s, of a 10-layer one 0.4 s.
    data = {"data.source": "synthetic", "data.synthetic": {"rows": 30000, "features": 40, "informative": 12}}
    return {**_wide(base, seed, trials, epochs, patience), **data}


def _held_out(source: str):
    """Another wide space, on data none of the rules was set on (`pruning_replay.py` replays it)."""

    def make(base: str, seed: int, trials: int, epochs: int, patience: int) -> dict:
        wide = _wide(base, seed, trials, epochs, patience)
        wide["search"] = {
            **wide["search"],
            "layers": {"min": 1, "max": 5},
            "units": [8, 64, 256],
            "activation": ["relu", "tanh", "sigmoid", "elu"],
            "optimizer": ["sgd", "adam", "rmsprop"],
            "learning_rate": {"min": 1e-5, "max": 3.0},
            "batch_size": [8, 32],
            "dropout": [0.0, 0.3],
        }
        return {**wide, "data.source": source}

    return make


SPACES = {
    "digits (wide)": ("digits_mlp", _wide),
    "breast_cancer (wide)": ("breast_cancer_mlp", _wide),
    # A regression on unscaled targets (25-346): a constant prediction's loss is about 6,000.
    "diabetes (wide)": ("diabetes_regression", _wide),
    "synthetic 30k rows (wide)": ("digits_mlp", _wide_synthetic),
    "digits_mlp (narrow)": ("digits_mlp", None),
}
HELD_OUT_SPACES = {
    "wine (held out)": ("digits_mlp", _held_out("wine")),
    "iris (held out)": ("digits_mlp", _held_out("iris")),
}
"""Spaces for `pruning_replay.py` only: not in this benchmark's runs, so its time stays as it was."""


def _search(space: str, mode: str, seed: int, trials: int, epochs: int, patience: int) -> dict:
    """One search in this (fresh) process; returns its trial table as plain records."""
    import logging
    import warnings

    import keras
    import tensorflow as tf

    from kerasforge.recipes import load_recipe
    from kerasforge.tuning import run_search
    from kerasforge.tuning.trial_pruning import TOO_SLOW_WARMUP
    from kerasforge.tuning.trial_table import load_histories

    tf.get_logger().setLevel("ERROR")
    warnings.simplefilter("ignore")  # the monitors warn about every sick trial of a wide space
    logging.getLogger("kerasforge.callbacks").setLevel(logging.ERROR)
    name, make = SPACES[space]
    overrides = (
        make(name, seed, trials, epochs, patience) if make else _narrow(seed, trials, epochs, patience)
    )
    recipe = load_recipe(name, overrides)
    with tempfile.TemporaryDirectory() as folder:
        started, cpu = time.perf_counter(), time.process_time()
        result = run_search(recipe, max_trials=trials, run_dir=folder, verbose=0, prune=mode)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        histories = load_histories(folder)
    curves = histories[histories["metric"] == "val_loss"].sort_values("epoch").groupby("trial_id")["value"]
    curves = {trial: [float(value) for value in values] for trial, values in curves}
    table = result.trials
    hp = [c for c in table.columns[2 : table.columns.get_loc("val_loss")] if not c.startswith("tuner/")]
    rows = []
    for row in table.to_dict("records"):
        key = tuple((name, str(row[name])) for name in hp if row[name] == row[name])
        rows.append(
            {
                "key": key,
                "status": row["status"],
                "val_loss": row["val_loss"],
                "seconds": row["seconds"],
                "epochs": row["epochs_run"] if row["epochs_run"] == row["epochs_run"] else 0,
                "kind": row.get("prune_kind"),
                "curve": curves.get(row["trial_id"], []),
            }
        )
    # Saved with the runs, so a rescore splits the epochs by the warmup the search ran with.
    load = os.getloadavg()[0]
    return {
        "wall": wall,
        "cpu": cpu,
        "load": load,
        "rows": rows,
        "too_slow_warmup": TOO_SLOW_WARMUP,
        "backend": keras.config.backend(),
    }


def _run(arguments) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_search, arguments)


def _save(path: str, runs: dict) -> None:
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as file:
        json.dump(runs, file)
    os.replace(partial, path)


def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as file:
        runs = json.load(file)
    for run in runs.values():
        run.setdefault("backend", EARLIEST_BACKEND)
        for row in run["rows"]:
            row["key"] = tuple(tuple(pair) for pair in row["key"])
    return runs


def _backends(runs: dict) -> str:
    return ", ".join(sorted({run["backend"] for run in runs.values()})) or "none"


def top_quarter_count(completed: int) -> int:
    """How many of a search's completed trials rank in its top 25% (at least the best one)."""
    return max(1, math.floor(TOP_SHARE * completed))


def _score(value) -> float:
    return float(value) if value is not None and math.isfinite(float(value)) else math.inf


def _ranked(none: dict) -> tuple[dict, list, set, float]:
    """The unpruned search's completed trials: their scores, ranked keys, top quarter, and the
    value (its best within `TOLERANCE`) a trial must reach to count as reaching the best."""
    full = {row["key"]: _score(row["val_loss"]) for row in none["rows"] if row["status"] == "COMPLETED"}
    ranked = sorted(full, key=full.get)
    return full, ranked, set(ranked[: top_quarter_count(len(ranked))]), full[ranked[0]] * (1 + TOLERANCE)


def _time_to_best(rows: list[dict], within: float, cost: str = "seconds") -> float:
    """`cost` (seconds or epochs) of the trials, in order, until one reaches `within`; of that trial,
    the share up to the epoch it does (its epochs taken as equally long)."""
    elapsed = 0.0
    for row in rows:
        reached = [epoch for epoch, value in enumerate(row["curve"], 1) if _score(value) <= within]
        if reached:
            return elapsed + row[cost] * reached[0] / len(row["curve"])
        elapsed += row[cost]
    return math.inf


def fitted_trial_costs(searches: list[dict]):
    """A space's trial cost model, fitted on its unpruned searches' trials (all repeats pooled).

    Non-negative least squares of `seconds = (a + b * layers) + (c + d * layers) * epochs`: the
    fixed part is what a trial pays however soon it stops (building the model, tracing its train
    and test steps), and neither part falls with the hidden layers. One search alone (30 trials,
    whose seconds vary from one search process to the next) can fit a fixed cost of zero, so the
    repeats are pooled.

    Returns:
        A function of a trial's row: its (fixed, per_epoch) seconds.
    """
    trained = [row for search in searches for row in search["rows"] if row["epochs"]]
    layers = np.array([_layers(row) for row in trained])
    epochs = np.array([float(row["epochs"]) for row in trained])
    design = np.column_stack([np.ones_like(layers), layers, epochs, epochs * layers])
    (a, b, c, d), _ = optimize.nnls(design, np.array([row["seconds"] for row in trained]))
    return lambda row: (float(a + b * _layers(row)), float(c + d * _layers(row)))


def _layers(row: dict) -> float:
    return float(dict(row["key"]).get("layers", 1))


def oracle_time_to_best(none: dict, epoch: int, costs) -> dict:
    """The ceiling no pruner passes: the unpruned search with every trial outside its top quarter
    stopped after `epoch` epochs (no false positive, by construction), its time to the best over
    the unpruned search's, in seconds (a stopped trial costing its fitted fixed cost and `epoch`
    epochs, see `fitted_trial_costs`) and in epochs."""
    _, _, top, within = _ranked(none)
    stopped = [
        row
        if row["key"] in top or len(row["curve"]) <= epoch
        else {
            **row,
            "curve": row["curve"][:epoch],
            "epochs": epoch,
            "seconds": min(row["seconds"], costs(row)[0] + costs(row)[1] * epoch),
        }
        for row in none["rows"]
    ]
    return {
        cost: _time_to_best(stopped, within, cost) / _time_to_best(none["rows"], within, cost)
        for cost in ("seconds", "epochs")
    }


def _compare(none: dict, other: dict) -> dict:
    full, ranked, top25, within = _ranked(none)
    best = full[ranked[0]]
    tenth = full[ranked[min(10, len(ranked)) - 1]]
    total_none = sum(row["seconds"] for row in none["rows"])
    budget = BUDGET_SHARE * total_none

    def time_to_best(search, cost="seconds"):
        return _time_to_best(search["rows"], within, cost)

    def top_in_budget(search):
        elapsed, found = 0.0, 0
        for row in search["rows"]:
            elapsed += row["seconds"]
            if elapsed > budget:
                break
            found += row["status"] in ("COMPLETED", "PRUNED") and _score(row["val_loss"]) <= tenth
        return found

    pruned = [row for row in other["rows"] if row["status"] == "PRUNED"]
    false = [row for row in pruned if row["key"] in top25]
    line = full[ranked[len(top25) - 1]]
    lost = [row for row in false if _score(row["val_loss"]) > line]
    found = min(_score(row["val_loss"]) for row in other["rows"] if row["status"] in ("COMPLETED", "PRUNED"))
    return {
        "time_to_best": time_to_best(other) / time_to_best(none),
        "epochs_to_best": time_to_best(other, "epochs") / time_to_best(none, "epochs"),
        "epochs_ratio": sum(row["epochs"] for row in other["rows"])
        / sum(row["epochs"] for row in none["rows"]),
        "cpu_ratio": other["cpu"] / none["cpu"],
        "top10": top_in_budget(other),
        "top10_none": top_in_budget(none),
        "pruned": len(pruned),
        "false_positives": len(false),
        "fp_rate": len(false) / len(pruned) if pruned else 0.0,
        "lost": len(lost),
        "lost_rate": len(lost) / len(pruned) if pruned else 0.0,
        "best_ratio": found / best,
        "wall_ratio": other["wall"] / none["wall"],
        "kinds": sorted(str(row["kind"]) for row in pruned),
        "false_kinds": sorted(str(row["kind"]) for row in false),
    }


def _span(values, percent=False) -> str:
    finite = [value for value in values if math.isfinite(value)]
    if not finite:
        return "inf"
    show = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:.3g}")
    middle = statistics.median(values) if len(finite) == len(values) else statistics.median(sorted(values))
    return f"{show(middle)} [{show(min(values))}..{show(max(values))}]"


WHERE_EPOCHS_WENT = (
    "top-quarter trials",
    "other trials' first epochs",
    "the first trials, later epochs",
    "pruned later, later epochs",
    "never pruned, later epochs",
    "the best trial",
)
"""Where a pruned search's epochs before it reaches the unpruned best went, in `epochs_before_best`."""

FORMER_TOO_SLOW_WARMUP = 4
"""`TOO_SLOW_WARMUP` before commit `286c290`, for the saved searches that do not record theirs."""


def epochs_before_best(none: dict, other: dict) -> dict:
    """The epochs `other` trained before a trial reached the unpruned search's best, by kind.

    Top-quarter trials are what no pruner without false positives cuts; every other trial's
    first `SLOW_MIN_EPOCHS` epochs are what the oracle after that epoch pays too. Past those,
    the first `TOO_SLOW_WARMUP` trials (no finished trial to judge a pace against yet), the
    trials pruned later, and those never pruned, are what better rules could cut. The warmup is
    the one `other` ran with (4 for searches saved before it was recorded).
    """
    warmup = other.get("too_slow_warmup", FORMER_TOO_SLOW_WARMUP)
    _, _, top, within = _ranked(none)
    spent = dict.fromkeys(WHERE_EPOCHS_WENT, 0)
    for index, row in enumerate(other["rows"]):
        reached = [epoch for epoch, value in enumerate(row["curve"], 1) if _score(value) <= within]
        if reached:
            spent["the best trial"] += reached[0]
            break
        if row["key"] in top:
            spent["top-quarter trials"] += row["epochs"]
            continue
        spent["other trials' first epochs"] += min(row["epochs"], SLOW_MIN_EPOCHS)
        later = max(row["epochs"] - SLOW_MIN_EPOCHS, 0)
        if index < warmup:
            spent["the first trials, later epochs"] += later
        elif row["status"] == "PRUNED":
            spent["pruned later, later epochs"] += later
        else:
            spent["never pruned, later epochs"] += later
    return spent


def _print_epochs_before_best(runs_by_space: dict) -> None:
    print("\nspace | " + " | ".join(WHERE_EPOCHS_WENT))
    print(" | ".join("---" for _ in range(len(WHERE_EPOCHS_WENT) + 1)))
    for space, pairs in runs_by_space.items():
        spent = [epochs_before_best(none, diagnosis) for none, diagnosis in pairs]
        total = sum(sum(each.values()) for each in spent)
        shares = [sum(each[kind] for each in spent) / total for kind in WHERE_EPOCHS_WENT]
        print(f"{space} | " + " | ".join(f"{share:.0%}" for share in shares))
    print("shares of the epochs `diagnosis` trained before it reached the unpruned best, all repeats")


def _ceilings(unpruned: dict) -> dict:
    """Per wide space, the fitted fixed cost and, per repeat, the oracle's time to the best."""
    ceilings = {}
    for space, searches in unpruned.items():
        costs = fitted_trial_costs(searches)
        trials = [row for search in searches for row in search["rows"] if row["epochs"]]
        ceilings[space] = {
            "fixed": statistics.median(costs(row)[0] for row in trials),
            "fixed_epochs": statistics.median(costs(row)[0] / costs(row)[1] for row in trials),
            "oracle": [
                {epoch: oracle_time_to_best(none, epoch, costs) for epoch in ORACLE_EPOCHS}
                for none in searches
            ],
        }
    return ceilings


def _print_ceilings(unpruned: dict, results: dict) -> None:
    """What no pruner passes, next to what `diagnosis` did: the ≥40 % cut is reachable only where
    the oracle's time to the best is under 60 %."""
    header = ["space", "a trial's fixed cost, median (s, in epochs)"]
    header += [f"oracle after epoch {epoch}: time to best, wall (epochs)" for epoch in ORACLE_EPOCHS]
    header += ["diagnosis: time to best, wall (epochs)"]
    print("\n" + " | ".join(header))
    print(" | ".join("---" for _ in header))
    for space, ceiling in _ceilings(unpruned).items():
        cells = [space, f"{ceiling['fixed']:.2f} s ({ceiling['fixed_epochs']:.1f})"]
        for epoch in ORACLE_EPOCHS:
            oracle = [repeat[epoch] for repeat in ceiling["oracle"]]
            wall = _span([each["seconds"] for each in oracle], percent=True)
            cells.append(f"{wall} ({_span([each['epochs'] for each in oracle], percent=True)})")
        done = results.get((space, "diagnosis"), [])
        wall = _span([row["time_to_best"] for row in done], percent=True) if done else "-"
        epochs = _span([row["epochs_to_best"] for row in done], percent=True) if done else "-"
        cells.append(f"{wall} ({epochs})")
        print(" | ".join(cells))
    print(
        "the oracle knows every trial's final score and stops each one outside the top quarter after "
        "that epoch; a stopped trial costs its fixed cost and its epochs, fitted on the space's "
        "unpruned trials (`fitted_trial_costs`)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--patience", type=int, default=8)
    parser.add_argument("--narrow-trials", type=int, default=10)
    parser.add_argument("--narrow-epochs", type=int, default=20)
    parser.add_argument("--spaces", nargs="*", default=list(SPACES), choices=list(SPACES), metavar="SPACE")
    parser.add_argument(
        "--save", help="write every search's trial table to this JSON file as it ends (and resume from it)"
    )
    parser.add_argument("--rescore", help="score the searches saved in this JSON file; train nothing")
    parser.add_argument(
        "--modes",
        nargs="*",
        default=list(MODES),
        choices=MODES,
        metavar="MODE",
        help="the modes to run (`none` always runs: it is what the others are measured against)",
    )
    args = parser.parse_args()
    chosen = ("none", *(mode for mode in MODES[1:] if mode in args.modes))
    # A saved run resumes: the searches already in the file are not run again.
    source = args.rescore or (args.save if args.save and os.path.exists(args.save) else None)
    saved = _load(source) if source else {}
    if saved and not args.rescore:
        import keras  # here: a rescore trains nothing and needs no backend

        current = keras.config.backend()
        if _backends(saved) != current:
            parser.error(
                f"--save {args.save}: its searches ran on {_backends(saved)}, this process would train on "
                f"{current} (KERAS_BACKEND); resume with the same backend or save to another file"
            )
    results, unpruned, pairs = {}, {}, {}
    for repeat in range(args.repeats):
        for space in args.spaces:
            narrow = SPACES[space][1] is None
            trials, epochs = (
                (args.narrow_trials, args.narrow_epochs) if narrow else (args.trials, args.epochs)
            )
            modes = tuple(mode for mode in chosen if not narrow or mode != "median")
            shift = repeat % len(modes)
            runs = {}
            for mode in modes[shift:] + modes[:shift]:
                key = f"{repeat} {space} {mode}"
                if key in saved:
                    runs[mode] = saved[key]
                elif args.rescore:
                    continue
                else:
                    runs[mode] = saved[key] = _run((space, mode, 100 + repeat, trials, epochs, args.patience))
                    if args.save:
                        _save(args.save, saved)
                run = runs[mode]
                print(
                    f"repeat {repeat + 1} {space} {mode} ({run['backend']}): {run['wall']:.0f} s wall, "
                    f"{run['cpu']:.0f} s cpu, load average {run['load']:.1f}",
                    flush=True,
                )
            if "none" in runs and not narrow:
                unpruned.setdefault(space, []).append(runs["none"])
                if "diagnosis" in runs:
                    pairs.setdefault(space, []).append((runs["none"], runs["diagnosis"]))
            for mode in modes[1:]:
                if "none" not in runs or mode not in runs:
                    continue
                row = _compare(runs["none"], runs[mode])
                results.setdefault((space, mode), []).append(row)
                print(f"  {mode}: {row}", flush=True)
    print()
    header = (
        "space",
        "mode",
        "time to unpruned best",
        "epochs to unpruned best",
        "top-10 in budget (none)",
        "FP rate",
        "lost rate",
        "pruned/FP/lost",
        "best ratio",
        "wall time ratio",
        "cpu time ratio",
        "epochs trained ratio",
    )
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for (space, mode), rows in results.items():
        print(
            " | ".join(
                [
                    space,
                    mode,
                    _span([row["time_to_best"] for row in rows], percent=True),
                    _span([row["epochs_to_best"] for row in rows], percent=True),
                    f"{_span([row['top10'] for row in rows])} ({_span([row['top10_none'] for row in rows])})",
                    _span([row["fp_rate"] for row in rows], percent=True),
                    _span([row["lost_rate"] for row in rows], percent=True),
                    "/".join(
                        str(sum(row[key] for row in rows)) for key in ("pruned", "false_positives", "lost")
                    ),
                    _span([row["best_ratio"] for row in rows]),
                    _span([row["wall_ratio"] for row in rows]),
                    _span([row["cpu_ratio"] for row in rows]),
                    _span([row["epochs_ratio"] for row in rows]),
                ]
            )
        )
    print(
        f"\nmedian [min..max] over {args.repeats} repeats; same seeds in every mode of a repeat; "
        f"backend: {_backends(saved)}"
    )
    _print_ceilings(unpruned, results)
    _print_epochs_before_best(pairs)


if __name__ == "__main__":
    main()
