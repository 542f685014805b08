"""The Keras layers that turn raw columns into the network's inputs, and the model that takes raw rows.

A run's network trains on encoded arrays (fast: the encoding runs once, not
per epoch); the same preprocessing layers then sit in front of it in the saved
`model.keras`, which takes the raw input dict of
`kerasforge.data.column_statistics` and returns predictions.

JAX and torch tensors cannot hold strings, so on those backends the saved
model cannot be called on text columns directly. Every backend therefore runs
the preprocessing part (the layers up to `encoded`) as one TensorFlow graph
function, where Keras's preprocessing layers compute with TensorFlow ops, and
the network part on the backend: `encode` during training and in
`predict_rows`, and `encoded_dataset` (inside `tf.data`, for a file's batches)
for a saved model. One path, so the backends agree.
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import keras
import numpy as np

from kerasforge._keras_compat import call_layers_on
from kerasforge.data.column_kinds import NUMERIC
from kerasforge.data.column_statistics import ColumnStatistics
from kerasforge.data.model_inputs import encoded_feature_names
from kerasforge.layers import ClassNames, FillMissing, JoinColumns

# Rows encoded per call when a whole split is encoded at once: bounded memory on any size.
ENCODE_ROWS = 65_536
# The name of the layer that ends the preprocessing; the network starts on its output.
ENCODED = "encoded"


def _input_name(name: str) -> str:
    # Keras wants each dict key to be its Input's name; a layer name cannot hold "/".
    return name.replace("/", "_")


@contextlib.contextmanager
def column_keyed_inputs() -> Iterator[None]:
    """Builds or loads a raw-rows model without Keras's warning that a key is not its input's name.

    Keras maps a dict of inputs by key, and warns when a key differs from its
    `Input`'s name. A raw-rows model's keys are the column names, and a name
    cannot hold "/" (`_input_name`), so a column such as wine's
    `od280/od315_of_diluted_wines` printed that warning on every `train`,
    `predict` and `doctor`. The model works either way: the key is what it reads.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="When providing `inputs` as a dict", category=UserWarning)
        yield


def build_preprocessing(statistics: ColumnStatistics, normalize: str = "standard") -> keras.Model:
    """Builds the model from raw columns to the network's encoded features.

    Numeric columns are concatenated into one block (one op, however many
    columns), NaN is replaced by each column's fill value (`FillMissing`), and
    the block is scaled by `Normalization` with the statistics' mean and
    variance (`normalize="standard"`), to [0, 1] by minimum and range
    (`"minmax"`), or not at all (`"none"`); a constant column is only shifted.
    Each categorical column goes through a `StringLookup` with its levels and
    one out-of-vocabulary slot, one-hot: levels never seen in training and
    missing values (`""`) land in that slot. The order of the outputs is
    `encoded_feature_names(statistics)`.

    Args:
        statistics: `ColumnStatistics` of the training rows.
        normalize: String. `"standard"`, `"minmax"` or `"none"`.

    Returns:
        A `keras.Model` from `{column: (batch,) or (batch, 1)}` to `(batch, features)` float32.
    """
    inputs: dict[str, keras.KerasTensor] = {}
    numeric, categorical = [], []
    for column in statistics.columns:
        kind_dtype = "float32" if column.kind == NUMERIC else "string"
        inputs[column.name] = keras.Input(shape=(1,), dtype=kind_dtype, name=_input_name(column.name))
        (numeric if column.kind == NUMERIC else categorical).append(column)
    blocks = []
    if numeric:
        block = [inputs[column.name] for column in numeric]
        values = JoinColumns(name="numeric_columns")(block) if len(block) > 1 else block[0]
        values = FillMissing([float(column.fill) for column in numeric], name="fill_missing")(values)  # type: ignore[arg-type]
        scale = _scaling(numeric, normalize)
        if scale is not None:
            values = keras.layers.Normalization(mean=scale[0], variance=scale[1], name="normalize")(values)
        blocks.append(values)
    for column in categorical:
        index = statistics.features.index(column.name)
        lookup = keras.layers.StringLookup(
            vocabulary=list(column.levels or ()),
            num_oov_indices=1,
            output_mode="one_hot",
            name=f"levels_{index}",
        )
        blocks.append(lookup(inputs[column.name]))
    encoded = JoinColumns(name=ENCODED)(blocks)
    with column_keyed_inputs():
        model = keras.Model(inputs, encoded, name="preprocessing")
    width = len(encoded_feature_names(statistics))
    if model.output.shape[-1] != width:
        raise AssertionError(f"preprocessing gives {model.output.shape[-1]} features, names say {width}")
    return model


