import json

import numpy as np
import pandas as pd
import pytest

from kerasforge.data.column_statistics import ColumnStatistics, ColumnStatisticsAccumulator, column_statistics
from kerasforge.data.model_inputs import raw_inputs
from kerasforge.errors import DataError


def _frame(rows=1000, seed=0):
    rng = np.random.default_rng(seed)
    numbers = rng.normal(1e6, 3.0, rows)
    numbers[rng.random(rows) < 0.1] = np.nan
    cities = rng.choice(["rome", "oslo", "lima", None], rows)
    return pd.DataFrame({"x": numbers, "city": cities, "y": rng.choice(["b", "a", "c"], rows)})


def test_streaming_chunks_match_the_whole_frame():
    frame = _frame()
    whole = column_statistics(frame, target="y", task="multiclass")
    accumulator = ColumnStatisticsAccumulator(target="y", task="multiclass")
    for start in range(0, len(frame), 77):
        accumulator.update(frame.iloc[start : start + 77])
    streamed = accumulator.finish()
    finite = frame["x"].dropna()
    for statistics in (whole, streamed):
        assert statistics["x"].mean == pytest.approx(finite.mean(), rel=1e-12)
        assert statistics["x"].variance == pytest.approx(finite.var(ddof=0), rel=1e-9)
        assert statistics["x"].missing == frame["x"].isna().sum()
        assert statistics["city"].levels == ("lima", "oslo", "rome")
        assert statistics["city"].missing == frame["city"].isna().sum()
        assert statistics.class_names == ["a", "b", "c"]
    assert streamed["city"] == whole["city"]


def test_merged_accumulators_match_one_pass():
    frame = _frame(seed=1)
    left, right = (ColumnStatisticsAccumulator(target="y", task="binary", fill="median") for _ in range(2))
    left.update(frame.iloc[:400])
    right.update(frame.iloc[400:])
    left.merge(right)
    merged = left.finish()
    whole = column_statistics(frame, target="y", task="binary", fill="median")
    assert merged["x"].mean == pytest.approx(whole["x"].mean, rel=1e-12)
    assert merged["x"].fill == pytest.approx(frame["x"].median())


def test_statistics_round_trip_through_json():
    statistics = column_statistics(_frame(), target="y", task="multiclass")
    again = ColumnStatistics.from_config(json.loads(json.dumps(statistics.to_config())))
    assert again == statistics


def test_a_column_missing_in_a_whole_chunk_keeps_its_kind():
    accumulator = ColumnStatisticsAccumulator()
    accumulator.update(pd.DataFrame({"c": [np.nan, np.nan]}))
    accumulator.update(pd.DataFrame({"c": ["a", "b"]}))
    statistics = accumulator.finish()
    assert statistics["c"].kind == "categorical"
    assert statistics["c"].missing == 2


def test_a_column_changing_kind_between_chunks_is_refused():
    accumulator = ColumnStatisticsAccumulator()
    accumulator.update(pd.DataFrame({"c": [1.0, 2.0]}))
    with pytest.raises(DataError, match="'c' holds categorical values in one part"):
        accumulator.update(pd.DataFrame({"c": ["a", "b"]}))


def test_too_many_levels_is_refused():
    frame = pd.DataFrame({"id": [f"u{i}" for i in range(60)]})
    with pytest.raises(DataError, match="'id' has more than 50 distinct values"):
        column_statistics(frame)


def test_numbers_with_a_placeholder_are_refused():
    frame = pd.DataFrame({"age": ["1", "2", "3", "?"]})
    with pytest.raises(DataError, match=r"'age' holds numbers except for 1 .*'\?'"):
        column_statistics(frame)


def test_raw_inputs_name_a_text_value_in_a_numeric_column():
    statistics = column_statistics(pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]}))
    inputs = raw_inputs(pd.DataFrame({"x": ["3", None], "c": ["a", None]}), statistics)
    assert np.isnan(inputs["x"][1]) and inputs["x"][0] == 3.0
    assert inputs["c"].tolist() == ["a", ""]
    with pytest.raises(DataError, match="Column 'x' holds 'abc' in row 1; .*takes numbers"):
        raw_inputs(pd.DataFrame({"x": ["abc", "1"], "c": ["a", "b"]}), statistics)
    with pytest.raises(DataError, match="Feature columns 'c' are not in the data"):
        raw_inputs(pd.DataFrame({"x": [1.0]}), statistics)
