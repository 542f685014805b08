"""A progress bar that hides per-layer diagnostics."""

import keras


class CompactProgbarLogger(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, without the per-layer keys the monitors log.

    `GradientNormMonitor` and `ActivationMonitor` put a dozen or more keys
    such as `grad_norm/hidden_1` into the epoch logs. History, CSVLogger and
    TensorBoard should record them, but a progress line carrying all of them
    is unreadable. This logger shows every key except those containing a
    `/`; pass it in `callbacks=` and Keras uses it instead of its own bar.

    Example:

    ```python
    model.fit(x, y, epochs=5, callbacks=[GradientNormMonitor(), CompactProgbarLogger()])
    ```
    """

    @staticmethod
    def _visible(logs):
        if not logs:
            return logs
        return {key: value for key, value in logs.items() if "/" not in key}

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, self._visible(logs))

    def on_test_batch_end(self, batch, logs=None):
        super().on_test_batch_end(batch, self._visible(logs))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, self._visible(logs))

    def on_test_end(self, logs=None):
        super().on_test_end(self._visible(logs))
