"""The public names of kerasforge.callbacks: explicit, sorted, all importable."""

import kerasforge.callbacks as callbacks


def test_all_is_sorted_and_every_name_resolves():
    assert callbacks.__all__ == sorted(callbacks.__all__)
    for name in callbacks.__all__:
        assert getattr(callbacks, name) is not None
    assert {"HealthKind", "LearningRateRange", "log_keys", "health_thresholds"} <= set(dir(callbacks))
