"""A run's model on new rows: raw columns in, class names out, in this process and a fresh one."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kerasforge.errors import DataError
from kerasforge.recipes.engine.raw_model import encode
from kerasforge.recipes.engine.use_model import evaluate_file, predict_file, prediction_frame

CLASSES = ["barbera", "dolcetto", "nebbiolo"]


def test_predict_writes_class_names_and_probabilities(wine_run, wine_frame, tmp_path):
    run, folder = wine_run
    rows = wine_frame(rows=40, seed=1).drop(columns=["grape"])
    rows.to_csv(tmp_path / "new.csv", index=False)
    count = predict_file(run.run_dir, tmp_path / "new.csv", tmp_path / "out.csv", rows=16)
    out = pd.read_csv(tmp_path / "out.csv")
    assert count == 40 and len(out) == 40
    assert list(out.columns) == ["prediction", *(f"probability_{name}" for name in CLASSES)]
    assert set(out["prediction"]) <= set(CLASSES)
    probabilities = out.iloc[:, 1:].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (out["prediction"] == np.asarray(CLASSES)[probabilities.argmax(axis=1)]).all()
    assert json.loads((run.run_dir / "classes.json").read_text()) == CLASSES
    assert not list(tmp_path.glob(".*partial"))


def test_predicting_in_chunks_and_from_parquet_gives_the_same_rows(wine_run, wine_frame, tmp_path):
    run, _ = wine_run
    rows = wine_frame(rows=50, seed=2).drop(columns=["grape"])
    rows.to_csv(tmp_path / "new.csv", index=False)
    rows.to_parquet(tmp_path / "new.parquet")
    predict_file(run.run_dir, tmp_path / "new.csv", tmp_path / "whole.csv")
    predict_file(run.run_dir, tmp_path / "new.parquet", tmp_path / "chunks.csv", rows=7)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "whole.csv"), pd.read_csv(tmp_path / "chunks.csv"))


@pytest.mark.slow
def test_a_fresh_process_loads_model_keras_with_plain_keras_and_predicts_raw_columns(wine_run, tmp_path):
    # The run trains on this process's backend; the fresh process is TensorFlow, where plain
    # `model.predict` takes text columns. On the JAX and torch CI legs this compares backends.
    run, _ = wine_run
    raw = {name: values[:6].copy() for name, values in run.data.raw["test"].items()}
    raw["acid"][0] = np.nan
    raw["region"][1:3] = ["", "east"]  # missing, and a level never seen in training
    expected = run.model.predict(encode(run.data.preprocessing, raw), verbose=0)
    np.save(tmp_path / "expected.npy", expected)
    script = (
        "import numpy as np\n"
        "nan = float('nan')\n"
        "import kerasforge, keras\n"
        # compile=False: a model trained on torch names torch's Adam in its compile settings, and
        # importing torch into a TensorFlow process crashes it; predicting needs no optimizer.
        f"model = keras.saving.load_model({str(run.run_dir / 'model.keras')!r}, compile=False)\n"
        f"raw = {{'alcohol': np.array({raw['alcohol'].tolist()!r}, 'float32'),"
        f" 'acid': np.array({[float(v) for v in raw['acid']]!r}, 'float32'),"
        f" 'region': np.array({raw['region'].tolist()!r}, dtype=object)}}\n"
        "out = model.predict(raw, verbose=0)\n"
        "from kerasforge.recipes import predict_rows\n"
        f"expected = np.load({str(tmp_path / 'expected.npy')!r})\n"
        "np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)\n"
        "np.testing.assert_allclose(predict_rows(model, raw), expected, rtol=1e-5, atol=1e-6)\n"
        "names = model.get_layer('class_names').get_config()['class_names']\n"
        "print('class names:', names)\n"
    )
    environment = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=environment
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"class names: {CLASSES}" in result.stdout


def test_an_unseen_category_goes_to_the_out_of_vocabulary_slot(wine_run, tmp_path):
    run, _ = wine_run
    rows = pd.DataFrame({"alcohol": [12.0, 12.0, 12.0], "region": ["east", None, "north"], "acid": [3.0] * 3})
    rows.to_csv(tmp_path / "new.csv", index=False)
    predict_file(run.run_dir, tmp_path / "new.csv", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv").iloc[:, 1:].to_numpy()
    # An unseen level and a missing one share the out-of-vocabulary slot; a known level does not.
    np.testing.assert_allclose(out[0], out[1], rtol=1e-6)
    assert not np.allclose(out[0], out[2])


def test_a_missing_column_is_one_error_naming_it(wine_run, wine_frame, tmp_path):
    run, _ = wine_run
    wine_frame(rows=5).drop(columns=["grape", "region"]).to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(DataError, match=r"Feature columns 'region' are not in the data; the model needs"):
        predict_file(run.run_dir, tmp_path / "new.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    assert not list(tmp_path.glob(".*partial"))


def test_text_in_a_numeric_column_names_the_column_the_value_and_its_row(wine_run, wine_frame, tmp_path):
    run, _ = wine_run
    rows = wine_frame(rows=30).drop(columns=["grape"]).astype({"acid": object})
    rows.loc[21, "acid"] = "lots"
    rows.to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(DataError, match=r"Column 'acid' holds 'lots' in row 22; .* takes numbers"):
        predict_file(run.run_dir, tmp_path / "new.csv", tmp_path / "out.csv", rows=8)
    assert not (tmp_path / "out.csv").exists()


def test_predict_never_overwrites_an_earlier_file_unless_asked(wine_run, wine_frame, tmp_path):
    run, _ = wine_run
    wine_frame(rows=5).to_csv(tmp_path / "new.csv", index=False)
    (tmp_path / "out.csv").write_text("keep me\n")
    with pytest.raises(DataError, match=r"'.*out.csv' exists and would be overwritten.*--overwrite"):
        predict_file(run.run_dir, tmp_path / "new.csv", tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == "keep me\n"
    predict_file(run.run_dir, tmp_path / "new.csv", tmp_path / "out.csv", overwrite=True)
    assert len(pd.read_csv(tmp_path / "out.csv")) == 5


def test_evaluate_on_the_test_split_matches_the_runs_own_test_metrics(wine_run, tmp_path):
    run, _ = wine_run
    test = pd.DataFrame(run.data.raw["test"]).replace({"region": {"": None}})
    test["grape"] = np.asarray(CLASSES)[run.data.y_test]
    test.to_csv(tmp_path / "test.csv", index=False)
    metrics = evaluate_file(run.run_dir, tmp_path / "test.csv", tmp_path / "metrics.json", rows=9)
    assert set(metrics) == set(run.test_metrics)
    for name, value in run.test_metrics.items():
        assert metrics[name] == pytest.approx(value, rel=1e-4, abs=1e-6), name
    assert json.loads((tmp_path / "metrics.json").read_text())["test"] == pytest.approx(metrics)


def test_evaluate_names_a_label_the_run_never_saw(wine_run, wine_frame, tmp_path):
    run, _ = wine_run
    frame = wine_frame(rows=10)
    frame.loc[4, "grape"] = "merlot"
    frame.to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(
        DataError, match=r"Target column 'grape' holds 'merlot' in row 5, a class the run never saw"
    ):
        evaluate_file(run.run_dir, tmp_path / "new.csv")


def test_prediction_frame_for_binary_and_regression_outputs():
    binary = prediction_frame(np.array([[0.2], [0.9]]), ["no", "yes"])
    assert binary["prediction"].tolist() == ["no", "yes"]
    np.testing.assert_allclose(binary["probability_no"], [0.8, 0.1])
    regression = prediction_frame(np.array([[1.5], [-2.0]]), None)
    assert list(regression.columns) == ["prediction"] and regression["prediction"].tolist() == [1.5, -2.0]
