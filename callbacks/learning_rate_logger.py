"""Puts the learning rate in use into the epoch logs."""

from __future__ import annotations

from typing import Any

import keras

from kerasforge.vocabulary.log_keys import LEARNING_RATE

from ._config import ConfigFromInit


class LearningRateLogger(ConfigFromInit, keras.callbacks.Callback):
    """Adds the optimizer's current learning rate to the epoch logs.

    Writes `learning_rate` into the epoch `logs`, so `History`, `CSVLogger`
    and `TensorBoard` record it next to the loss. The value is the rate the
    optimizer uses for its next step (with a schedule: the schedule at the
    current iteration), the same value Keras's `TensorBoard` and
    `ReduceLROnPlateau` report. If another callback already put
    `learning_rate` in the logs, that value is kept. A `LossScaleOptimizer`
    reports its inner optimizer's rate.

    Example:

    ```python
    history = model.fit(x, y, epochs=3, callbacks=[LearningRateLogger()])
    history.history["learning_rate"]
    ```
    """

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None or LEARNING_RATE in logs:
            return
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        rate = getattr(optimizer, "learning_rate", None)
        if rate is not None:
            logs[LEARNING_RATE] = float(keras.ops.convert_to_numpy(rate))
