"""Splits row indices into train, val and test, optionally stratified."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from kerasforge.checks import check_integer
from kerasforge.errors import DataError

SPLITS = ("train", "val", "test")


def split_indices(
    y: npt.ArrayLike,
    *,
    train: float = 0.7,
    val: float = 0.15,
    test: float = 0.15,
    stratify: bool = False,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Splits row positions into train, val and test index arrays.

    Each non-empty split gets `round(rows * fraction)` rows, at least one; the
    train split takes the rest. With `stratify=True` the split sizes stay the
    same, but each class is divided in proportion (largest-remainder
    rounding), so every split keeps the class balance of `y` and every class
    appears in every non-empty split. Indices come back in a seeded random
    order, so a split is shuffled even if training later is not.

    Args:
        y: 1-D array-like. The target, one entry per row; only its length is
            used unless `stratify` is set.
        train: Float > 0. Fraction of rows for training. Defaults to `0.7`.
        val: Float >= 0. Fraction for validation. Defaults to `0.15`.
        test: Float >= 0. Fraction for the test split. Defaults to `0.15`.
        stratify: Boolean. Keep class proportions in each split. Defaults to
            `False`.
        seed: Integer. Seed of the random permutation. Defaults to `0`.

    Returns:
        A dict with keys `"train"`, `"val"` and `"test"`, each an `int64` numpy
        array of row positions. An empty split is an empty array.

    Raises:
        DataError: A fraction out of range, fractions not summing to 1, too
            few rows, or a class too small to appear in every split.

    Example:

    >>> parts = split_indices([0, 1] * 50, stratify=True)
    >>> {name: len(rows) for name, rows in parts.items()}
    {'train': 70, 'val': 15, 'test': 15}
    """
    fractions = _check_fractions(train=train, val=val, test=test)
    seed = check_integer("seed", seed, 0, error=DataError)
    rng = np.random.default_rng(seed)
    values = np.asarray(y)
    # An (n, 1) target column, as `encode_target` returns, stratifies like (n,).
    labels = pd.Series(values.reshape(len(values), -1)[:, 0] if values.ndim > 1 else values)
    totals = _split_counts(len(labels), fractions)
    if not stratify:
        return _cut(rng.permutation(len(labels)), totals)
    codes, classes = pd.factorize(labels)
    if (codes < 0).any():
        raise DataError(
            f"Cannot stratify: the target has {int((codes < 0).sum())} missing "
            "values. Remove those rows or set stratify to false."
        )
    sizes = np.bincount(codes, minlength=len(classes))
    used = [name for name in SPLITS if fractions[name] > 0]
    for label, size in zip(classes, sizes, strict=True):
        if size < len(used):
            raise DataError(
                f"Cannot stratify: class {label!r} has {size} rows, but each class "
                f"needs at least {len(used)} (one for each of {', '.join(used)}). "
                "Merge or drop rare classes, or set stratify to false."
            )
    # Hold out val+test first, then divide the holdout, so rounding errors of
    # the two splits cancel instead of both landing on the same class.
    holdout = _allocate(
        sizes * (fractions["val"] + fractions["test"]),
        totals["val"] + totals["test"],
        low=len(used) - 1,
        high=sizes - 1,
    )
    val_counts = _allocate(
        sizes * fractions["val"],
        totals["val"],
        low=int(fractions["val"] > 0),
        high=holdout - int(fractions["test"] > 0),
    )
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for code in range(len(classes)):
        members = rng.permutation(np.flatnonzero(codes == code))
        counts = {
            "train": sizes[code] - holdout[code],
            "val": val_counts[code],
            "test": holdout[code] - val_counts[code],
        }
        for name, chunk in _cut(members, counts).items():
            parts[name].append(chunk)
    # Interleave the classes: concatenation alone leaves them in blocks.
    return {name: rng.permutation(np.concatenate(chunks)).astype(np.int64) for name, chunks in parts.items()}


def _check_fractions(**fractions: float) -> dict[str, float]:
    for name, value in fractions.items():
        bound = "> 0" if name == "train" else ">= 0"
        is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not is_number or not ((value > 0 if name == "train" else value >= 0) and value <= 1):
            raise DataError(
                f"Argument `{name}` must be a fraction {bound} and <= 1. Received: {name}={value!r}"
            )
    total = sum(fractions.values())
    if abs(total - 1) > 1e-6:
        given = ", ".join(f"{name}={value!r}" for name, value in fractions.items())
        raise DataError(f"Split fractions must sum to 1. Received: {given} (sum {total:g})")
    return fractions


def _split_counts(rows: int, fractions: Mapping[str, float]) -> dict[str, int]:
    counts = {
        name: max(1, round(rows * fractions[name])) if fractions[name] > 0 else 0 for name in ("val", "test")
    }
    counts["train"] = rows - counts["val"] - counts["test"]
    if counts["train"] < 1:
        used = [name for name in SPLITS if fractions[name] > 0]
        raise DataError(
            f"Too few rows to split: {rows} rows, but the splits {', '.join(used)} need at least {len(used)}."
        )
    return counts


def _allocate(ideal: np.ndarray, total: int, low: int, high: np.ndarray) -> np.ndarray:
    """Rounds per-class `ideal` counts to integers in [low, high] summing to `total`.

    Largest-remainder rounding: start from the floor, then give the missing
    rows to the classes furthest below their ideal (or take surplus rows from
    those furthest above it) while the bounds allow.
    """
    counts = np.clip(np.floor(ideal).astype(np.int64), low, high)
    while counts.sum() < total and (counts < high).any():
        counts[np.argmax(np.where(counts < high, ideal - counts, -np.inf))] += 1
    while counts.sum() > total and (counts > low).any():
        counts[np.argmax(np.where(counts > low, counts - ideal, -np.inf))] -= 1
    return counts


def _cut(order: np.ndarray, counts: Mapping[str, int | np.integer[Any]]) -> dict[str, np.ndarray]:
    first = counts["train"]
    second = first + counts["val"]
    return {
        "train": order[:first].astype(np.int64),
        "val": order[first:second].astype(np.int64),
        "test": order[second:].astype(np.int64),
    }
