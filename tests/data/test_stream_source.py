import numpy as np
import pandas as pd
import pytest

from kerasforge.data.stream_batches import StreamPlan, stream_statistics
from kerasforge.data.stream_source import is_stream_pattern, open_source, read_chunks
from kerasforge.errors import DataError


def frame(rows=50, **extra):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"a": rng.normal(size=rows), "b": rng.normal(size=rows), "y": [0, 1] * (rows // 2), **extra}
    )


def test_a_folder_lists_its_parquet_shards_by_relative_key(tmp_path):
    (tmp_path / "day=2").mkdir()
    frame().to_parquet(tmp_path / "day=2" / "part.parquet")
    frame().to_parquet(tmp_path / "first.pq")
    (tmp_path / "notes.txt").write_text("not data")
    source = open_source(tmp_path)
    assert source.format == "parquet"
    assert [shard.key for shard in source.shards] == ["day=2/part.parquet", "first.pq"]
    assert source.rows == 100 and source.columns == ("a", "b", "y")


def test_a_csv_glob_keys_shards_below_its_fixed_folder(tmp_path):
    (tmp_path / "csv" / "2024").mkdir(parents=True)
    frame().to_csv(tmp_path / "csv" / "2024" / "a.csv", index=False)
    frame().to_csv(tmp_path / "csv" / "b.csv", index=False)
    source = open_source(tmp_path / "csv" / "**" / "*.csv")
    assert source.format == "csv" and source.rows is None
    assert [shard.key for shard in source.shards] == ["2024/a.csv", "b.csv"]
    chunks = list(read_chunks(source, source.shards[0], ["a", "y"]))
    assert sum(len(chunk) for _, chunk in chunks) == 50 and chunks[0][0] == 0
    assert is_stream_pattern(tmp_path / "csv" / "*.csv") and not is_stream_pattern(tmp_path / "csv" / "b.csv")


def test_a_pandas_index_stored_in_parquet_is_not_a_column(tmp_path):
    pd.concat([frame(4), frame(4)]).to_parquet(tmp_path / "rows.parquet")
    source = open_source(tmp_path / "rows.parquet")
    assert source.columns == ("a", "b", "y")
    ((_, chunk),) = read_chunks(source, source.shards[0], list(source.columns))
    assert list(chunk.columns) == ["a", "b", "y"] and len(chunk) == 8


def test_csv_integers_and_gaps_are_read_as_floats_in_every_shard(tmp_path):
    (tmp_path / "one.csv").write_text("a,c,y\n1,x,0\n2,z,1\n")
    (tmp_path / "two.csv").write_text("a,c,y\n2.5,,1\n?,x,0\n")
    source = open_source(tmp_path / "*.csv", na_values=["?"])
    chunks = [chunk for shard in source.shards for _, chunk in read_chunks(source, shard, ["a", "c"])]
    assert [chunk["a"].dtype for chunk in chunks] == [np.float64, np.float64]
    assert chunks[1]["a"].isna().tolist() == [False, True]
    assert chunks[1]["c"].isna().tolist() == [True, False]


def test_parquet_na_values_become_missing_numbers(tmp_path):
    frame(4, c=["1.5", "?", "2", "3"]).to_parquet(tmp_path / "rows.parquet")
    source = open_source(tmp_path / "rows.parquet", na_values=["?"])
    ((_, chunk),) = read_chunks(source, source.shards[0], ["c"])
    assert chunk["c"].dtype == np.float64 and chunk["c"].isna().tolist() == [False, True, False, False]


def write_bad_sources(tmp_path):
    frame().to_parquet(tmp_path / "good.parquet")
    (tmp_path / "mixed").mkdir()
    frame().to_parquet(tmp_path / "mixed" / "a.parquet")
    frame().rename(columns={"b": "bee"}).to_parquet(tmp_path / "mixed" / "b.parquet")
    (tmp_path / "formats").mkdir()
    frame().to_csv(tmp_path / "formats" / "a.csv", index=False)
    frame().to_parquet(tmp_path / "formats" / "b.parquet")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "broken.parquet").write_text("not parquet")
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.csv").write_text("a,y\n1,0\n2,1\n")
    (tmp_path / "text" / "b.csv").write_text("a,y\n3,0\nabc,1\n")


@pytest.mark.parametrize(
    "source, match",
    [
        ("missing.parquet", r"Data file '.*missing.parquet' does not exist"),
        ("*.feather", r"Data source '.*\*.feather' matches no file"),
        ("nothing-*.csv", r"matches no file; a glob must match .csv, .parquet, .pq files"),
        ("empty", r"Data folder '.*empty' holds no .csv, .parquet, .pq file"),
        ("rows.json", r"unsupported suffix '.json'"),
        ("mixed", r"Shard '.*b.parquet' lacks column 'b' and has extra column 'bee', unlike '.*a.parquet'"),
        ("formats/*", r"mixes file formats: csv \(.*a.csv\), parquet \(.*b.parquet\)"),
        ("empty.csv", r"Cannot read CSV shard '.*empty.csv': Empty CSV file"),
        ("broken.parquet", r"Cannot read Parquet shard '.*broken.parquet'"),
    ],
)
def test_bad_sources_are_one_line_errors_naming_the_path(tmp_path, source, match):
    write_bad_sources(tmp_path)
    with pytest.raises(DataError, match=match) as caught:
        open_source(tmp_path / source)
    assert "\n" not in str(caught.value)


def test_a_bad_csv_value_names_the_shard_and_column(tmp_path):
    write_bad_sources(tmp_path)
    plan = StreamPlan(open_source(tmp_path / "text" / "*.csv"), target="y", fractions=(1.0, 0.0, 0.0))
    with pytest.raises(
        DataError, match=r"Cannot read CSV shard '.*b.csv': In CSV column #0: .*'abc'"
    ) as caught:
        stream_statistics(plan, task="binary")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "arguments, match",
    [
        ({"target": "label"}, r"The target column 'label' is not in '.*good.parquet'. Columns: a, b, y"),
        ({"target": "y", "row_key": "id"}, r"The row key column 'id' is not in"),
        ({"target": "y", "features": ("a", "c")}, r"Feature columns 'c' are not in"),
        ({"target": "y", "fractions": (0.5, 0.2, 0.2)}, r"Split fractions must sum to 1"),
    ],
)
def test_a_plan_names_a_missing_column(tmp_path, arguments, match):
    write_bad_sources(tmp_path)
    with pytest.raises(DataError, match=match):
        StreamPlan(open_source(tmp_path / "good.parquet"), **arguments)


def test_a_split_without_rows_is_an_error(tmp_path):
    frame(4).to_parquet(tmp_path / "tiny.parquet")
    plan = StreamPlan(open_source(tmp_path / "tiny.parquet"), target="y", fractions=(0.5, 0.25, 0.25))
    with pytest.raises(
        DataError, match=r"The (val|test) split of '.*tiny.parquet' has no rows \(4 rows in all\)"
    ):
        stream_statistics(plan, task="binary")
