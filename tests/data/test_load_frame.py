import numpy as np
import pandas as pd
import pytest

from kerasforge.data import load_frame
from kerasforge.errors import DataError


@pytest.mark.parametrize(
    "name, rows, columns",
    [("iris", 150, 5), ("wine", 178, 14), ("diabetes", 442, 11)],
)
def test_bundled_dataset_includes_target(name, rows, columns):
    frame, target = load_frame(name)
    assert target == "target"
    assert frame.shape == (rows, columns)
    assert frame.columns[-1] == "target"


@pytest.mark.parametrize(
    "task, classes, expected_classes",
    [("binary", 7, 2), ("multiclass", 4, 4)],
)
def test_synthetic_classification(task, classes, expected_classes):
    frame, target = load_frame("synthetic", task=task, rows=200, features=6, classes=classes, seed=3)
    assert list(frame.columns) == [f"x{i}" for i in range(6)] + ["target"]
    assert len(frame) == 200
    assert frame[target].nunique() == expected_classes


def test_synthetic_regression_is_seeded():
    first, _ = load_frame("synthetic", task="regression", rows=50, features=3, seed=1)
    second, _ = load_frame("synthetic", task="regression", rows=50, features=3, seed=1)
    other, _ = load_frame("synthetic", task="regression", rows=50, features=3, seed=2)
    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(other)
    assert first["target"].dtype == np.float64


def test_a_synthetic_target_scale_multiplies_the_target_alone():
    plain, _ = load_frame("synthetic", task="regression", rows=50, features=3, seed=1)
    scaled, _ = load_frame("synthetic", task="regression", rows=50, features=3, seed=1, target_scale=1000)
    np.testing.assert_allclose(scaled["target"], plain["target"] * 1000)
    pd.testing.assert_frame_equal(scaled.drop(columns="target"), plain.drop(columns="target"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, r"`task` must be one of .*Received: task=None"),
        ({"task": "ranking"}, r"Received: task='ranking'"),
        ({"task": "binary", "rows": 0}, r"`rows` must be >= 2. Received: rows=0"),
        ({"task": "binary", "noise": 1.5}, r"between 0 and 1.*noise=1.5"),
        ({"task": "regression", "noise": -1}, r"`noise` must be a number >= 0"),
        ({"task": "multiclass", "classes": 1}, r"`classes` must be >= 2"),
        ({"task": "regression", "features": 3, "informative": 5}, r"`informative` must be <= features \(3\)"),
        ({"task": "multiclass", "classes": 8, "informative": 2}, r"`informative` must be >= 3"),
        ({"task": "regression", "target_scale": 0}, r"`target_scale` must be > 0. Received: target_scale=0"),
        ({"task": "regression", "target_scale": True}, r"Received: target_scale=True"),
        ({"task": "regression", "target_scale": float("nan")}, r"not NaN. Received: target_scale=nan"),
        ({"task": "binary", "target_scale": 10}, r"'binary' has class labels. Received: target_scale=10"),
    ],
)
def test_synthetic_rejects_bad_arguments(kwargs, match):
    with pytest.raises(DataError, match=match):
        load_frame("synthetic", **kwargs)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq"])
def test_file_round_trip(tmp_path, suffix):
    frame = pd.DataFrame({"a": [1.5, 2.5, 3.5], "city": ["x", "y", "x"], "label": [0, 1, 0]})
    path = tmp_path / f"table{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    loaded, target = load_frame(str(path), target="label")
    assert target == "label"
    pd.testing.assert_frame_equal(loaded, frame)
    loaded_from_path, _ = load_frame(path, target="label")
    pd.testing.assert_frame_equal(loaded_from_path, frame)


def test_missing_target_lists_columns(tmp_path):
    path = tmp_path / "table.csv"
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"Target column 'price' .*Columns: a, b"):
        load_frame(path, target="price")
    with pytest.raises(DataError, match=r"Target column 'target' .*Columns: a, b"):
        load_frame(path)


def test_missing_file_names_path(tmp_path):
    path = tmp_path / "absent.csv"
    with pytest.raises(DataError, match=r"absent\.csv' does not exist"):
        load_frame(str(path))


def test_unknown_suffix_lists_allowed(tmp_path):
    path = tmp_path / "table.xlsx"
    path.write_text("a\n1\n")
    with pytest.raises(DataError, match=r"suffix '\.xlsx'.*\.csv, \.parquet, \.pq"):
        load_frame(path)


@pytest.mark.parametrize(
    "name, match",
    [
        (
            "irs",
            r"Unknown data source 'irs'.*digits, iris.*synthetic, or a "
            r"\.csv or \.parquet path\. Did you mean 'iris'\?",
        ),
        ("mnist", r"Unknown data source 'mnist'\. Allowed: breast_cancer"),
    ],
)
def test_unknown_dataset_name_lists_choices(name, match):
    with pytest.raises(DataError, match=match):
        load_frame(name)


@pytest.mark.parametrize(
    "content, match",
    [("", r"is empty"), ("a,target\n", r"has no rows \(columns: a, target\)")],
)
def test_empty_csv_is_rejected(tmp_path, content, match):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=match):
        load_frame(path)


def test_empty_parquet_is_rejected(tmp_path):
    path = tmp_path / "empty.parquet"
    pd.DataFrame({"a": pd.Series([], dtype=float), "target": []}).to_parquet(path)
    with pytest.raises(DataError, match=r"has no rows"):
        load_frame(path)


def test_corrupt_parquet_is_a_data_error(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_text("not parquet")
    with pytest.raises(DataError, match=r"Cannot read data file .*broken\.parquet"):
        load_frame(path)


def test_source_of_wrong_type_is_rejected():
    with pytest.raises(DataError, match=r"Received: source=3"):
        load_frame(3)


def test_find_data_file_tries_each_folder_in_order(tmp_path, monkeypatch):
    from kerasforge.data.load_frame import find_data_file

    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    (tmp_path / "second" / "t.csv").write_text("a\n1\n")
    monkeypatch.chdir(tmp_path)
    assert find_data_file("t.csv", ("first", "second")) == tmp_path.joinpath("second", "t.csv").relative_to(
        tmp_path
    )
    with pytest.raises(DataError, match=rf"looked at: {tmp_path / 'first' / 'x.csv'}, {tmp_path / 'x.csv'}$"):
        find_data_file("x.csv", ("first", "."))


def test_a_folder_named_like_a_data_file_is_named(tmp_path):
    (tmp_path / "table.csv").mkdir()
    with pytest.raises(DataError, match=r"is not a file: .*table.csv is a folder"):
        load_frame(tmp_path / "table.csv")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_na_values_become_nan_and_the_column_numeric(tmp_path, suffix):
    frame = pd.DataFrame({"age": ["20", "?", "31", "n/a", "45"], "target": [0, 1, 0, 1, 0]})
    path = tmp_path / f"table{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    loaded, _ = load_frame(path, na_values=["?", "n/a"])
    assert pd.api.types.is_numeric_dtype(loaded["age"])
    assert loaded["age"].isna().tolist() == [False, True, False, True, False]


@pytest.mark.parametrize("na_values", ["?", [1], 3])
def test_na_values_must_be_a_list_of_strings(tmp_path, na_values):
    path = tmp_path / "table.csv"
    pd.DataFrame({"target": [0, 1]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"Argument `na_values` must be a list of strings"):
        load_frame(path, na_values=na_values)
