"""Turning a recipe's `data:` section into train, validation and test arrays."""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kerasforge.data import encode_target, load_frame, make_dataset, split_indices
from kerasforge.data._column_counts import describe_counts, nonfinite_counts
from kerasforge.data.column_kinds import CATEGORICAL, NUMERIC
from kerasforge.data.column_statistics import MAX_LEVELS, ColumnStatistics, column_statistics
from kerasforge.data.model_inputs import encoded_feature_names, raw_inputs
from kerasforge.data.text_columns import check_text_columns
from kerasforge.errors import DataError
from kerasforge.recipes.schema.recipe import Recipe

SPLITS = ("train", "val", "test")


@dataclass
class PreparedData:
    """Arrays ready for `fit`, plus what is needed to describe them and to rebuild the preprocessing.

    Attributes:
        x_train, y_train, x_val, y_val, x_test, y_test: float32 encoded inputs
            and encoded targets for each split (`x_val` has zero rows when the
            recipe's `val` fraction is 0).
        feature_names: Names of the model inputs after encoding.
        class_names: Class labels for classification, else None.
        task: `regression`, `binary` or `multiclass`.
        statistics: The `ColumnStatistics` of the training rows the encoding was built from.
        normalize: The recipe's `data.normalize`.
        preprocessing: The Keras model from raw columns to `x_*` (`build_preprocessing`).
        raw: Split name -> the raw input dict of its rows (see `kerasforge.data.column_statistics`).
        stream: For a streamed source, its `StreamedSplits` (`recipes.engine.stream_data`); the
            `x_*`/`y_*` arrays then hold only a sample of each split (`SAMPLE_ROWS`), and `rows`
            and `dataset` give the whole splits.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    task: str
    class_names: list | None = None
    statistics: ColumnStatistics | None = field(default=None, repr=False)
    normalize: str = "standard"
    preprocessing: Any = field(default=None, repr=False)
    raw: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    stream: Any = field(default=None, repr=False)

    @property
    def input_dim(self) -> int:
        """Number of input features the model sees."""
        return self.x_train.shape[1]

    @property
    def output_units(self) -> int:
        """Units of the output layer: one per class for multiclass, else 1."""
        return len(self.class_names) if self.task == "multiclass" else 1

    @property
    def validation_data(self) -> tuple | None:
        """`(x_val, y_val)`, or None when there is no validation split."""
        return (self.x_val, self.y_val) if len(self.x_val) else None

    @property
    def rows(self) -> dict[str, int]:
        """Rows of each split: all of a streamed source's, not only its sample's."""
        if self.stream is not None:
            return dict(self.stream.rows)
        return {"train": len(self.x_train), "val": len(self.x_val), "test": len(self.x_test)}

    @property
    def rows_in_memory(self) -> int:
        """Training and validation rows held in memory while training: a stream holds its shuffle buffer."""
        if self.stream is not None:
            return min(self.stream.shuffle_buffer, self.stream.rows["train"])
        return len(self.x_train) + len(self.x_val)

    def dataset(
        self,
        split: str,
        batch_size: int,
        *,
        shuffle: bool = False,
        drop_remainder: bool = False,
        seed: int = 0,
        epoch_of_pass: Callable[[], int] | None = None,
        shard: tuple[int, int, int] = (1, 0, 1),
    ) -> Any:
        """One split's batches for `fit`/`evaluate`, or None when the split has no rows.

        A streamed source gives a `StreamDataset` (seeded by the recipe), arrays a
        cached, prefetched `tf.data` pipeline (`make_dataset`). With `epoch_of_pass`,
        arrays give a pipeline whose every epoch's order is drawn from (seed, epoch)
        alone (`make_epoch_dataset`), so a resumed run sees the batches it would have.
        On JAX and torch, arrays give the same batches as NumPy slices (`EpochArrays`),
        which those trainers read without a TensorFlow call per batch.
        `shard` is (processes, this process, its devices) of a JAX data-parallel run: with
        `epoch_of_pass` each process takes its share of every batch, else every process
        feeds each whole batch, split over its devices (see `batch_share`).

        Raises:
            DataError: `shard` splits a streamed source, which each process would read whole,
                or splits batches on TensorFlow.
        """
        if self.stream is not None:
            if shard[0] > 1 or shard[2] > 1:
                raise DataError(
                    "`training.distribute` on JAX cannot feed a streamed source yet: every process "
                    "would read all of it, and a short batch cannot be split over the devices. Set "
                    "data.stream: false for a file that fits in memory."
                )
            # A resumed fit starts at its `initial_epoch`, and its stream at that epoch's order.
            first_epoch = epoch_of_pass() if epoch_of_pass is not None else 0
            return self.stream.dataset(
                split, batch_size, shuffle=shuffle, drop_remainder=drop_remainder, first_epoch=first_epoch
            )
        x, y = {"train": (self.x_train, self.y_train), "val": (self.x_val, self.y_val)}.get(
            split, (self.x_test, self.y_test)
        )
        if not len(x):
            return None
        return array_batches(
            x,
            y,
            batch_size=batch_size,
            shuffle=shuffle,
            drop_remainder=drop_remainder,
            seed=seed,
            epoch_of_pass=epoch_of_pass,
            shard=shard,
        )


def array_batches(
    x: np.ndarray,
    y: np.ndarray | None,
    *,
    batch_size: int,
    shuffle: bool = False,
    drop_remainder: bool = False,
    seed: int = 0,
    epoch_of_pass: Callable[[], int] | None = None,
    shard: tuple[int, int, int] = (1, 0, 1),
) -> Any:
    """In-memory rows as the batches this process's Keras backend trains fastest on.

    TensorFlow gets a cached, prefetched `tf.data` pipeline that its `fit` runs inside
    the compiled call (`make_dataset`, or with `epoch_of_pass` `make_epoch_dataset`,
    whose every epoch's order is drawn from (seed, epoch) alone); JAX and torch get the
    same batches as NumPy slices (`EpochArrays`), which their trainers read without a
    TensorFlow call per batch. Keras's own adapter for NumPy arrays reshuffles them
    with eager TensorFlow calls every epoch: on the 1,257 rows of digits at batch 16
    that took most of an epoch's time.

    Args:
        x: Array `(rows, ...)`. Inputs.
        y: Array with `rows` entries, or None for inputs only.
        batch_size: Integer >= 1. Rows per batch.
        shuffle: Boolean. Permute the rows every epoch.
        drop_remainder: Boolean. Drop each epoch's last partial batch.
        seed: Integer >= 0. The shuffle's seed.
        epoch_of_pass: Optional callable returning the epoch a pass over the rows
            starts (a training split that a resumed run must replay exactly).
        shard: (processes, this process, its devices) of a JAX data-parallel run; see
            `PreparedData.dataset`.

    Raises:
        DataError: `shard` splits batches on TensorFlow, or a batch setting is out of
            range (see `make_epoch_dataset`).

    Example:

    ```python
    model.fit(array_batches(x, y, batch_size=32, shuffle=True), epochs=5)
    ```
    """
    # Imported here: they import Keras, which this module's callers before training need not.
    from kerasforge.data.epoch_dataset import EpochArrays, make_epoch_dataset
    from kerasforge.recipes.engine.backend_settings import backend_facts

    if not backend_facts().reads_tf_data_in_graph:
        training = epoch_of_pass is not None
        return EpochArrays(
            x,
            y,
            batch_size=batch_size,
            epoch_of_pass=epoch_of_pass,
            shuffle=shuffle,
            drop_remainder=drop_remainder,
            seed=seed,
            # Other splits' batches go whole to every process, split over its devices only: their
            # mean losses and metrics are then one process's.
            num_shards=shard[0] if training else 1,
            shard_index=shard[1] if training else 0,
            local_replicas=shard[2],
        )
    if shard != (1, 0, 1):
        raise DataError(
            f"`shard` splits batches on JAX only (TensorFlow's MirroredStrategy splits its own). "
            f"Received: shard={shard}"
        )
    if epoch_of_pass is not None:
        return make_epoch_dataset(
            x,
            y,
            batch_size=batch_size,
            epoch_of_pass=epoch_of_pass,
            shuffle=shuffle,
            drop_remainder=drop_remainder,
            seed=seed,
        )
    return make_dataset(
        x, y, batch_size=batch_size, shuffle=shuffle, drop_remainder=drop_remainder, seed=seed
    )


@dataclass
class _RawSplits:
    statistics: ColumnStatistics
    y: dict[str, np.ndarray]
    raw: dict[str, dict[str, np.ndarray]]


def _check_values(recipe: Recipe, inputs: pd.DataFrame, statistics: ColumnStatistics) -> None:
    section = recipe.data
    kinds = {column.name: column.kind for column in statistics.columns}
    categorical = [name for name, kind in kinds.items() if kind == CATEGORICAL]
    if categorical and section.categorical == "error":
        raise DataError(
            f"Non-numeric columns {', '.join(map(repr, categorical))} cannot be "
            "used with categorical: error. Set categorical: onehot to encode "
            "them, or leave them out of `features`."
        )
    numeric = [name for name, kind in kinds.items() if kind == NUMERIC]
    nan_counts, inf_counts = nonfinite_counts(inputs, numeric)
    if inf_counts:
        raise DataError(f"Infinite values in columns: {describe_counts(inf_counts)}")
    if section.missing == "error":
        nan_counts.update({c: int(n) for c in categorical if (n := inputs[c].isna().sum())})
        if nan_counts:
            raise DataError(
                f"Missing values (NaN) in columns: {describe_counts(nan_counts)}. "
                "Set missing: mean or missing: median to impute them."
            )


def _prepare_raw(recipe: Recipe) -> _RawSplits:
    """Loads, checks and splits the recipe's data; keras-free (for `check_recipe_data`)."""
    section = recipe.data
    task = recipe.model.task
    synthetic = section.synthetic
    frame, target = load_frame(
        section.source,
        target=section.target,
        task=task,
        rows=synthetic.rows,
        features=synthetic.features,
        informative=synthetic.informative,
        classes=2 if task == "binary" else synthetic.classes,
        noise=synthetic.noise,
        seed=recipe.seed,
        na_values=section.na_values,
        target_scale=synthetic.target_scale,
    )
    if section.features is not None and target in section.features:
        raise DataError(
            f"`data.features` lists the target column {target!r}; a model cannot take its own "
            f"target as an input. Remove it from features. Received: features={section.features}"
        )
    y, class_names = encode_target(frame[target], task)
    stratify = section.stratify if section.stratify is not None else task != "regression"
    split = section.split
    try:
        indices = split_indices(
            y, train=split.train, val=split.val, test=split.test, stratify=stratify, seed=recipe.seed
        )
    except DataError as error:
        if task != "regression":
            raise
        # Stratifying a numeric target keeps each distinct value's share in every split: right
        # for a few values (a digit's value), impossible for a continuous quantity.
        raise DataError(
            f"`data.stratify` is true and `model.task` is regression, so the split keeps the share of "
            f"each of the {len(np.unique(y))} distinct values of {target!r} in every split, and "
            f"cannot: {error} Set data.stratify: false for a continuous target."
        ) from None
    rows = dict(indices)
    if section.max_train_rows is not None:
        rows["train"] = rows["train"][: section.max_train_rows]
    inputs = frame.drop(columns=[target])
    check_text_columns(inputs[[c for c in section.features or inputs.columns if c in inputs.columns]])
    statistics = column_statistics(
        inputs.iloc[rows["train"]],
        section.features,
        fill="median" if section.missing == "median" else "mean",
        max_levels=MAX_LEVELS,
        seed=recipe.seed,
    )
    statistics = dataclasses.replace(statistics, target=target, task=task, class_names=class_names)
    inputs = inputs[statistics.features]
    _check_values(recipe, inputs, statistics)
    return _RawSplits(
        statistics=statistics,
        y={name: y[rows[name]] for name in SPLITS},
        raw={name: raw_inputs(inputs.iloc[rows[name]], statistics) for name in SPLITS},
    )


def prepare_data(recipe: Recipe) -> PreparedData:
    """Loads, checks, splits, encodes and scales the recipe's data.

    Column statistics (means, variances, fill values, category levels) are
    computed on the train split only, so nothing leaks from validation or test
    rows. The encoding is done by Keras preprocessing layers
    (`recipes.engine.raw_model.build_preprocessing`), the same ones the saved
    model puts in front of the network.

    Args:
        recipe: A validated recipe.

    Returns:
        A `PreparedData`.

    Raises:
        DataError: when the data cannot be used (missing file or column,
            the target listed among the features, NaN or inf values, numbers
            mixed with placeholders such as `?`, an empty table, a continuous
            target for classification, a class too small to stratify).
    """
    from kerasforge.recipes.engine.raw_model import build_preprocessing, encode
    from kerasforge.recipes.engine.stream_data import prepare_streamed_data, streams

    if streams(recipe):
        return prepare_streamed_data(recipe)
    splits = _prepare_raw(recipe)
    statistics = splits.statistics
    preprocessing = build_preprocessing(statistics, recipe.data.normalize)
    x = {name: encode(preprocessing, splits.raw[name]) for name in SPLITS}
    return PreparedData(
        x_train=x["train"],
        y_train=splits.y["train"],
        x_val=x["val"],
        y_val=splits.y["val"],
        x_test=x["test"],
        y_test=splits.y["test"],
        feature_names=encoded_feature_names(statistics),
        task=recipe.model.task,
        class_names=statistics.class_names,
        statistics=statistics,
        normalize=recipe.data.normalize,
        preprocessing=preprocessing,
        raw=splits.raw,
    )


def check_recipe_data(recipe: Recipe) -> str:
    """Checks a recipe's data, and its variants', as `train` and `compare` would, without training.

    Loads and prepares the data (files, columns, target against task, values,
    splits), then checks the model fits in memory for that input width; each
    variant that changes the recipe is checked the same way. Imports no
    TensorFlow.

    Args:
        recipe: A validated recipe.

    Returns:
        A one-line summary: rows per split, inputs, outputs and the memory estimate.

    Raises:
        DataError: as `prepare_data`.
        RecipeError: if a model would not fit in memory.
    """
    from kerasforge.recipes.engine.model_memory import check_model_memory, format_bytes
    from kerasforge.recipes.engine.stream_data import open_streamed_splits, streams
    from kerasforge.recipes.schema.loading import apply_overrides

    prepared: dict[str, Any] = {}
    summary = ""
    for name, overrides in {"": {}, **recipe.variants}.items():
        variant = apply_overrides(recipe, overrides, origin=f"variants.{name}") if name else recipe
        key = variant.data.model_dump_json() + variant.model.task + str(variant.seed)
        if key not in prepared:
            prepared[key] = open_streamed_splits(variant) if streams(variant) else _prepare_raw(variant)
        data = prepared[key]
        input_dim = len(encoded_feature_names(data.statistics))
        classes = data.statistics.class_names
        output_units = len(classes) if variant.model.task == "multiclass" and classes else 1
        if isinstance(data, _RawSplits):
            counts = [len(data.y[name]) for name in SPLITS]
            held = counts[0] + counts[1]
        else:
            counts = [data.rows[name] for name in SPLITS]
            held = min(data.shuffle_buffer, counts[0])
        estimate = check_model_memory(variant, input_dim, output_units, rows=held)
        if not name:
            summary = (
                f"{counts[0]}/{counts[1]}/{counts[2]} train/val/test rows, "
                f"{input_dim} inputs, {output_units} outputs; "
                f"{estimate.weights:,} weights, about {format_bytes(estimate.total_bytes)} to train"
            )
    return summary
