"""A progress bar that hides per-layer diagnostics."""

from __future__ import annotations

from typing import Any

import keras

from kerasforge.vocabulary.log_keys import is_per_layer_key


class CompactProgbarLogger(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, without the per-layer keys the monitors log.

    `GradientNormMonitor` and `ActivationMonitor` put a dozen or more keys
    such as `grad_norm/hidden_1` into the epoch logs. History, CSVLogger and
    TensorBoard should record them, but a progress line carrying all of them
    is unreadable. This logger shows every key except the per-layer keys of
    `log_keys` (`log_keys.is_per_layer_key`); pass it in `callbacks=` and
    Keras uses it instead of its own bar.

    Example:

    ```python
    model.fit(x, y, epochs=5, callbacks=[GradientNormMonitor(), CompactProgbarLogger()])
    ```
    """

    @staticmethod
    def _visible(logs: dict[str, Any] | None) -> dict[str, Any] | None:
        if not logs:
            return logs
        return {key: value for key, value in logs.items() if not is_per_layer_key(key)}

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_train_batch_end(batch, self._visible(logs))

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_test_batch_end(batch, self._visible(logs))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch, self._visible(logs))

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        super().on_test_end(self._visible(logs))
