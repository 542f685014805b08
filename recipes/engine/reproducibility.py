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


def limit_threads(threads: int) -> None:
    """Caps TensorFlow's intra- and inter-op thread pools, before its first op.

    Several training processes on one machine each take their share of the
    cores this way, instead of all of them each.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
