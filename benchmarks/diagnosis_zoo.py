"""Runs the diagnosis fault zoo through `doctor` and scores the diagnosis.

For every zoo entry (`kerasforge.recipes.diagnosis.zoo`) it trains the faulty
recipe, diagnoses it, applies the top cause's fix and retrains with the same
seed and split (one doctor round by default). It prints, per entry, the top
finding, whether it is the injected fault's cause, whether the fix lowered the
validation loss and whether the finding is gone; then, per set (`tuning`, the
runs the thresholds were checked on; `held_out`, written after them; and `fresh`,
written after two rules were adjusted on `held_out`'s misses):

- top-1 cause accuracy over the faulty runs;
- harmful suggestions: fixes that push a faulted setting further the fault's way
  (see `harmful_changes`), over every finding shown;
- the share of doctor fixes that lowered the validation loss;
- false alarms: findings on the healthy controls.

`--seed-shift N` trains every entry at its seed plus N: the same faults on other
initial weights and splits, which no rule was set on.

Usage:
    python benchmarks/diagnosis_zoo.py [--set tuning|held_out|fresh|all] [--rounds N] [--seed-shift N]
        [--json PATH] [NAME ...]
"""

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from _timing import print_table

from kerasforge.recipes.diagnosis.zoo import FRESH, HELD_OUT, TUNING, harmful_changes
from kerasforge.recipes.engine.doctor import doctor, improved

SETS = {"tuning": TUNING, "held_out": HELD_OUT, "fresh": FRESH}


def run_entry(entry, rounds: int, scratch: Path) -> dict:
    started = time.perf_counter()
    report = doctor(entry.recipe(), rounds=rounds, run_dir=scratch / entry.name, verbose=0)
    first = report.rounds[0]
    top = first.findings[0].kind if first.findings else None
    harmful = [line for finding in first.findings for line in harmful_changes(entry, finding.changes)]
    row = {
        "entry": entry.name,
        "dataset": entry.dataset,
        "expected": entry.expected or "(healthy)",
        "top finding": top or "(healthy)",
        "right": "yes" if top == entry.expected else "NO",
        "findings": len(first.findings),
        "harmful": len(harmful),
        "fix": "",
        "val before": f"{first.val_loss:.4g}",
        "val after": "",
        "improved": "",
        "gone": "",
        "seconds": round(time.perf_counter() - started, 1),
        "harmful_lines": harmful,
    }
    if len(report.rounds) > 1:
        second = report.rounds[1]
        row.update(
            {
                "fix": second.applied.fix,
                "val after": f"{second.val_loss:.4g}",
                "improved": "yes" if improved(first.val_loss, second.val_loss) else "NO",
                "gone": "yes" if second.applied.kind not in {f.kind for f in second.findings} else "no",
            }
        )
    return row


def score(rows: list[dict], entries: dict) -> dict:
    faults = [row for row in rows if entries[row["entry"]].expected is not None]
    controls = [row for row in rows if entries[row["entry"]].expected is None]
    fixed = [row for row in faults if row["fix"]]
    return {
        "faulty runs": len(faults),
        "top-1 cause accuracy": f"{sum(row['right'] == 'yes' for row in faults)}/{len(faults)}",
        "harmful suggestions": sum(row["harmful"] for row in rows),
        "fixes that lowered val_loss": f"{sum(row['improved'] == 'yes' for row in fixed)}/{len(fixed)}",
        "faulty runs without a fix": len(faults) - len(fixed),
        "healthy controls": len(controls),
        "findings on healthy controls": sum(row["findings"] for row in controls),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these entries")
    parser.add_argument("--set", choices=[*SETS, "all"], default="all")
    parser.add_argument("--rounds", type=int, default=1, help="doctor rounds per entry (default 1)")
    parser.add_argument("--seed-shift", type=int, default=0, help="train every entry at its seed plus this")
    parser.add_argument("--json", type=Path, help="also write the rows and scores here")
    args = parser.parse_args(argv)
    chosen = SETS if args.set == "all" else {args.set: SETS[args.set]}
    started = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for set_name, entries in chosen.items():
            rows = []
            for entry in entries.values():
                if args.names and entry.name not in args.names:
                    continue
                entry = dataclasses.replace(entry, seed=entry.seed + args.seed_shift)
                rows.append(run_entry(entry, args.rounds, Path(scratch)))
                row = rows[-1]
                print(
                    f"{set_name} {row['entry']}: {row['top finding']} ({row['right']}) {row['fix']} "
                    f"{row['val before']} -> {row['val after']} {row['improved']}",
                    flush=True,
                )
            results[set_name] = {"rows": rows, "score": score(rows, entries)}
    for set_name, result in results.items():
        print(f"\n== {set_name} ==")
        columns = (
            [column for column in result["rows"][0] if column != "harmful_lines"] if result["rows"] else []
        )
        print_table(result["rows"], columns)
        for row in result["rows"]:
            for line in row["harmful_lines"]:
                print(f"HARMFUL {row['entry']}: {line}")
        print()
        for key, value in result["score"].items():
            print(f"  {key}: {value}")
    minutes = (time.perf_counter() - started) / 60
    print(f"\nwall time: {minutes:.1f} min")
    if args.json:
        args.json.write_text(json.dumps({**results, "minutes": minutes}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
