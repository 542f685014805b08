"""Seeding for reproducible runs."""

import keras


def set_global_seed(seed: int) -> None:
    """Seeds Python, NumPy and the backend, and makes TensorFlow ops deterministic.

    The same recipe and seed on the same machine then give the same history.
    """
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
