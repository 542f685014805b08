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


def print_against(seconds: dict[str, list[float]], rows: int | None = None) -> None:
    """Prints each contender's median and range of seconds (and rows per second, given `rows`), then
    the first contender's time over the second's: the median and range of the per-round ratios."""
    table = []
    for name, values in seconds.items():
        row = {
            "contender": name,
            "median s": f"{statistics.median(values):.2f}",
            "range s": f"{min(values):.2f}..{max(values):.2f}",
        }
        if rows is not None:
            row["rows/s"] = f"{rows / statistics.median(values):,.0f}"
        table.append(row)
    print_table(table, list(table[0]))
    ours, theirs = list(seconds)[:2]
    ratios = [mine / other for mine, other in zip(seconds[ours], seconds[theirs], strict=True)]
    print(
        f"{ours} / {theirs}: {statistics.median(ratios):.2f} [{min(ratios):.2f}..{max(ratios):.2f}] "
        f"(median [range] of {len(ratios)} interleaved rounds)"
    )
