"""Installed as `kerasforge.callbacks`: training-health callbacks and learning-rate schedules.

Depends on keras only, so it can be copied into any Keras 3 project. Importing
it registers the schedules with Keras, so `keras.models.load_model` restores a
model compiled with one without `custom_objects`.
"""

from ._health_events import TrainingHealthError
from .activation_monitor import ActivationMonitor
from .compact_progbar_logger import CompactProgbarLogger
from .early_stopping import EarlyStopping
from .gradient_norm_monitor import GradientNormMonitor
from .learning_rate_finder import LearningRateFinder
from .learning_rate_logger import LearningRateLogger
from .learning_rate_scaling import scale_learning_rate
from .one_cycle_schedule import OneCycleSchedule
from .warmup_decay_schedule import WarmupDecaySchedule

__all__ = [
    "ActivationMonitor",
    "CompactProgbarLogger",
    "EarlyStopping",
    "GradientNormMonitor",
    "LearningRateFinder",
    "LearningRateLogger",
    "OneCycleSchedule",
    "TrainingHealthError",
    "WarmupDecaySchedule",
    "scale_learning_rate",
]
