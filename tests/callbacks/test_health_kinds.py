"""HealthKind: one word per problem, usable as a plain string."""

import json

import pytest

from kerasforge.vocabulary import HealthKind, health_thresholds


def test_kinds_are_plain_strings_in_json():
    assert HealthKind.DEAD_UNITS == "dead_units"
    assert json.dumps({"kind": HealthKind.VANISHING}) == '{"kind": "vanishing"}'
    assert str(HealthKind.NON_FINITE) == "non_finite"


@pytest.mark.parametrize("kind", list(HealthKind))
def test_every_kind_has_a_remedy(kind):
    assert len(kind.remedy) > 20


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="'dead_relu' is not a valid HealthKind"):
        HealthKind("dead_relu")


def test_thresholds_are_the_monitors_defaults():
    from kerasforge.callbacks import ActivationMonitor, GradientNormMonitor

    gradients = GradientNormMonitor().get_config()
    assert gradients["vanishing_ratio"] == health_thresholds.VANISHING_RATIO == 1e-3
    assert gradients["patience"] == health_thresholds.VANISHING_PATIENCE
    activations = ActivationMonitor(probe_data=[[0.0]]).get_config()
    assert activations["dead_threshold"] == health_thresholds.DEAD_THRESHOLD
    assert activations["saturation_margin"] == health_thresholds.SATURATION_MARGIN
