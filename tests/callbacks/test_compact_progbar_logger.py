import keras
import numpy as np

from kerasforge.callbacks import CompactProgbarLogger


class SlashKeys(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["grad_norm/dense"] = 1.0


def test_progress_line_hides_per_layer_keys_but_history_keeps_them(capsys):
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="dense")])
    model.compile("sgd", "mse")
    history = model.fit(x, x[:, :1], epochs=2, verbose=2, callbacks=[SlashKeys(), CompactProgbarLogger()])
    printed = capsys.readouterr().out
    assert "loss:" in printed
    assert "grad_norm/dense" not in printed
    assert history.history["grad_norm/dense"] == [1.0, 1.0]
