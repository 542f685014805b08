"""Installed as `kerasforge.vocabulary`: the words and numbers every layer shares, without Keras.

The log keys the callbacks write (`log_keys`), the thresholds that decide when
training looks unhealthy (`health_thresholds`), the kinds of problem
(`HealthKind`) and whether a metric improves going down or up
(`metric_direction`). The callbacks write them and re-export them; the recipe
schema, the diagnosis, the reports and the tuner read them. They import no
Keras backend, so `kerasforge validate` can check a recipe's early-stopping
monitor against the keys a run will log in a fraction of a second.
"""

from kerasforge.vocabulary import health_thresholds, log_keys
from kerasforge.vocabulary.health_kinds import HealthKind
from kerasforge.vocabulary.metric_direction import metric_direction

__all__ = ["HealthKind", "health_thresholds", "log_keys", "metric_direction"]
