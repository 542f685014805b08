"""The Keras preprocessing layers built from column statistics, and the checks `prepare_data` makes."""

import gc
import logging
import warnings
import weakref

import numpy as np
import pandas as pd
import pytest

from kerasforge.data.column_statistics import column_statistics
from kerasforge.data.model_inputs import encoded_feature_names, raw_inputs
from kerasforge.errors import DataError
from kerasforge.recipes import load_recipe, predict_rows, train
from kerasforge.recipes.engine import raw_model
from kerasforge.recipes.engine.prepare_data import prepare_data
from kerasforge.recipes.engine.raw_model import build_preprocessing, encode
from kerasforge.recipes.engine.use_model import load_run_model

TRAIN = pd.DataFrame(
    {
        "age": [20.0, 30.0, np.nan, 50.0],
        "flat": [7.0, 7.0, 7.0, 7.0],
        "city": ["rome", "oslo", None, "rome"],
        "member": [True, False, True, True],
    }
)


def encoded(normalize, rows=TRAIN, fill="mean"):
    statistics = column_statistics(TRAIN, fill=fill)
    return encode(build_preprocessing(statistics, normalize), raw_inputs(rows, statistics)), statistics


def test_many_runs_in_one_process_trace_no_warning_and_free_each_preprocessing(caplog):
    # A process that trains many runs (compare, the fault zoo, a notebook) builds a preprocessing
    # model per run: each gets its own traced function, which neither reads as TensorFlow
    # retracing one function nor keeps the model alive once the run is done.
    tensorflow_log = logging.getLogger("tensorflow")
    tensorflow_log.addHandler(caplog.handler)
    models = []
    try:
        for run in range(8):
            statistics = column_statistics(TRAIN.assign(age=TRAIN["age"] + run))
            model = build_preprocessing(statistics)
            assert encode(model, raw_inputs(TRAIN, statistics)).shape == (4, 8)
            models.append(weakref.ref(model))
            del model
    finally:
        tensorflow_log.removeHandler(caplog.handler)
    gc.collect()
    assert not [record.getMessage() for record in caplog.records if "retracing" in record.getMessage()]
    assert [ref() for ref in models] == [None] * 8


def test_standard_scaling_uses_train_statistics_and_fills_the_mean():
    x, statistics = encoded("standard")
    ages = np.array([20.0, 30.0, 50.0])
    np.testing.assert_allclose(
        x[:, 0],
        [(20 - 100 / 3) / ages.std(), (30 - 100 / 3) / ages.std(), 0.0, (50 - 100 / 3) / ages.std()],
        rtol=1e-5,
    )
    # A constant column is only shifted, never divided by zero.
    np.testing.assert_allclose(x[:, 1], 0.0)
    assert x.shape[1] == len(encoded_feature_names(statistics))


def test_minmax_maps_the_train_range_to_the_unit_interval_and_median_fills():
    x, _ = encoded("minmax", fill="median")
    np.testing.assert_allclose(x[:, 0], [0.0, 1 / 3, 1 / 3, 1.0], rtol=1e-5)


def test_none_keeps_raw_values():
    x, _ = encoded("none")
    np.testing.assert_allclose(x[:, :2], [[20, 7], [30, 7], [100 / 3, 7], [50, 7]], rtol=1e-5)


def test_categories_are_one_hot_with_an_out_of_vocabulary_slot_for_unseen_and_missing():
    rows = TRAIN.assign(city=["paris", "oslo", None, "rome"])
    x, statistics = encoded("standard", rows=rows)
    names = encoded_feature_names(statistics)
    city = x[:, [names.index(f"city={level}") for level in ("<other>", "oslo", "rome")]]
    np.testing.assert_array_equal(city, [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]])
    member = x[:, [names.index(f"member={level}") for level in ("<other>", "False", "True")]]
    np.testing.assert_array_equal(member, [[0, 0, 1], [0, 1, 0], [0, 0, 1], [0, 0, 1]])


def _csv_recipe(tmp_path, frame, extra=""):
    frame.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "r.yaml").write_text(
        f"name: r\ndata: {{source: {tmp_path / 'data.csv'}, target: y{extra}}}\nmodel: {{task: binary}}\n"
    )
    return load_recipe(tmp_path / "r.yaml")


