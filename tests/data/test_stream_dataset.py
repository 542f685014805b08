import keras
import numpy as np
import pandas as pd
import pytest

from kerasforge.data.stream_batches import StreamPlan, stream_statistics
from kerasforge.data.stream_dataset import StreamDataset
from kerasforge.data.stream_source import open_source
from kerasforge.errors import DataError


def write_shards(folder, rows=3000, seed=0):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    color = rng.choice(["red", "blue"], rows)
    label = np.where(x[:, 0] + x[:, 1] + (color == "red") * 1.5 > 0.75, "yes", "no")
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "color": color, "label": label})
    for index, part in enumerate(np.array_split(np.arange(rows), 3)):
        frame.iloc[part].to_parquet(folder / f"part-{index}.parquet", row_group_size=250)
    return folder


class CountRows(keras.callbacks.Callback):
    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(batch)


def numeric_model(seed):
    keras.utils.set_random_seed(seed)
    inputs = {name: keras.Input(shape=(), name=name) for name in ("x0", "x1", "x2")}
    stacked = keras.layers.Concatenate()([keras.layers.Reshape((1,))(value) for value in inputs.values()])
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(stacked))
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_a_keras_model_trains_on_a_stream_dataset(tmp_path, seed):
    folder = write_shards(tmp_path / "shards", seed=seed)
    plan = StreamPlan(open_source(folder), target="label", features=("x0", "x1", "x2"), seed=seed)
    summary = stream_statistics(plan, task="binary")
    train = StreamDataset(plan, summary.statistics, rows=summary.rows["train"], batch_size=128)
    val = StreamDataset(
        plan, summary.statistics, rows=summary.rows["val"], split="val", batch_size=512, shuffle=False
    )
    model = numeric_model(seed)
    counter = CountRows(train)
    history = model.fit(train, validation_data=val, epochs=3, shuffle=False, verbose=0, callbacks=[counter])
    assert len(counter.batches) == 3 * len(train) == 3 * -(-summary.rows["train"] // 128)
    # The label also depends on `color`, which this model does not see: about 0.8 is its best.
    assert history.history["val_accuracy"][-1] > 0.72


def test_a_stream_dataset_refuses_batches_out_of_order(tmp_path):
    folder = write_shards(tmp_path / "shards")
    plan = StreamPlan(open_source(folder), target="label", features=("x0",))
    summary = stream_statistics(plan, task="binary")
    train = StreamDataset(plan, summary.statistics, rows=summary.rows["train"], batch_size=100)
    train[0]
    with pytest.raises(
        DataError, match=r"reads its batches in order, but batch 5 was asked for after batch 0"
    ):
        train[5]
    with pytest.raises(DataError, match=r"Argument `batch_size` must be >= 1. Received: batch_size=0"):
        StreamDataset(plan, summary.statistics, rows=10, batch_size=0)


def test_stream_tf_dataset_feeds_text_columns_to_a_string_lookup(tmp_path):
    folder = write_shards(tmp_path / "shards")
    plan = StreamPlan(open_source(folder), target="label", features=("x0", "x1", "color"))
    summary = stream_statistics(plan, task="binary")
    train = StreamDataset(
        plan, summary.statistics, rows=summary.rows["train"], batch_size=256
    ).to_tf_dataset()
    keras.utils.set_random_seed(0)
    lookup = keras.layers.StringLookup(
        vocabulary=list(summary.statistics["color"].levels), output_mode="one_hot"
    )
    # The lookup runs in the tf.data pipeline, as Keras asks on JAX and torch (no string tensors).
    encoded = train.map(lambda features, label: ({**features, "color": lookup(features["color"])}, label))
    inputs = {"x0": keras.Input((), name="x0"), "x1": keras.Input((), name="x1")}
    inputs["color"] = keras.Input((lookup.vocabulary_size(),), name="color")
    numbers = keras.layers.Concatenate()([keras.layers.Reshape((1,))(inputs[n]) for n in ("x0", "x1")])
    hidden = keras.layers.Concatenate()([numbers, inputs["color"]])
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(encoded, epochs=4, verbose=0, shuffle=False)
    assert len(list(train)) == -(-summary.rows["train"] // 256)
    assert history.history["accuracy"][-1] > 0.85
