import numpy as np
import pandas as pd
import pytest

from kerasforge.data import encode_target
from kerasforge.errors import DataError


def test_regression_gives_float_column():
    y, classes = encode_target(pd.Series([1, 2.5, 3]), "regression")
    assert classes is None
    assert y.dtype == np.float32 and y.shape == (3, 1)
    np.testing.assert_array_equal(y[:, 0], [1, 2.5, 3])


@pytest.mark.parametrize(
    "values, expected, classes",
    [
        (["no", "yes", "no"], [0, 1, 0], ["no", "yes"]),
        ([True, False, True], [1, 0, 1], [False, True]),
        ([1.0, 0.0, 0.0], [1, 0, 0], [0.0, 1.0]),
    ],
)
def test_binary_gives_zero_one_column(values, expected, classes):
    y, found = encode_target(values, "binary")
    assert y.dtype == np.float32 and y.shape == (3, 1)
    np.testing.assert_array_equal(y[:, 0], expected)
    assert found == classes


def test_multiclass_gives_int_indices_and_sorted_names():
    y, classes = encode_target(np.array(["c", "a", "b", "a"]), "multiclass")
    assert y.dtype == np.int32 and y.shape == (4,)
    np.testing.assert_array_equal(y, [2, 0, 1, 0])
    assert classes == ["a", "b", "c"]
    assert all(type(name) is str for name in classes)


@pytest.mark.parametrize(
    "values, task, match",
    [
        (
            pd.Series(["a", "b"], name="price"),
            "regression",
            r"Target column 'price' holds non-numeric values such as 'a'; "
            r"task regression needs numbers",
        ),
        ([True, False], "regression", r"holds non-numeric values such as True"),
        ([1.0, np.inf], "regression", r"The target has 1 infinite values"),
        (
            pd.Series([1.0, np.nan, np.nan], name="y"),
            "binary",
            r"Target column 'y' has 2 missing values \(NaN\) out of 3 rows",
        ),
        ([0, 1, 2], "binary", r"has 3 classes \[0, 1, 2\]; task binary needs exactly 2"),
        (["a", "a"], "binary", r"has 1 classes \['a'\]"),
        (list(range(20)), "binary", r"has 20 classes \[0, 1, .*9, \.\.\.\]"),
        (["a", "a"], "multiclass", r"has only 1 class \['a'\]; task multiclass needs at least 2"),
        ([0.5, 1.0, 2.0], "multiclass", r"non-integer numbers such as 0.5; .*Use task regression"),
        ([0, 1], "ranking", r"`task` must be one of 'regression', 'binary', 'multiclass'"),
    ],
)
def test_bad_targets_are_rejected(values, task, match):
    with pytest.raises(DataError, match=match):
        encode_target(values, task)


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_a_continuous_target_for_classification_suggests_regression(task):
    target = pd.Series(np.arange(100, dtype=float) * 3.0, name="price")
    with pytest.raises(
        DataError,
        match=rf"'price' has 100 distinct numbers \(from 0.0 to 297.0\) in 100 rows.*"
        rf"task {task}. Use task regression",
    ):
        encode_target(target, task)


def test_many_classes_with_enough_rows_each_stay_classes():
    labels = pd.Series(np.repeat(np.arange(100), 5))
    y, classes = encode_target(labels, "multiclass")
    assert len(classes) == 100 and y.max() == 99


@pytest.mark.parametrize("values", [[1.0, 2.0, 1.0], np.array([1, 2, 1], dtype="int64"), [2.0, 1, 1]])
def test_whole_number_labels_are_int_class_names_however_they_were_read(values):
    _, classes = encode_target(pd.Series(values), "binary")
    assert classes == [1, 2] and all(type(name) is int for name in classes)
