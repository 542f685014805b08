"""Installed as `kerasforge.data`: sources, validation, splitting, normalization and batches for `fit`.

Knows nothing of recipes: plain arguments in, arrays, `tf.data` pipelines or
`PyDataset`s out.
"""

from kerasforge.data.encode_target import encode_target
from kerasforge.data.load_frame import load_frame
from kerasforge.data.make_dataset import make_dataset
from kerasforge.data.split_indices import split_indices
from kerasforge.data.updates_per_epoch import updates_per_epoch

__all__ = [
    "encode_target",
    "load_frame",
    "make_dataset",
    "split_indices",
    "updates_per_epoch",
]
