"""Shared helpers for the benchmarks: interleaved timing and ratio tables."""

import statistics
import time


def interleaved(runners: dict, repeats: int) -> dict[str, list[float]]:
    """Runs each callable `repeats` times, rotating the order every round.

    Shared machines drift; running A, B, C then B, C, A ... spreads that drift
    over every contender instead of charging it to whichever ran last.

    Returns:
        name -> list of the values each call returned (or its wall time in
        seconds when it returned None).
    """
    names = list(runners)
    results = {name: [] for name in names}
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            value = runners[name]()
            results[name].append(time.perf_counter() - started if value is None else value)
    return results


def median(values) -> float:
    return statistics.median(values)


def print_table(rows: list[dict], columns: list[str]) -> None:
    """Prints rows of dicts as an aligned plain-text table."""
    widths = {c: max(len(c), *(len(str(row.get(c, ""))) for row in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))
