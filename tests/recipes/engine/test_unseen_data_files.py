"""Hand-made data files a reviewer would try: each trains and predicts correctly, or is one clear error."""

import json

import numpy as np
import pandas as pd
import pytest

from kerasforge.errors import DataError
from kerasforge.recipes import load_recipe, train
from kerasforge.recipes.engine.prepare_data import check_recipe_data
from kerasforge.recipes.engine.use_model import evaluate_file, predict_file

ROWS = 120


def frame(rows=ROWS, seed=0):
    """Two numeric features; `x` decides the label."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=rows), "z": rng.normal(size=rows)})


def recipe_file(folder, source, target="y", task="binary", data="", epochs=2):
    (folder / "r.yaml").write_text(
        f"name: unseen\nseed: 0\ndata: {{source: {source}, target: {json.dumps(target)}{data}}}\n"
        f"model: {{task: {task}, hidden: [8]}}\ntraining: {{epochs: {epochs}, batch_size: 16}}\n"
        "callbacks: {activation_monitor: {enabled: false}}\n"
    )
    return folder / "r.yaml"


def thousands_separators(rows):
    rows["amount"] = [f"{v:,}" for v in np.random.default_rng(1).integers(1000, 90_000, len(rows))]
    return r"Column 'amount' holds numbers written with thousands separators \(e\.g\. '\d+,\d{3}'"


def stray_text_in_one_row(rows):
    rows["a"] = rows["z"].astype(object)
    rows.loc[[5, 100], "a"] = "oops"
    # Every row counts, not only training rows: row 101 may be a test row.
    return (
        r"Column 'a' holds numbers except for 2 of the 120 values in the data: 'oops' \(2\), "
        r"the first in row 6\."
    )


def dates(rows):
    rows["when"] = pd.date_range("2020-01-01", periods=len(rows)).strftime("%Y-%m-%d")
    return r"Column 'when' has more than 50 distinct values .* Its values are dates \(e\.g\. '2020-"


def all_missing(rows):
    rows["empty"] = np.nan
    return r"Column 'empty' has no values: every row is missing\. Leave it out of `features`"


BAD_COLUMNS = [thousands_separators, stray_text_in_one_row, dates, all_missing]


@pytest.mark.parametrize("stream", ["false", "true"])
@pytest.mark.parametrize("make_column", BAD_COLUMNS, ids=lambda make: make.__name__)
def test_an_unusable_column_is_one_error_naming_it_and_what_to_do(tmp_path, make_column, stream):
    rows = frame()
    message = make_column(rows)
    rows["y"] = (rows["x"] > 0).astype(int)
    rows.to_csv(tmp_path / "data.csv", index=False)
    recipe = load_recipe(recipe_file(tmp_path, "data.csv", data=f", stream: {stream}"))
    if make_column is stray_text_in_one_row and stream == "true":
        # A stream's first pass sees training rows only; it names the stray value when it is one of them.
        message = r"Column 'a' holds numbers except for .*'oops'|Column 'a' .* Its values are numbers"
    with pytest.raises(DataError, match=message):
        check_recipe_data(recipe)


@pytest.mark.parametrize("stream", ["false", "true"])
@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_csv_with_another_separator_is_one_error_naming_it(tmp_path, separator, stream):
    rows = frame()
    rows["y"] = (rows["x"] > 0).astype(int)
    rows.to_csv(tmp_path / "data.csv", index=False, sep=separator)
    recipe = load_recipe(recipe_file(tmp_path, "data.csv", data=f", stream: {stream}"))
    message = r"^Data file '.*data\.csv' reads as one column 'x(;|\\t)z.+y': it looks separated by (';'|tabs)"
    with pytest.raises(DataError, match=message):
        check_recipe_data(recipe)


@pytest.mark.parametrize("stream", ["false", "true"])
def test_a_csv_not_in_utf8_is_one_error_saying_so(tmp_path, stream):
    rows = frame()
    rows["city"] = np.where(rows["z"] > 0, "Zürich", "Genève")
    rows.insert(0, "température", rows.pop("z"))  # in the header too, read before any row
    rows["y"] = (rows["x"] > 0).astype(int)
    (tmp_path / "data.csv").write_bytes(rows.to_csv(index=False).encode("latin-1"))
    recipe = load_recipe(recipe_file(tmp_path, "data.csv", data=f", stream: {stream}"))
    with pytest.raises(DataError, match=r"'.*data\.csv'.*not UTF-8.*Save it as UTF-8"):
        check_recipe_data(recipe)


@pytest.mark.slow
@pytest.mark.parametrize("labels", [[0, 1], [1, 2, 3]], ids=["0/1", "1/2/3"])
def test_a_streamed_csv_keeps_integer_class_names_and_evaluates_integer_labels(tmp_path, labels):
    rows = frame(rows=300)
    rows["y"] = np.asarray(labels)[np.digitize(rows["x"], np.linspace(-0.5, 0.5, len(labels) - 1))]
    rows.to_csv(tmp_path / "data.csv", index=False)
    task = "binary" if len(labels) == 2 else "multiclass"
    run = train(
        load_recipe(recipe_file(tmp_path, "data.csv", task=task, data=", stream: true")),
        run_dir=tmp_path / "run",
        verbose=0,
    )
    assert json.loads((run.run_dir / "classes.json").read_text()) == labels
    metrics = evaluate_file(run.run_dir, tmp_path / "data.csv")
    assert set(metrics) >= {"accuracy", "loss"}
    predict_file(run.run_dir, tmp_path / "data.csv", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["prediction", *(f"probability_{label}" for label in labels)]


def _labels(rows, names):
    return np.asarray(names, dtype=object)[(rows["x"] > 0).astype(int)]


def bools(rows):
    rows["flag"] = np.random.default_rng(2).random(len(rows)) > 0.5
    rows["y"] = rows["x"] > 0
    return "y", [False, True], {}


def yes_no(rows):
    rows["answer"] = np.where(rows["z"] > 0, "yes", "no")
    rows["y"] = _labels(rows, ["no", "yes"])
    return "y", ["no", "yes"], {}


def unicode_names(rows):
    rows.insert(0, "température °C", rows.pop("x"))
    rows["région"] = np.random.default_rng(3).choice(["Île-de-France", "東京", "São Paulo"], len(rows))
    rows["the class"] = np.where(rows["température °C"] > 0, "très bon 😀", "mal été")
    return "the class", ["mal été", "très bon 😀"], {}


def quoted_commas_and_newlines(rows):
    rows["note"] = np.random.default_rng(4).choice(["a, b", 'say "hi"', "one\ntwo"], len(rows))
    rows["y"] = _labels(rows, ["neg", "pos"])
    return "y", ["neg", "pos"], {}


def bom_and_crlf(rows):
    rows["y"] = _labels(rows, ["neg", "pos"])
    return "y", ["neg", "pos"], {"encoding": "utf-8-sig", "lineterminator": "\r\n"}


def parquet_types(rows):
    rng = np.random.default_rng(5)
    rows["level"] = pd.Categorical(rng.choice(["a", "b", "c"], len(rows)))
    counts = pd.array(rng.integers(0, 9, len(rows)), dtype="Int64")
    counts[[1, 7, 50]] = pd.NA
    rows["count"] = counts
    rows["half"] = rows["z"].astype("float16")
    rows["y"] = pd.Categorical(_labels(rows, ["neg", "pos"]))
    return "y", ["neg", "pos"], "parquet"


GOOD_FILES = [bools, yes_no, unicode_names, quoted_commas_and_newlines, bom_and_crlf, parquet_types]


@pytest.mark.slow
@pytest.mark.parametrize("stream", ["false", "true"])
@pytest.mark.parametrize("make_file", GOOD_FILES, ids=lambda make: make.__name__)
def test_a_file_trains_and_predicts_its_own_class_names_from_reordered_columns(tmp_path, make_file, stream):
    rows = frame(rows=200)
    target, classes, written = make_file(rows)
    suffix = ".parquet" if written == "parquet" else ".csv"
    if suffix == ".parquet":
        rows.to_parquet(tmp_path / "data.parquet", index=False)
    else:
        rows.to_csv(tmp_path / "data.csv", index=False, **written)
    source = f"data{suffix}"
    recipe = recipe_file(tmp_path, source, target, data=f", missing: mean, stream: {stream}", epochs=30)
    run = train(load_recipe(recipe), run_dir=tmp_path / "run", verbose=0)
    assert json.loads((run.run_dir / "classes.json").read_text()) == classes
    new = rows.drop(columns=[target]).iloc[::-1, ::-1]
    new.to_parquet(tmp_path / "new.parquet", index=False)
    predict_file(run.run_dir, tmp_path / "new.parquet", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    truth = rows[target].iloc[::-1].astype(str).to_numpy()
    assert (out["prediction"].astype(str).to_numpy() == truth).mean() > 0.8
    assert evaluate_file(run.run_dir, tmp_path / source)["accuracy"] > 0.8
