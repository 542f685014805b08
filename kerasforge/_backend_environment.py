"""Environment defaults the Keras backends read once, at import: set before the first backend import.

* `TF_CPP_MIN_LOG_LEVEL=2`: fewer TensorFlow C++ log lines to filter.
* `OMP_WAIT_POLICY=PASSIVE`: torch's OpenMP threads sleep between ops instead
  of spinning. A recipe's small layers finish in microseconds, so on a busy
  machine the spinning threads steal the cores the next op needs: measured on
  digits_mlp with torch on two shared cores, an epoch took 8 to 16 s with the
  default policy and 0.1 to 0.3 s with `PASSIVE`. Neither TensorFlow nor JAX
  uses OpenMP's pool for these ops.

Each is a default: a value already in the environment wins.
"""

import os

BACKEND_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "OMP_WAIT_POLICY": "PASSIVE",
}


def set_backend_environment() -> None:
    """Sets each of `BACKEND_ENVIRONMENT` not already set. Call before importing keras.

    Example:

    ```python
    set_backend_environment()
    import keras
    ```
    """
    for name, value in BACKEND_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
