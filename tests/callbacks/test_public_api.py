"""The public names of kerasforge.callbacks: explicit, sorted, all importable."""

import os

import keras
import pytest

import kerasforge.callbacks as callbacks


def test_all_is_sorted_and_every_name_resolves():
    assert callbacks.__all__ == sorted(callbacks.__all__)
    for name in callbacks.__all__:
        assert getattr(callbacks, name) is not None
    assert {"HealthKind", "LearningRateRange", "log_keys", "health_thresholds"} <= set(dir(callbacks))


@pytest.mark.slow
def test_importing_needs_keras_only_and_imports_no_backend_keras_did_not(tmp_path):
    import subprocess
    import sys

    script = (
        "import sys, keras; before = set(sys.modules); import kerasforge.callbacks; "
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - before} & {'tensorflow', 'jax', 'torch'}))"
    )
    # Keras 3.15's numpy backend imports jax itself, so only the backend in use is checked.
    for backend in (keras.backend.backend(),):
        completed = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env={**os.environ, "KERAS_BACKEND": backend},
            cwd=tmp_path,
            check=True,
        )
        assert completed.stdout.strip().splitlines()[-1] == "[]", backend


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda nan: callbacks.EarlyStopping(min_delta=nan), "min_delta"),
        (lambda nan: callbacks.EarlyStopping(baseline=nan), "baseline"),
        (lambda nan: callbacks.GradientNormMonitor(exploding_threshold=nan), "exploding_threshold"),
        (lambda nan: callbacks.WarmupDecaySchedule(nan, decay="constant"), "peak_learning_rate"),
    ],
    ids=["min_delta", "baseline", "exploding_threshold", "peak_learning_rate"],
)
def test_a_nan_number_is_refused_where_every_comparison_with_it_would_be_false(make, name):
    with pytest.raises(ValueError, match=rf"`{name}` must be a number, not NaN. Received: {name}=nan"):
        make(float("nan"))