def _frame(rows=40):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"a": rng.normal(size=rows), "c": rng.choice(["x", "y"], rows), "y": np.arange(rows) % 2}
    )


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        (
            lambda f: f.assign(a=f["a"].where(f.index != 3)),
            "",
            r"Missing values \(NaN\) in columns: 'a' \(1\)",
        ),
        (
            lambda f: f.assign(a=f["a"].where(f.index != 3, np.inf)),
            ", missing: mean",
            r"Infinite values in columns: 'a'",
        ),
        (
            lambda f: f,
            ", categorical: error",
            r"Non-numeric columns 'c' cannot be used with categorical: error",
        ),
        (
            lambda f: f.assign(c=[f"id{i}" for i in range(len(f))]),
            "",
            r"'c' has more than 50 distinct values",
        ),
    ],
)
def test_prepare_data_refuses_values_it_cannot_use(tmp_path, change, extra, message):
    frame = change(_frame(80))
    with pytest.raises(DataError, match=message):
        prepare_data(_csv_recipe(tmp_path, frame, extra))


def test_prepare_data_fills_gaps_when_asked_and_encodes_all_splits(tmp_path):
    frame = _frame(80)
    frame.loc[::9, "a"] = np.nan
    frame.loc[::11, "c"] = None
    data = prepare_data(_csv_recipe(tmp_path, frame, ", missing: median"))
    assert data.feature_names == ["a", "c=<other>", "c=x", "c=y"]
    assert not np.isnan(data.x_train).any() and not np.isnan(data.x_test).any()
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 80


def test_a_column_name_with_a_slash_trains_saves_loads_and_predicts_without_a_warning(tmp_path):
    # Wine's "od280/od315_of_diluted_wines": an Input cannot be named so, and Keras warned that the
    # dict key is not its Input's name when the model was built and every time it was loaded.
    frame = _frame().rename(columns={"a": "od280/od315"})
    recipe = load_recipe(_csv_recipe(tmp_path, frame).model_dump(), {"training.epochs": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        train(recipe, run_dir=tmp_path / "run", verbose=0)
        run_model = load_run_model(tmp_path / "run")
        predictions = predict_rows(run_model.model, raw_inputs(frame, run_model.statistics))
    assert predictions.shape == (len(frame), 1) and np.isfinite(predictions).all()
    assert "od280/od315" in run_model.model.input


def test_predicting_in_a_loop_splits_the_model_once_and_keeps_it_only_while_the_caller_does(tmp_path, caplog):
    frame = _frame()
    recipe = load_recipe(_csv_recipe(tmp_path, frame).model_dump(), {"training.epochs": 1})
    train(recipe, run_dir=tmp_path / "run", verbose=0)
    run_model = load_run_model(tmp_path / "run")
    model, rows = run_model.model, raw_inputs(frame.head(5), run_model.statistics)
    tensorflow_log = logging.getLogger("tensorflow")
    tensorflow_log.addHandler(caplog.handler)
    caplog.clear()  # only the predictions' records: training in a busy test process may warn itself
    try:
        predictions = [predict_rows(model, rows) for _ in range(6)]
    finally:
        tensorflow_log.removeHandler(caplog.handler)
    # A new split per call traced a new predict function per call: Keras warned from the 5th on.
    assert not [record.getMessage() for record in caplog.records if "retracing" in record.getMessage()]
    for each in predictions[1:]:
        np.testing.assert_array_equal(each, predictions[0])
    held = weakref.ref(model)
    del model, run_model
    gc.collect()
    assert held() is None


def test_many_rows_are_predicted_in_pieces_as_one_direct_call_predicts_them_and_none_give_an_empty_array(
    tmp_path, monkeypatch
):
    frame = _frame(rows=60)
    recipe = load_recipe(_csv_recipe(tmp_path, frame).model_dump(), {"training.epochs": 1})
    train(recipe, run_dir=tmp_path / "run", verbose=0)
    run_model = load_run_model(tmp_path / "run")
    rows = raw_inputs(frame, run_model.statistics)
    whole = predict_rows(run_model.model, rows, batch_size=len(frame))  # one direct call
    # 60 rows in pieces of 16 (the last one short), each predicted in batches of 5.
    monkeypatch.setattr(raw_model, "ENCODE_ROWS", 16)
    pieces = predict_rows(run_model.model, rows, batch_size=5)
    np.testing.assert_allclose(pieces, whole, rtol=1e-5, atol=1e-6)
    assert np.ptp(whole) > 0  # the rows differ, so a piece out of order would show
    empty = predict_rows(run_model.model, {name: values[:0] for name, values in rows.items()})
    assert empty.shape == (0, 1)