def _scaling(numeric: list, normalize: str) -> tuple[list[float], list[float]] | None:
    if normalize == "none":
        return None
    if normalize == "minmax":
        offsets = [column.minimum for column in numeric]
        spreads = [column.maximum - column.minimum for column in numeric]
        variances = [spread**2 if spread > 0 else 1.0 for spread in spreads]
    else:
        offsets = [column.mean for column in numeric]
        variances = [column.variance if column.variance > 0 else 1.0 for column in numeric]
    return offsets, variances


def encode(preprocessing: keras.Model, raw: Mapping[str, np.ndarray]) -> np.ndarray:
    """Runs the preprocessing over raw columns, `ENCODE_ROWS` rows at a time, with TensorFlow ops.

    Args:
        preprocessing: The model from `build_preprocessing` (or `split_raw_model`).
        raw: The raw input dict (see `kerasforge.data.column_statistics`).

    Returns:
        A float32 array `(rows, features)`.
    """
    rows = len(next(iter(raw.values())))
    width = preprocessing.output.shape[-1]
    if rows == 0:
        return np.zeros((0, width), dtype="float32")
    import tensorflow as tf

    preprocess = _graph_function(preprocessing)
    parts = [
        preprocess({name: tf.convert_to_tensor(values) for name, values in piece.items()}).numpy()
        for piece in _row_pieces(raw, rows, ENCODE_ROWS)
    ]
    return np.concatenate(parts).astype("float32")


def encoded_dataset(preprocessing: keras.Model, batches: Any) -> Any:
    """A `tf.data.Dataset` of encoded batches, the preprocessing computed with TensorFlow ops.

    Args:
        preprocessing: The model from `build_preprocessing` (or `split_raw_model`).
        batches: A `tf.data.Dataset` of raw batches, `inputs` or `(inputs, labels)`.

    Returns:
        A `tf.data.Dataset` of `(batch, features)` float32 batches (with their labels, if any).
    """
    preprocess = _graph_function(preprocessing)

    def run(inputs: Any, *labels: Any) -> Any:
        encoded = preprocess(inputs)
        return (encoded, *labels) if labels else encoded

    return batches.map(run)


# One traced TensorFlow function per preprocessing model, reused by every call of `encode` (each
# split, each chunk of a stream) and every dataset of `encoded_dataset`.
_GRAPH_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Preprocess:
    """Calls a preprocessing model's layers with TensorFlow ops, holding the model weakly.

    A callable object, not a closure: TensorFlow counts traces per code object,
    so one closure per model read as one function retraced for every run of a
    process ("5 out of the last 5 calls ... triggered tf.function retracing")
    and warned. Weakly: `_GRAPH_FUNCTIONS` holds this object, and a value that
    held its key would keep every run's model alive for the life of the process.
    """

    def __init__(self, preprocessing: keras.Model) -> None:
        self._preprocessing = weakref.ref(preprocessing)

    def __call__(self, inputs: Any) -> Any:
        import tensorflow as tf

        # Keras's preprocessing layers switch to TensorFlow ops inside a TensorFlow graph; the
        # functional model's own call would convert the inputs to the backend's tensors first.
        columns = {name: tf.reshape(values, (-1, 1)) for name, values in inputs.items()}
        return call_layers_on(self._preprocessing(), columns)


def _graph_function(preprocessing: keras.Model) -> Any:
    """The preprocessing as a `tf.function` of `{column: (batch,) tensor}`: TensorFlow ops on any backend."""
    import tensorflow as tf

    function = _GRAPH_FUNCTIONS.get(preprocessing)
    if function is None:
        function = tf.function(_Preprocess(preprocessing), reduce_retracing=True)
        _GRAPH_FUNCTIONS[preprocessing] = function
    return function


