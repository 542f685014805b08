import json

import keras
import numpy as np
import pandas as pd
import pytest

from kerasforge.errors import DataError
from kerasforge.recipes import load_recipe, prepare_data, train
from kerasforge.recipes.engine.stream_data import streams


def rows_frame(rows=1200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    color = rng.choice(["red", "green", "blue"], rows)
    score = x[:, 0] - x[:, 1] + (color == "red") * 1.5
    x[rng.random(rows) < 0.03, 2] = np.nan
    return pd.DataFrame(
        {
            "x0": x[:, 0],
            "x1": x[:, 1],
            "x2": x[:, 2],
            "color": color,
            "label": np.where(score > 0.5, "yes", "no"),
        }
    )


def parquet_folder(folder, rows=1200, shards=3):
    folder.mkdir(parents=True)
    frame = rows_frame(rows)
    for index, part in enumerate(np.array_split(np.arange(rows), shards)):
        frame.iloc[part].to_parquet(folder / f"part-{index}.parquet", row_group_size=100)
    return folder


def csv_shards(folder, rows=1200, shards=3):
    folder.mkdir(parents=True)
    frame = rows_frame(rows)
    for index, part in enumerate(np.array_split(np.arange(rows), shards)):
        frame.iloc[part].to_csv(folder / f"part-{index}.csv", index=False)
    return folder / "part-*.csv"


def stream_recipe(source, **overrides):
    return load_recipe(
        {
            "name": "streamed",
            "data": {"source": str(source), "target": "label", "missing": "mean"},
            "model": {"task": "binary", "hidden": [16]},
            "training": {"epochs": 3, "batch_size": 64, "learning_rate": 0.01},
            "callbacks": {"activation_monitor": {"enabled": False}},
        },
        overrides,
    )


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["parquet folder", "csv glob"])
def test_a_recipe_trains_through_the_stream(tmp_path, kind):
    source = parquet_folder(tmp_path / "shards") if kind == "parquet folder" else csv_shards(tmp_path / "csv")
    recipe = stream_recipe(source)
    assert streams(recipe)
    run = train(recipe, run_dir=tmp_path / "run", verbose=0)
    data = run.data
    assert data.stream is not None and sum(data.stream.rows.values()) == 1200
    assert len(run.history["loss"]) == 3
    assert run.test_metrics["accuracy"] > 0.8
    described = json.loads((tmp_path / "run" / "data.json").read_text())
    assert described["rows"] == data.stream.rows
    loaded = keras.saving.load_model(tmp_path / "run" / "model.keras")
    raw = {name: values[:5] for name, values in data.raw["test"].items()}
    assert loaded.predict(raw, verbose=0).shape == (5, 1)


def test_auto_streams_folders_and_globs_and_loads_small_files_whole(tmp_path):
    folder = parquet_folder(tmp_path / "shards", rows=60)
    assert streams(stream_recipe(folder))
    assert streams(stream_recipe(folder / "*.parquet"))
    assert not streams(stream_recipe(folder / "part-0.parquet"))
    assert streams(stream_recipe(folder / "part-0.parquet", **{"data.stream": True}))
    with pytest.raises(
        DataError, match=r"`data.row_key` applies only to a streamed source, and '.*part-0.parquet'"
    ):
        streams(stream_recipe(folder / "part-0.parquet", **{"data.row_key": "x0"}))


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"data.stratify": True}, r"`data.stratify: true` cannot be kept by a streamed source"),
        ({"data.max_train_rows": 10}, r"`data.max_train_rows` is not supported for a streamed source"),
        ({"data.features": ["x0", "label"]}, r"`data.features` lists the target column 'label'"),
        (
            {"data.target": "y"},
            r"The target column 'y' is not in '.*shards'. Columns: x0, x1, x2, color, label",
        ),
        ({"data.missing": "error"}, r"Missing values in the train rows of columns: 'x2' \(\d+\)"),
        (
            {"data.categorical": "error"},
            r"Non-numeric columns 'color' cannot be used with categorical: error",
        ),
    ],
)
def test_streamed_recipe_mistakes_are_one_line_errors(tmp_path, overrides, match):
    recipe = stream_recipe(parquet_folder(tmp_path / "shards", rows=300), **overrides)
    with pytest.raises(DataError, match=match) as caught:
        prepare_data(recipe)
    assert "\n" not in str(caught.value)


def test_a_relative_glob_is_found_beside_the_recipe_or_named_with_each_place(tmp_path, monkeypatch):
    project = tmp_path / "project"
    csv_shards(project / "csv", rows=90)
    (project / "recipe.yaml").write_text(
        "name: rel\ndata: {source: csv/part-*.csv, target: label}\nmodel: {task: binary, hidden: [4]}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert load_recipe("project/recipe.yaml").data.source == "project/csv/part-*.csv"
    (project / "recipe.yaml").write_text(
        "name: rel\ndata: {source: csv/nothing-*.csv, target: label}\nmodel: {task: binary, hidden: [4]}\n"
    )
    with pytest.raises(
        DataError, match=r"`data.source`: Data source 'csv/nothing-\*.csv' matches no file; looked at"
    ):
        load_recipe("project/recipe.yaml")


def test_shards_with_different_columns_name_the_shard_and_column(tmp_path):
    folder = parquet_folder(tmp_path / "shards", rows=300)
    rows_frame(50).drop(columns=["x2"]).to_parquet(folder / "part-9.parquet")
    with pytest.raises(
        DataError, match=r"Shard '.*part-9.parquet' lacks column 'x2', unlike '.*part-0.parquet'"
    ):
        prepare_data(stream_recipe(folder))
