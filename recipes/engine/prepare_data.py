"""Turning a recipe's `data:` section into train, validation and test arrays."""

from dataclasses import dataclass, field

import numpy as np

from kerasforge.data import TabularPreprocessor, encode_target, load_frame, split_indices
from kerasforge.errors import DataError
from kerasforge.recipes.schema.recipe import Recipe


@dataclass
class PreparedData:
    """Arrays ready for `fit`, plus what is needed to describe them.

    Attributes:
        x_train, y_train, x_val, y_val, x_test, y_test: float32 inputs and
            encoded targets for each split (`x_val` has zero rows when the
            recipe's `val` fraction is 0).
        feature_names: Names of the model inputs after encoding.
        class_names: Class labels for classification, else None.
        task: `regression`, `binary` or `multiclass`.
        preprocessor: The fitted `TabularPreprocessor`.
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
    preprocessor: TabularPreprocessor | None = field(default=None, repr=False)

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


def prepare_data(recipe: Recipe) -> PreparedData:
    """Loads, checks, splits, encodes and scales the recipe's data.

    Scaling statistics and imputation values are fitted on the train split
    only, so nothing leaks from validation or test rows.

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
    train_rows = indices["train"]
    if section.max_train_rows is not None:
        train_rows = train_rows[: section.max_train_rows]
    inputs = frame.drop(columns=[target])
    preprocessor = TabularPreprocessor(
        features=section.features,
        normalize=section.normalize,
        categorical=section.categorical,
        missing=section.missing,
    ).fit(inputs.iloc[train_rows])

    def rows(selected):
        return preprocessor.transform(inputs.iloc[selected]), y[selected]

    x_train, y_train = rows(train_rows)
    x_val, y_val = rows(indices["val"])
    x_test, y_test = rows(indices["test"])
    return PreparedData(
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        x_test=x_test,
        y_test=y_test,
        feature_names=list(preprocessor.output_feature_names_),
        task=task,
        class_names=class_names,
        preprocessor=preprocessor,
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
    from kerasforge.recipes.schema.loading import apply_overrides

    prepared: dict[str, PreparedData] = {}
    summary = ""
    for name, overrides in {"": {}, **recipe.variants}.items():
        variant = apply_overrides(recipe, overrides, origin=f"variants.{name}") if name else recipe
        key = variant.data.model_dump_json() + variant.model.task + str(variant.seed)
        if key not in prepared:
            prepared[key] = prepare_data(variant)
        data = prepared[key]
        estimate = check_model_memory(
            variant, data.input_dim, data.output_units, rows=len(data.x_train) + len(data.x_val)
        )
        if not name:
            summary = (
                f"{len(data.x_train)}/{len(data.x_val)}/{len(data.x_test)} train/val/test rows, "
                f"{data.input_dim} inputs, {data.output_units} outputs; "
                f"{estimate.weights:,} weights, about {format_bytes(estimate.total_bytes)} to train"
            )
    return summary
