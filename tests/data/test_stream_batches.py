import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kerasforge.data.column_statistics import column_statistics
from kerasforge.data.row_split import SPLIT_CODES, position_split
from kerasforge.data.stream_batches import StreamPlan, prefetch, stream_batches, stream_statistics
from kerasforge.data.stream_source import open_source
from kerasforge.errors import DataError


def make_frame(rows, seed=0, start=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(2.0, 3.0, rows)
    a[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(start, start + rows),
            "a": a,
            "b": rng.integers(0, 100, rows).astype(np.int64),
            "color": rng.choice(["red", "green", "blue"], rows),
            "label": rng.choice(["no", "yes"], rows),
        }
    )


def write_parquet_shards(folder, frame, shards, row_group=200):
    folder.mkdir(parents=True, exist_ok=True)
    for index, part in enumerate(np.array_split(np.arange(len(frame)), shards)):
        table = pa.Table.from_pandas(frame.iloc[part], preserve_index=False)
        pq.write_table(table, folder / f"part-{index:02d}.parquet", row_group_size=row_group)
    return folder


def split_ids(plan, rng=None):
    ids = {name: set() for name in SPLIT_CODES}
    for chunk, codes in plan.split_chunks(rng):
        for name, code in SPLIT_CODES.items():
            ids[name].update(chunk["id"][codes == code].tolist())
    return ids


def test_split_is_the_same_across_reruns_and_reading_orders(tmp_path):
    folder = write_parquet_shards(tmp_path / "shards", make_frame(3000), shards=4)
    plan = StreamPlan(open_source(folder), target="label", seed=3)
    first = split_ids(plan)
    again = split_ids(StreamPlan(open_source(folder), target="label", seed=3))
    shuffled = [split_ids(plan, np.random.default_rng(seed)) for seed in range(3)]
    assert all(split == first for split in [again, *shuffled])
    assert sum(len(ids) for ids in first.values()) == 3000
    assert 0.65 < len(first["train"]) / 3000 < 0.75
    assert split_ids(StreamPlan(open_source(folder), target="label", seed=4)) != first


def test_split_survives_renumbered_and_added_shards_by_shard_key(tmp_path):
    frame = make_frame(2000)
    folder = write_parquet_shards(tmp_path / "shards", frame, shards=2)
    before = split_ids(StreamPlan(open_source(folder), target="label"))
    # A new shard sorted first changes every shard's position in the listing, not its key.
    extra = make_frame(500, seed=1, start=10_000)
    pq.write_table(pa.Table.from_pandas(extra, preserve_index=False), folder / "part-00-early.parquet")
    after = split_ids(StreamPlan(open_source(folder), target="label"))
    for name in SPLIT_CODES:
        assert {i for i in after[name] if i < 10_000} == before[name]


def test_row_key_split_survives_resharding(tmp_path):
    frame = make_frame(2000)
    three = write_parquet_shards(tmp_path / "three", frame, shards=3)
    five = write_parquet_shards(tmp_path / "five", frame.sample(frac=1, random_state=0), shards=5)
    csv = tmp_path / "rows.csv"
    frame.to_csv(csv, index=False)
    splits = [
        split_ids(StreamPlan(open_source(source), target="label", row_key="id", seed=1))
        for source in (three, five, csv)
    ]
    assert splits[0] == splits[1] == splits[2]


def test_position_split_takes_the_fractions_in_expectation():
    codes = position_split("part.parquet", 0, 200_000, fractions=(0.6, 0.3, 0.1), seed=0)
    shares = np.bincount(codes, minlength=3) / len(codes)
    np.testing.assert_allclose(shares, [0.6, 0.3, 0.1], atol=0.005)


@pytest.mark.parametrize("shuffle_buffer", [100, 1000, 100_000])
def test_shuffling_yields_every_train_row_once_per_epoch(tmp_path, shuffle_buffer):
    folder = write_parquet_shards(tmp_path / "shards", make_frame(2500), shards=3, row_group=300)
    plan = StreamPlan(open_source(folder), target="label", features=("id", "a", "color"))
    summary = stream_statistics(plan, task="binary")
    expected = sorted(split_ids(plan)["train"])
    orders = []
    for epoch in (0, 1, 0):
        batches = list(
            stream_batches(
                plan, summary.statistics, batch_size=64, shuffle_buffer=shuffle_buffer, epoch=epoch
            )
        )
        assert all(len(target) == 64 for _, target in batches[:-1])
        orders.append(np.concatenate([inputs["id"] for inputs, _ in batches]).astype(np.int64))
        assert sorted(orders[-1].tolist()) == expected
    assert summary.rows["train"] == len(expected)
    assert not np.array_equal(orders[0], orders[1])
    np.testing.assert_array_equal(orders[0], orders[2])
    assert not np.array_equal(orders[0], np.sort(orders[0]))
    if shuffle_buffer >= 1000:
        # The first batch mixes rows from far apart in the files.
        assert np.ptp(orders[0][:64]) > 1000


