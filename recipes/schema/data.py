"""The `data:` section of a recipe."""

from typing import Literal

from pydantic import Field, model_validator

from kerasforge.recipes.schema.base import Int32, NonNegativeFloat, PositiveFloat, StrictModel

# Synthetic data is drawn in memory as float64: 100 million values is 800 MB.
MAX_SYNTHETIC_VALUES = 100_000_000


class SyntheticSection(StrictModel):
    """Shape of generated data when `data.source` is `synthetic`."""

    rows: Int32 = Field(1000, ge=10, description="Number of rows to generate.")
    features: Int32 = Field(20, ge=1, description="Number of feature columns.")
    informative: Int32 | None = Field(
        None, ge=1, description="Informative features (default: all, or half for classification)."
    )
    classes: Int32 = Field(3, ge=2, description="Classes for a multiclass task (binary uses 2).")
    noise: NonNegativeFloat = Field(
        0.1,
        description="Regression: std of Gaussian noise on the target. "
        "Classification: fraction of labels flipped at random.",
    )
    target_scale: PositiveFloat = Field(
        1.0,
        description="Regression: multiply the target by this (1000 gives a target in the thousands, "
        "as prices are), to study `data.scale_target`.",
    )

    @model_validator(mode="after")
    def _fits_in_memory(self):
        if self.rows * self.features > MAX_SYNTHETIC_VALUES:
            raise ValueError(
                f"rows x features must be at most {MAX_SYNTHETIC_VALUES:,} values "
                f"({MAX_SYNTHETIC_VALUES * 8 // 10**6:,} MB). "
                f"Received: rows={self.rows}, features={self.features}"
            )
        return self


class SplitSection(StrictModel):
    """Fractions of the rows that go to the train, validation and test splits."""

    train: float = Field(0.7, gt=0.0, lt=1.0, description="Fraction of rows used for training.")
    val: float = Field(0.15, ge=0.0, lt=1.0, description="Fraction of rows used for validation.")
    test: float = Field(0.15, ge=0.0, lt=1.0, description="Fraction of rows held out for the test.")

    @model_validator(mode="after")
    def _fractions_sum_to_one(self):
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"train + val + test must sum to 1. Received: train={self.train}, "
                f"val={self.val}, test={self.test} (sum {total:g})"
            )
        return self


class DataSection(StrictModel):
    """Where the rows come from and how they are split, encoded and scaled."""

    source: str = Field(
        "digits",
        description="A scikit-learn bundled dataset (digits, iris, wine, breast_cancer, "
        "diabetes), `synthetic`, a path to a .csv or .parquet file, a folder of Parquet (or CSV) "
        "shards, or a glob such as `data/part-*.csv`.",
    )
    target: str | None = Field(
        None, description="Target column. Defaults to `target` for bundled and synthetic data."
    )
    features: list[str] | None = Field(
        None, description="Feature columns to use. Defaults to every column but the target."
    )
    synthetic: SyntheticSection = Field(
        default_factory=SyntheticSection, description="Used only when source is `synthetic`."
    )
    split: SplitSection = Field(default_factory=SplitSection, description="Split fractions.")
    stratify: bool | None = Field(
        None, description="Keep class proportions in every split. Defaults to true for classification."
    )
    max_train_rows: Int32 | None = Field(
        None,
        ge=1,
        description="Keep only this many training rows (after splitting), to study small data.",
    )
    normalize: Literal["standard", "minmax", "none"] = Field(
        "standard", description="Input scaling, fitted on the train split only."
    )
    scale_target: bool = Field(
        False,
        description="Regression: the network predicts the target standardised by the training rows' "
        "mean and std, and its last layer (`target_scale`, a Keras `Rescaling`) maps that back, so "
        "predictions, losses and metrics stay in the target's units. For a target whose std is in "
        "the thousands, which a network started near zero learns slowly (see the README).",
    )
    categorical: Literal["onehot", "error"] = Field(
        "onehot", description="What to do with non-numeric columns."
    )
    missing: Literal["error", "mean", "median"] = Field(
        "error", description="What to do with missing values: refuse, or impute from the train split."
    )
    stream: Literal["auto"] | bool = Field(
        "auto",
        description="Read the source in chunks, in bounded memory, instead of loading it whole. "
        "`auto` streams a folder, a glob, or a file larger than the in-memory threshold "
        "(see the README); `true` streams any file, `false` loads it whole.",
    )
    shuffle_buffer: Int32 | None = Field(
        None,
        ge=1,
        description="Streaming only: rows held and permuted to shuffle the stream "
        "(default: the stream's own, see the README).",
    )
    row_key: str | None = Field(
        None,
        description="Streaming only: a column that identifies each row, hashed to pick its split, so "
        "the split survives renamed or re-written shards. Default: the shard's path and row number.",
    )
    na_values: list[str] = Field(
        default_factory=list,
        description="Extra strings that mean 'missing' in a .csv or .parquet file, e.g. ['?', 'n/a'] "
        "(pandas' own NA strings such as '' and 'NA' always count). Then set `missing` to impute them.",
    )

    @model_validator(mode="after")
    def _streams_a_file(self):
        from kerasforge.data.load_frame import BUNDLED

        if self.source in (*BUNDLED, "synthetic") and self.stream is True:
            raise ValueError(
                f"`stream: true` needs a file, folder or glob source; {self.source!r} is generated in "
                "memory. Set stream: auto or false."
            )
        if self.stream is False:
            for key in ("shuffle_buffer", "row_key"):
                if getattr(self, key) is not None:
                    raise ValueError(
                        f"`{key}` applies only to a streamed source, and stream is false. "
                        f"Received: {key}={getattr(self, key)!r}. Remove it or set stream: true."
                    )
        return self
