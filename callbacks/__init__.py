"""Installed as `kerasforge.callbacks`: training-health callbacks and learning-rate schedules.

Depends on keras only, so it can be used in any Keras 3 project. Importing
it registers the schedules with Keras, so `keras.models.load_model` restores a
model compiled with one without `custom_objects`.

The vocabularies the callbacks write are re-exported from `kerasforge.vocabulary`
(which imports no Keras), for code that reads a run back: `log_keys` (make and
parse `grad_norm/<layer>` and friends), `health_thresholds` (the monitors'
default thresholds, with why), `HealthKind` (the kinds of event) and
`metric_direction`.
"""

from kerasforge.vocabulary import HealthKind, health_thresholds, log_keys, metric_direction

from ._health_events import TrainingHealthError
from .activation_monitor import ActivationMonitor
from .compact_progbar_logger import CompactProgbarLogger
from .early_stopping import EarlyStopping
from .gradient_norm_monitor import GradientNormMonitor
from .learning_rate_finder import LearningRateFinder, LearningRateRange
from .learning_rate_logger import LearningRateLogger
from .learning_rate_scaling import scale_learning_rate
from .one_cycle_schedule import OneCycleSchedule
from .trial_pruner import TrialPruner
from .warmup_decay_schedule import WarmupDecaySchedule

__all__ = [
    "ActivationMonitor",
    "CompactProgbarLogger",
    "EarlyStopping",
    "GradientNormMonitor",
    "HealthKind",
    "LearningRateFinder",
    "LearningRateLogger",
    "LearningRateRange",
    "OneCycleSchedule",
    "TrainingHealthError",
    "TrialPruner",
    "WarmupDecaySchedule",
    "health_thresholds",
    "log_keys",
    "metric_direction",
    "scale_learning_rate",
]
