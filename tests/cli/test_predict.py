"""`kerasforge predict` and `kerasforge evaluate` as a user runs them: a subprocess on a finished run."""

import json
import re

import pandas as pd
import pytest

CLASSES = ["barbera", "dolcetto", "nebbiolo"]


def assert_one_error_line(result, message):
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert re.match(r"kerasforge: error: ", result.stderr) and re.search(message, result.stderr), (
        result.stderr
    )


def test_a_run_folder_without_a_model_is_one_line_before_tensorflow(kerasforge, tmp_path):
    (tmp_path / "new.csv").write_text("a\n1\n")
    (tmp_path / "run").mkdir()
    result = kerasforge("predict", tmp_path / "run", tmp_path / "new.csv", cwd=tmp_path, imports=True)
    assert_one_error_line(result, r"run folder '.*run' has no model.keras, columns.json, recipe.yaml")
    assert result.stdout.splitlines()[-1] == "imported the backend: False"
    result = kerasforge("evaluate", tmp_path / "nowhere", tmp_path / "new.csv", cwd=tmp_path, imports=True)
    assert_one_error_line(result, r"run folder '.*nowhere' does not exist")


def test_an_existing_out_file_is_one_line_before_tensorflow_and_kept(kerasforge, wine_run, tmp_path):
    run, folder = wine_run
    (tmp_path / "predictions.csv").write_text("keep me\n")
    result = kerasforge("predict", run.run_dir, folder / "wine.csv", cwd=tmp_path, imports=True)
    assert_one_error_line(result, r"'predictions.csv' exists and would be overwritten; .* --overwrite")
    assert result.stdout.splitlines()[-1] == "imported the backend: False"
    assert (tmp_path / "predictions.csv").read_text() == "keep me\n"


@pytest.mark.slow
def test_predict_writes_class_names_for_text_labels(kerasforge, wine_run, wine_frame, tmp_path):
    run, _ = wine_run
    wine_frame(rows=25, seed=3).drop(columns=["grape"]).to_parquet(tmp_path / "new.parquet")
    result = kerasforge("predict", run.run_dir, "new.parquet", "--out", "out.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "predicted 25 rows: out.csv"
    out = pd.read_csv(tmp_path / "out.csv")
    assert set(out["prediction"]) <= set(CLASSES) and len(out) == 25


@pytest.mark.slow
def test_wrong_type_and_missing_column_are_one_line_exit_2(kerasforge, wine_run, wine_frame, tmp_path):
    run, _ = wine_run
    rows = wine_frame(rows=10).drop(columns=["grape"]).astype({"alcohol": object})
    rows.loc[3, "alcohol"] = "strong"
    rows.to_csv(tmp_path / "bad.csv", index=False)
    result = kerasforge("predict", run.run_dir, "bad.csv", cwd=tmp_path)
    assert_one_error_line(result, r"Column 'alcohol' holds 'strong' in row 4; it was numeric in training")
    rows.drop(columns=["region"]).to_csv(tmp_path / "short.csv", index=False)
    result = kerasforge("evaluate", run.run_dir, "short.csv", cwd=tmp_path)
    assert_one_error_line(result, r"Target column 'grape' is not in the data|Feature columns 'region'")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.csv", "short.csv"]


@pytest.mark.slow
def test_evaluate_prints_and_writes_the_test_metrics(kerasforge, wine_run, wine_frame, tmp_path):
    run, folder = wine_run
    wine_frame(rows=60, seed=4).to_csv(tmp_path / "labelled.csv", index=False)
    result = kerasforge("evaluate", run.run_dir, "labelled.csv", "--out", "metrics.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("accuracy=")
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert set(written["test"]) == {"accuracy", "loss"}
    assert f"accuracy={written['test']['accuracy']:.4f}" in result.stdout
