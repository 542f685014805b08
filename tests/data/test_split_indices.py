import numpy as np
import pytest

from kerasforge.data import split_indices
from kerasforge.errors import DataError


def test_split_covers_every_row_once():
    parts = split_indices(np.arange(100), seed=4)
    assert {name: len(rows) for name, rows in parts.items()} == {
        "train": 70,
        "val": 15,
        "test": 15,
    }
    joined = np.concatenate(list(parts.values()))
    assert sorted(joined.tolist()) == list(range(100))
    assert all(rows.dtype == np.int64 for rows in parts.values())


def test_split_is_seeded():
    first = split_indices(np.arange(50), seed=1)
    again = split_indices(np.arange(50), seed=1)
    other = split_indices(np.arange(50), seed=2)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["train"], other["train"])


def test_zero_fractions_give_empty_splits():
    parts = split_indices(np.arange(10), train=0.8, val=0.0, test=0.2)
    assert (len(parts["train"]), len(parts["val"]), len(parts["test"])) == (8, 0, 2)


def test_stratify_keeps_class_proportions():
    y = np.array([0] * 80 + [1] * 20)
    parts = split_indices(y, train=0.6, val=0.2, test=0.2, stratify=True)
    for rows, expected in [(parts["train"], 12), (parts["val"], 4), (parts["test"], 4)]:
        assert int((y[rows] == 1).sum()) == expected
    # Classes are interleaved, not left in blocks.
    assert len(set(y[parts["train"][:20]])) == 2


def test_stratify_accepts_column_target_and_strings():
    y = np.array(["a", "b", "c"] * 10).reshape(-1, 1)
    parts = split_indices(y, stratify=True)
    for rows in parts.values():
        assert set(y[rows, 0]) == {"a", "b", "c"}


@pytest.mark.parametrize(
    "fractions, match",
    [
        ({"train": 0.0, "val": 0.5, "test": 0.5}, r"`train` must be a fraction > 0.*train=0.0"),
        ({"train": 0.9, "val": -0.1, "test": 0.2}, r"`val` must be a fraction >= 0.*val=-0.1"),
        ({"train": 0.7, "val": 0.2, "test": 0.2}, r"sum to 1.*train=0.7, val=0.2, test=0.2 \(sum 1.1\)"),
        ({"train": "0.7"}, r"Received: train='0.7'"),
        ({"train": 1.5, "val": 0, "test": 0}, r"train=1.5"),
    ],
)
def test_bad_fractions_are_rejected(fractions, match):
    with pytest.raises(DataError, match=match):
        split_indices(np.arange(20), **fractions)


def test_stratify_too_small_class_is_named():
    y = ["big"] * 30 + ["rare"] * 2
    with pytest.raises(
        DataError,
        match=r"class 'rare' has 2 rows, but each class needs at least 3 "
        r"\(one for each of train, val, test\)",
    ):
        split_indices(y, stratify=True)


def test_stratify_missing_labels_are_rejected():
    with pytest.raises(DataError, match=r"target has 5 missing values"):
        split_indices([1.0, 0.0, np.nan] * 5, stratify=True)


@pytest.mark.parametrize("rows", [0, 1, 2])
def test_too_few_rows_are_rejected(rows):
    with pytest.raises(
        DataError,
        match=rf"Too few rows to split: {rows} rows, but the splits train, val, test need at least 3",
    ):
        split_indices(np.arange(rows))


def test_stratified_split_sizes_match_unstratified():
    sizes = np.array([178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    y = np.repeat(np.arange(10), sizes)
    plain = split_indices(y)
    stratified = split_indices(y, stratify=True)
    for name in plain:
        assert len(stratified[name]) == len(plain[name])
        ideal = sizes * len(plain[name]) / len(y)
        assert np.abs(np.bincount(y[stratified[name]]) - ideal).max() < 1.5


def test_smallest_stratifiable_class_lands_in_every_split():
    y = np.array([0] * 3 + [1] * 100)
    parts = split_indices(y, stratify=True)
    assert [int((y[parts[name]] == 0).sum()) for name in ("train", "val", "test")] == [1, 1, 1]
