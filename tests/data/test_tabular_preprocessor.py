import numpy as np
import pandas as pd
import pytest

from kerasforge.data import TabularPreprocessor
from kerasforge.errors import DataError


def _frame():
    return pd.DataFrame(
        {
            "age": [20.0, 30.0, 40.0, 50.0, 60.0, 70.0],
            "salary": [1e4, 5e4, 2e4, 9e4, 3e4, 8e4],
            "city": ["a", "b", "a", "c", "b", "a"],
        }
    )


def test_standard_statistics_come_from_train_rows_only():
    frame = _frame()[["age", "salary"]]
    train, rest = frame.iloc[:4], frame.iloc[4:]
    pre = TabularPreprocessor().fit(train)
    np.testing.assert_allclose(pre.mean_, train.mean().to_numpy())
    np.testing.assert_allclose(pre.scale_, train.std(ddof=0).to_numpy())
    out = pre.transform(rest)
    expected = (rest - train.mean()) / train.std(ddof=0)
    np.testing.assert_allclose(out, expected.to_numpy(), rtol=1e-6)
    assert out.dtype == np.float32


def test_minmax_maps_train_range_to_unit_interval():
    frame = _frame()[["age", "salary"]]
    pre = TabularPreprocessor(normalize="minmax").fit(frame)
    out = pre.transform(frame)
    np.testing.assert_allclose(out.min(axis=0), [0, 0])
    np.testing.assert_allclose(out.max(axis=0), [1, 1])
    np.testing.assert_allclose(pre.min_, [20, 1e4])
    np.testing.assert_allclose(pre.range_, [50, 8e4])


def test_none_keeps_raw_values_and_reports_scales():
    frame = _frame()[["age", "salary"]]
    pre = TabularPreprocessor(normalize="none").fit(frame)
    np.testing.assert_allclose(pre.transform(frame), frame.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(pre.feature_scales_, frame.std(ddof=0).to_numpy())
    assert pre.feature_scales_[1] / pre.feature_scales_[0] > 1e3


def test_onehot_encodes_categorical_and_ignores_unseen_with_warning():
    pre = TabularPreprocessor(normalize="standard").fit(_frame())
    assert pre.output_feature_names_ == ["age", "salary", "city=a", "city=b", "city=c"]
    assert pre.categories_ == {"city": ["a", "b", "c"]}
    out = pre.transform(_frame())
    np.testing.assert_array_equal(out[:, 2:], pd.get_dummies(_frame()["city"]).to_numpy())
    np.testing.assert_allclose(out[:, :2].mean(axis=0), [0, 0], atol=1e-6)
    unseen = _frame().assign(city=["a", "z", "a", "a", "b", "c"])
    with pytest.warns(UserWarning, match=r"Column 'city' has 1 values whose levels"):
        out = pre.transform(unseen)
    np.testing.assert_array_equal(out[1, 2:], [0, 0, 0])


def test_bool_column_is_categorical():
    frame = pd.DataFrame({"flag": [True, False, True], "x": [1, 2, 3]})
    pre = TabularPreprocessor().fit(frame)
    assert pre.output_feature_names_ == ["flag=False", "flag=True", "x"]


@pytest.mark.parametrize("missing, fill", [("mean", 3.0), ("median", 2.0)])
def test_impute_numeric_with_train_statistic(missing, fill):
    train = pd.DataFrame({"x": [1.0, 2.0, 6.0, np.nan], "c": ["u", None, "u", "v"]})
    pre = TabularPreprocessor(normalize="none", missing=missing).fit(train)
    assert pre.impute_values_ == {"x": fill, "c": "u"}
    out = pre.transform(pd.DataFrame({"x": [np.nan], "c": [None]}))
    np.testing.assert_array_equal(out, [[fill, 1.0, 0.0]])


def test_constant_column_does_not_divide_by_zero():
    frame = pd.DataFrame({"const": [5.0, 5.0, 5.0], "x": [1.0, 2.0, 3.0]})
    for normalize in ("standard", "minmax"):
        out = TabularPreprocessor(normalize=normalize).fit_transform(frame)
        assert np.isfinite(out).all()
        np.testing.assert_array_equal(out[:, 0], [0, 0, 0])


def test_features_selects_and_orders_columns():
    pre = TabularPreprocessor(features=["salary", "age"]).fit(_frame())
    assert pre.feature_names_in_ == ["salary", "age"]
    assert pre.transform(_frame()).shape == (6, 2)


def test_missing_feature_lists_available():
    pre = TabularPreprocessor(features=["age", "height"])
    with pytest.raises(
        DataError, match=r"columns 'height' are not in the data\. Available: age, salary, city"
    ):
        pre.fit(_frame())


def test_nan_with_missing_error_names_columns_and_counts():
    frame = _frame().astype({"age": float})
    frame.loc[[0, 3], "age"] = np.nan
    frame.loc[1, "city"] = None
    with pytest.raises(
        DataError,
        match=r"Missing values \(NaN\) in columns: 'age' \(2\), 'city' \(1\)\. "
        r"Set missing: mean",
    ):
        TabularPreprocessor().fit(frame)


@pytest.mark.parametrize("missing", ["error", "mean"])
def test_inf_is_always_rejected(missing):
    frame = _frame()
    frame.loc[[2], "salary"] = np.inf
    frame.loc[[4], "age"] = -np.inf
    with pytest.raises(DataError, match=r"Infinite values in columns: 'age' \(1\), 'salary' \(1\)"):
        TabularPreprocessor(missing=missing).fit(frame)


def test_nan_and_inf_checked_again_in_transform():
    pre = TabularPreprocessor().fit(_frame())
    bad = _frame().assign(age=[np.nan] * 6)
    with pytest.raises(DataError, match=r"'age' \(6\)"):
        pre.transform(bad)


def test_categorical_error_names_columns():
    with pytest.raises(DataError, match=r"Non-numeric columns 'city' cannot be used.*categorical: onehot"):
        TabularPreprocessor(categorical="error").fit(_frame())


def test_too_many_levels_cannot_be_one_hot_encoded():
    frame = pd.DataFrame({"text": [f"review {i}" for i in range(60)], "x": range(60)})
    with pytest.raises(
        DataError, match=r"Column 'text' has 60 distinct values and cannot be one-hot encoded"
    ):
        TabularPreprocessor().fit(frame)


def test_transform_before_fit():
    with pytest.raises(DataError, match=r"is not fitted yet; call fit\(\) first"):
        TabularPreprocessor().transform(_frame())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"normalize": "zscore"},
            r"`normalize` must be one of 'standard', 'minmax', "
            r"'none'\. Received: normalize='zscore'",
        ),
        ({"categorical": "ordinal"}, r"Received: categorical='ordinal'"),
        ({"missing": "drop"}, r"'error', 'mean', 'median'\. Received: missing='drop'"),
        ({"features": "age"}, r"Received: features='age'"),
        ({"features": []}, r"non-empty list"),
        ({"features": ["a", "a"]}, r"lists \['a'\] more than once"),
        ({"max_categories": 0}, r"`max_categories` must be >= 1"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, match):
    with pytest.raises(DataError, match=match):
        TabularPreprocessor(**kwargs)