def split_raw_model(model: keras.Model) -> tuple[keras.Model, keras.Model]:
    """A raw-rows model's two parts: raw columns -> `encoded`, and `encoded` -> predictions.

    The layers are the model's own (shared). The network part keeps the
    model's compile settings, so it can `evaluate`.

    Args:
        model: A model from `raw_model` (a run's `model.keras`).

    Returns:
        `(preprocessing, network)`, two `keras.Model`s.
    """
    boundary = model.get_layer(ENCODED).output
    with column_keyed_inputs():
        preprocessing = keras.Model(model.input, boundary, name="preprocessing")
    network = keras.Model(boundary, model.output, name="network")
    config = model.get_compile_config() if model.compiled else None
    if config is not None:
        network.compile_from_config(config)
    return preprocessing, network


# A model's two parts, split once: splitting builds two new Keras models, so a caller predicting in
# a loop would trace a new predict function every call (0.3-0.4 s for 5 rows of digits, and Keras's
# "triggered tf.function retracing" warning from the 5th call). The parts hold the model's layers,
# not the model, so the cache does not keep a model alive.
_SPLIT_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predict_rows(model: keras.Model, raw: Mapping[str, np.ndarray], batch_size: int = 4096) -> np.ndarray:
    """A raw-rows model's predictions for raw columns, on any backend.

    Equal to `model.predict(raw)` on TensorFlow; on JAX and torch, whose
    tensors cannot hold strings, the only way to feed text columns.

    Args:
        model: A model from `raw_model`, e.g. `keras.saving.load_model("runs/wine/model.keras")`.
        raw: The raw input dict: one 1-D array per feature column, float32 with
            NaN for missing, or strings (dtype object) with `""` for missing.
        batch_size: Integer. Rows per batch.

    Returns:
        The predictions as a NumPy array, one row per input row.

    Example:

    ```python
    import kerasforge, keras, numpy as np
    from kerasforge.recipes import predict_rows

    model = keras.saving.load_model("runs/wine/model.keras")
    predict_rows(model, {"alcohol": np.array([12.1], "float32"), "region": np.array(["north"], object)})
    ```
    """
    parts = _SPLIT_MODELS.get(model)
    if parts is None:
        parts = _SPLIT_MODELS[model] = split_raw_model(model)
    return predict_parts(parts, raw, batch_size)


def predict_parts(
    parts: tuple[keras.Model, keras.Model], raw: Mapping[str, np.ndarray], batch_size: int = 4096
) -> np.ndarray:
    """`predict_rows` with the model already split (`split_raw_model`), for many calls on one model.

    Rows that fit in one batch go through the network in one direct call, as
    Keras advises for small inputs: `predict` sets up a data pipeline and a
    loop around that same call. More rows are encoded and predicted
    `ENCODE_ROWS` at a time, so memory stays bounded: encoded as whole arrays,
    not sliced row by row into a `tf.data` pipeline, which took most of the
    time of a large file's predictions (see `benchmarks/predict_file.py`).
    """
    preprocessing, network = parts
    rows = len(next(iter(raw.values()))) if raw else 0
    if rows == 0:
        return np.zeros((0, *network.output.shape[1:]), dtype="float32")
    if rows <= batch_size:
        return np.asarray(keras.ops.convert_to_numpy(network(encode(preprocessing, raw), training=False)))
    return np.concatenate(
        [
            network.predict(encode(preprocessing, piece), batch_size=batch_size, verbose=0)
            for piece in _row_pieces(raw, rows, ENCODE_ROWS)
        ]
    )


def _row_pieces(raw: Mapping[str, np.ndarray], rows: int, size: int) -> Iterator[dict[str, np.ndarray]]:
    for start in range(0, rows, size):
        yield {name: values[start : start + size] for name, values in raw.items()}


def raw_model(preprocessing: keras.Model, network: keras.Model, class_names: list | None) -> keras.Model:
    """The model a run saves: raw columns -> preprocessing -> the trained network (-> class names).

    The layers are the trained ones (shared, not copied), and the model is
    flat: `get_layer("hidden_1")` finds the network's layer. For classification
    a `ClassNames` layer named `class_names` ends the model: the predictions
    pass through unchanged and its config holds the names.

    Args:
        preprocessing: The model from `build_preprocessing`.
        network: The trained network on encoded features.
        class_names: Sorted class names, or None for regression.

    Returns:
        A `keras.Model` taking the raw input dict.
    """
    outputs = call_layers_on(network, preprocessing.output)
    if class_names is not None:
        outputs = ClassNames(class_names, name="class_names")(outputs)
    with column_keyed_inputs():
        return keras.Model(preprocessing.input, outputs, name="raw_rows_model")