def test_without_shuffle_batches_keep_file_order(tmp_path):
    folder = write_parquet_shards(tmp_path / "shards", make_frame(1000), shards=2)
    plan = StreamPlan(open_source(folder), target="label", features=("id", "a"))
    summary = stream_statistics(plan, task="binary")
    ids = np.concatenate(
        [
            x["id"]
            for x, _ in stream_batches(plan, summary.statistics, split="val", batch_size=50, shuffle=False)
        ]
    )
    assert ids.tolist() == sorted(split_ids(plan)["val"])


@pytest.mark.parametrize("source", ["parquet", "csv"])
def test_stream_statistics_equal_in_memory_statistics_of_the_train_rows(tmp_path, source):
    frame = make_frame(4000)
    if source == "parquet":
        path = write_parquet_shards(tmp_path / "shards", frame, shards=3)
    else:
        (tmp_path / "csv").mkdir()
        for index, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
            frame.iloc[part].to_csv(tmp_path / "csv" / f"part-{index}.csv", index=False)
        path = tmp_path / "csv" / "*.csv"
    plan = StreamPlan(open_source(path), target="label", features=("a", "b", "color"), seed=2)
    streamed = stream_statistics(plan, task="binary", fill="median").statistics
    train_ids = sorted(split_ids(StreamPlan(open_source(path), target="label", seed=2))["train"])
    in_memory = column_statistics(
        frame.set_index("id").loc[train_ids],
        ["a", "b", "color"],
        target="label",
        task="binary",
        fill="median",
    )
    assert streamed.class_names == in_memory.class_names == ["no", "yes"]
    assert streamed.rows == in_memory.rows
    for name in ("a", "b"):
        ours, theirs = streamed[name], in_memory[name]
        assert (ours.count, ours.missing) == (theirs.count, theirs.missing)
        np.testing.assert_allclose(
            [ours.mean, ours.variance, ours.minimum, ours.maximum, ours.fill],
            [theirs.mean, theirs.variance, theirs.minimum, theirs.maximum, theirs.fill],
            rtol=1e-9,
        )
    assert streamed["color"].levels == in_memory["color"].levels
    assert streamed["color"].level_counts == in_memory["color"].level_counts


def test_batches_hold_the_raw_input_format(tmp_path):
    frame = make_frame(600)
    frame.loc[3, "color"] = None
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path)
    plan = StreamPlan(open_source(path), target="label", features=("a", "color"), fractions=(1.0, 0.0, 0.0))
    summary = stream_statistics(plan, task="binary")
    inputs, target = next(stream_batches(plan, summary.statistics, batch_size=600, shuffle=False))
    assert inputs["a"].dtype == np.float32 and np.isnan(inputs["a"]).sum() == frame["a"].isna().sum()
    assert inputs["color"][3] == ""
    assert target.dtype == np.float32 and target.shape == (600, 1)
    np.testing.assert_array_equal(target[:, 0], (frame["label"] == "yes").to_numpy(np.float32))


def test_multiclass_and_regression_targets_are_encoded_like_encode_target(tmp_path):
    frame = make_frame(300)
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path)
    whole = (1.0, 0.0, 0.0)
    plan = StreamPlan(open_source(path), target="color", features=("a",), fractions=whole)
    summary = stream_statistics(plan, task="multiclass")
    _, classes = next(stream_batches(plan, summary.statistics, batch_size=300, shuffle=False))
    assert summary.statistics.class_names == ["blue", "green", "red"]
    assert classes.dtype == np.int32 and classes.shape == (300,)
    plan = StreamPlan(open_source(path), target="b", features=("a",), fractions=whole)
    summary = stream_statistics(plan, task="regression")
    _, values = next(stream_batches(plan, summary.statistics, batch_size=300, shuffle=False))
    np.testing.assert_array_equal(values[:, 0], frame["b"].to_numpy(np.float32))


def test_a_class_only_in_held_out_rows_is_an_error(tmp_path):
    frame = make_frame(400)
    codes = position_split("rows.parquet", 0, 400, fractions=(0.7, 0.15, 0.15), seed=0)
    frame.loc[np.flatnonzero(codes == 2)[0], "label"] = "maybe"
    frame.to_parquet(tmp_path / "rows.parquet")
    plan = StreamPlan(open_source(tmp_path / "rows.parquet"), target="label")
    with pytest.raises(DataError, match=r"classes \['maybe'\] in val/test rows but in no train row"):
        stream_statistics(plan, task="multiclass")


def test_prefetch_raises_the_readers_error_and_stops_early():
    def failing():
        yield 1
        raise DataError("bad chunk")

    reader = prefetch(failing(), size=2)
    assert next(reader) == 1
    with pytest.raises(DataError, match="bad chunk"):
        next(reader)
    endless = prefetch(iter(range(10**9)), size=2)
    assert [next(endless) for _ in range(3)] == [0, 1, 2]
    endless.close()