def test_empty_frame_and_non_frame_are_rejected():
    with pytest.raises(DataError, match=r"no rows"):
        TabularPreprocessor().fit(_frame().iloc[:0])
    with pytest.raises(DataError, match=r"expects a pandas DataFrame\. Received: ndarray"):
        TabularPreprocessor().fit(np.zeros((2, 2)))


def test_config_round_trip_does_not_share_user_list():
    features = ["age", "salary"]
    pre = TabularPreprocessor(features=features, normalize="minmax", missing="median")
    config = pre.get_config()
    assert config == {
        "features": ["age", "salary"],
        "normalize": "minmax",
        "categorical": "onehot",
        "missing": "median",
        "max_categories": 50,
    }
    assert TabularPreprocessor.from_config(config).get_config() == config
    pre.fit(_frame())
    assert features == ["age", "salary"]


@pytest.mark.parametrize("categorical", ["onehot", "error"])
def test_numbers_with_placeholders_are_named_not_one_hot_encoded(categorical):
    ages = [str(20 + i % 40) for i in range(100)]
    ages[::10] = ["?"] * 10
    ages[5] = "n/a"
    frame = pd.DataFrame({"age": ages})
    with pytest.raises(DataError, match=r"Column 'age' holds numbers except for 11 of the 100 values") as e:
        TabularPreprocessor(categorical=categorical).fit(frame)
    assert "'?' (10), 'n/a' (1)" in str(e.value) and "na_values: ['?', 'n/a']" in str(e.value)


@pytest.mark.parametrize(
    "values",
    [
        ["red", "green", "blue"] * 20,  # words: a category
        ["1", "2", "x", "y"] * 15,  # half the values are words: a category
        [str(i) for i in range(50)] + ["a", "b", "c", "d", "e", "f"],  # six distinct strings: a category
        [True, False] * 30,  # booleans
    ],
)
def test_real_categories_are_still_one_hot_encoded(values):
    preprocessor = TabularPreprocessor(max_categories=100).fit(pd.DataFrame({"c": values}))
    assert len(preprocessor.categories_["c"]) == len(set(values))


def test_features_given_as_a_generator_are_read_once():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
    preprocessor = TabularPreprocessor(features=(name for name in ["b"])).fit(frame)
    assert preprocessor.features == ["b"]
    assert preprocessor.transform(frame).shape == (3, 1)
