"""Splits streamed rows into train, val and test by a hash of each row's identity.

A streamed source is never held whole, so it cannot be permuted as
`split_indices` does. Instead each row's split is a pure function of the
seed and the row's identity: the same row lands in the same split on every
run, in every epoch, whatever order the shards and row groups are read in.

A row's identity is, by default, its shard's key (the file's path relative to
the source's root folder) and its row number inside that file. That survives
listing or reading the shards in another order, moving the root folder and
adding new shards (old rows keep their split); it does not survive renaming a
shard or re-writing its rows in another order. A `key` column (a stable row id)
survives all of these, re-sharding included.

Splits take their fractions in expectation: with 1000 rows and `val=0.15`,
about 150 rows (binomial, so within a few percent on large data) go to val.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from kerasforge.errors import DataError

SPLIT_CODES = {"train": 0, "val": 1, "test": 2}

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on uint64 whose output bits all depend on every input bit."""
    with np.errstate(over="ignore"):
        z = values + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX_1
        z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


def _text_hash(text: str) -> np.uint64:
    # Python's hash() of a str changes per process; blake2b does not.
    return np.uint64(int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little"))


def _codes(hashes: np.ndarray, fractions: tuple[float, float, float]) -> np.ndarray:
    uniform = (hashes >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return np.searchsorted([fractions[0], fractions[0] + fractions[1]], uniform, side="right").astype(np.int8)


def position_split(
    shard_key: str, start: int, count: int, *, fractions: tuple[float, float, float], seed: int = 0
) -> np.ndarray:
    """Returns the split code (0 train, 1 val, 2 test) of rows `start..start+count-1` of a shard.

    Args:
        shard_key: String. The shard's stable name (`Shard.key`).
        start: Integer >= 0. Row number of the first row in the shard.
        count: Integer >= 0. Rows.
        fractions: `(train, val, test)` fractions summing to 1.
        seed: Integer. Another seed gives another split. Defaults to `0`.

    Returns:
        An `int8` array of `count` split codes (see `SPLIT_CODES`).

    Example:

    >>> codes = position_split("part-0.parquet", 0, 100_000, fractions=(0.7, 0.15, 0.15))
    >>> round(float((codes == 0).mean()), 2)
    0.7
    """
    rows = np.arange(start, start + count, dtype=np.uint64)
    return _codes(_mix(_mix(rows) ^ _text_hash(f"{seed}/{shard_key}")), fractions)


def key_split(values: pd.Series, *, fractions: tuple[float, float, float], seed: int = 0) -> np.ndarray:
    """Returns the split code of each row from a stable row-key column.

    Numbers are hashed by value (so `7` and `7.0` agree, whichever type a
    shard stores), anything else by its text.

    Args:
        values: `pandas.Series`. The key column; its name is used in errors.
        fractions: `(train, val, test)` fractions summing to 1.
        seed: Integer. Another seed gives another split. Defaults to `0`.

    Returns:
        An `int8` array of split codes (see `SPLIT_CODES`).

    Raises:
        DataError: The key column has a missing value.

    Example:

    >>> key_split(pd.Series([1, 2, 3], name="id"), fractions=(1.0, 0.0, 0.0)).tolist()
    [0, 0, 0]
    """
    missing = values.isna()
    if missing.any():
        raise DataError(
            f"Row-key column {values.name!r} has {int(missing.sum())} missing values; "
            "a key must identify every row (or use data.row_key: null to split by file and row number)."
        )
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        hashed = pd.util.hash_array(values.to_numpy(dtype=np.float64))
    else:
        hashed = pd.util.hash_array(values.astype(str).to_numpy(dtype=object))
    return _codes(_mix(hashed ^ _text_hash(str(seed))), fractions)
