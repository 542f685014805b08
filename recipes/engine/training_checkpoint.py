"""Each epoch's whole training state, written atomically, and read back to resume a killed run.

What a checkpoint holds, after each complete epoch:

- every model variable (weights, BatchNormalization statistics, and the
  `SeedGenerator` states that Dropout and noise layers draw from);
- every optimizer variable (the iteration count, which also drives a
  learning-rate schedule, and the slots, e.g. Adam's moments);
- the state of the recipe's callbacks (`CALLBACK_STATE`): EarlyStopping's
  best value, wait and best weights, the monitors' events, history and rules;
- the epoch logs so far (the `History`), whether a callback stopped
  training, and Python's and NumPy's random states.

The data order needs no state: `make_epoch_dataset` draws every epoch's
order from (seed, epoch). Variables are read and assigned through Keras's
backend-neutral variable API (`keras.ops.convert_to_numpy`, `assign`), so
the same code serves TensorFlow, JAX and PyTorch.

The file is NumPy's `.npz` of the arrays plus one pickled record, written by
`checkpoint_files.write_atomically` (temporary file, fsync, rename, digest).
Keras's `BackupAndRestore` differs in three ways this module fixes: it
writes its files in place, so a kill during the write leaves a checkpoint
that cannot load (keras-team/keras#20463); it saves no callback state, so
EarlyStopping starts its patience again; and it can load optimizer
variables only into a built optimizer (keras-team/keras#19389).
"""

from __future__ import annotations

import io
import pickle
import random
import shlex
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kerasforge import _keras_compat
from kerasforge.callbacks import ActivationMonitor, EarlyStopping, GradientNormMonitor
from kerasforge.errors import RunDirError
from kerasforge.recipes.engine import checkpoint_files
from kerasforge.recipes.engine.checkpoint_files import CHECKPOINT_FOLDER, RECIPE_FILE, checkpoint_file_name

# The attributes that make up each callback's training state. A callback resets them in
# on_train_begin; a resumed run sets them back right after.
CALLBACK_STATE: dict[type, tuple[str, ...]] = {
    EarlyStopping: ("wait", "best", "best_epoch", "best_weights", "stopped_epoch", "stop_reason"),
    GradientNormMonitor: ("events", "history", "_rules"),
    ActivationMonitor: ("events", "history", "_fired"),
}
_FORMAT = 1


def _state_attributes(callback: Any) -> tuple[str, ...]:
    for kind, attributes in CALLBACK_STATE.items():
        if isinstance(callback, kind):
            return attributes
    return ()


def _signature(variables: list) -> list[tuple[str, tuple[int, ...]]]:
    return [(variable.path, tuple(variable.shape)) for variable in variables]


class TrainingCheckpoint(keras.callbacks.Callback):
    """Writes a checkpoint at each epoch's end, and restores one when training begins.

    Put it after the callbacks whose state it saves (it reads their state at
    epoch end and sets it back after their `on_train_begin`). Use
    `open_checkpoint` to make one for a run folder.

    Args:
        staging: The run's staging folder; checkpoints go to its
            `checkpoint/` folder.
        callbacks: The callbacks whose state (`CALLBACK_STATE`) to save.
        restored: The record of the checkpoint to resume from, or None to
            start afresh.
        arrays: The arrays of that checkpoint (`model/I`, `optimizer/I`).

    Example:

    ```python
    checkpoint = open_checkpoint(recipe_to_yaml(recipe), staging, run_dir, callbacks, resume=True)
    fit_model(recipe, model, data, [*callbacks, checkpoint], **checkpoint.fit_arguments())
    ```
    """

    def __init__(self, staging: Path, callbacks: list, restored: dict | None = None, arrays=None):
        super().__init__()
        self.folder = Path(staging) / CHECKPOINT_FOLDER
        self.watched = list(callbacks)
        self._restored = restored
        self._arrays = arrays
        self.initial_epoch = 0 if restored is None else restored["epochs_done"]
        earlier = {} if restored is None else restored["history"]
        self._history: dict[str, list] = {key: list(values) for key, values in earlier.items()}

    def fit_arguments(self) -> dict[str, int]:
        """`initial_epoch` for `fit`, and `epochs` too when a callback had already stopped the run."""
        if self._restored is not None and self._restored["stopped"]:
            return {"initial_epoch": self.initial_epoch, "epochs": self.initial_epoch}
        return {"initial_epoch": self.initial_epoch}

    # Saving.

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for key, value in (logs or {}).items():
            self._history.setdefault(key, []).append(value)
        kill_halfway = checkpoint_files.test_kill_wanted("checkpoint_write", epoch)
        self.save(epoch + 1, kill_halfway=kill_halfway)
        if checkpoint_files.test_kill_wanted("after_checkpoint", epoch):
            checkpoint_files.kill_for_test()

    def save(self, epochs_done: int, kill_halfway: bool = False) -> Path:
        """Writes the checkpoint of `epochs_done` complete epochs; returns its path."""
        _keras_compat.sync_training_state(self.model)
        optimizer = self.model.optimizer
        record = {
            "format": _FORMAT,
            "epochs_done": epochs_done,
            "stopped": bool(self.model.stop_training),
            "history": self._history,
            "callbacks": [
                {name: getattr(callback, name, None) for name in _state_attributes(callback)}
                for callback in self.watched
            ],
            "model_variables": _signature(self.model.variables),
            "optimizer_variables": _signature(optimizer.variables),
            "python_random": random.getstate(),
            "numpy_random": np.random.get_state(),
        }
        arrays = {
            f"model/{index}": keras.ops.convert_to_numpy(variable)
            for index, variable in enumerate(self.model.variables)
        }
        for index, variable in enumerate(optimizer.variables):
            arrays[f"optimizer/{index}"] = keras.ops.convert_to_numpy(variable)
        arrays["record"] = np.frombuffer(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL), np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        path = self.folder / checkpoint_file_name(epochs_done)
        checkpoint_files.write_atomically(path, buffer.getvalue(), kill_halfway=kill_halfway)
        checkpoint_files.prune(self.folder.parent)
        return path

    # Restoring.

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self._restored is None:
            return
        record, arrays = self._restored, self._arrays
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        for kind, variables in (("model", self.model.variables), ("optimizer", optimizer.variables)):
            if record[f"{kind}_variables"] != _signature(variables):
                raise RunDirError(
                    f"the checkpoint in {str(self.folder)!r} does not fit this model: its {kind} variables "
                    "differ (a different kerasforge or Keras version?); start afresh with --fresh"
                )
            for index, variable in enumerate(variables):
                variable.assign(arrays[f"{kind}/{index}"])
        for callback, state in zip(self.watched, record["callbacks"], strict=True):
            for name, value in state.items():
                setattr(callback, name, value)
        random.setstate(record["python_random"])
        np.random.set_state(record["numpy_random"])
        self.model.stop_training = record["stopped"]

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        # `fit` returns a History of the epochs it ran: put the restored ones in front.
        history = getattr(self.model, "history", None)
        if self._restored is None or not isinstance(history, keras.callbacks.History):
            return
        earlier = self._restored["history"]
        history.epoch[:0] = range(self.initial_epoch)
        for key in dict.fromkeys([*earlier, *history.history]):
            history.history[key] = list(earlier.get(key, [])) + list(history.history.get(key, []))


class _KilledMidEpoch(TrainingCheckpoint):
    """Test hook (`KERASFORGE_TEST_KILL=mid_epoch:E`): SIGKILL once half of epoch E's updates ran."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        steps = (self.params or {}).get("steps") or 0
        if batch > 0 and batch >= steps // 2 and checkpoint_files.test_kill_wanted("mid_epoch", self._epoch):
            checkpoint_files.kill_for_test()


def _read(staging: Path) -> tuple[dict | None, Any]:
    epochs_done, payload, damaged = checkpoint_files.newest_checkpoint(staging)
    if payload is None:
        if damaged:
            raise RunDirError(
                f"no checkpoint in {str(Path(staging) / CHECKPOINT_FOLDER)!r} reads back whole "
                f"({len(damaged)} damaged file(s)); start afresh with --fresh"
            )
        return None, None
    for path in damaged:
        warnings.warn(
            f"skipped the damaged checkpoint {str(path)!r}; resuming from an earlier one", stacklevel=3
        )
    try:
        arrays = dict(np.load(io.BytesIO(payload), allow_pickle=False))
        record = pickle.loads(arrays.pop("record").tobytes())
    except Exception as error:  # a digest match with bad contents: a bug, but never a silent load
        raise RunDirError(
            f"the checkpoint of epoch {epochs_done} in {str(staging)!r} cannot be read ({error}); "
            "start afresh with --fresh"
        ) from None
    if record.get("format") != _FORMAT or record.get("epochs_done") != epochs_done:
        raise RunDirError(
            f"the checkpoint of epoch {epochs_done} in {str(staging)!r} is of another format; "
            "start afresh with --fresh"
        )
    return record, arrays


def read_checkpoint(staging: Path) -> tuple[dict | None, Any]:
    """The newest checkpoint of `staging` that reads back whole, as `(record, arrays)`.

    Returns `(None, None)` when `staging` holds none. A search's promoted
    Hyperband trial continues from its parent trial's checkpoint this way.

    Raises:
        RunDirError: if every checkpoint file is damaged or unreadable.
    """
    return _read(Path(staging))


def open_checkpoint(
    recipe_yaml: str, staging: Path, run_dir: Path, callbacks: list, resume: bool, verbose: int = 0
) -> TrainingCheckpoint:
    """The checkpoint callback of a run: fresh, or resuming the newest whole checkpoint of `staging`.

    A fresh one writes the resolved recipe to `checkpoint/recipe.yaml` first,
    so `kerasforge train --resume RUN_DIR` can read it back.

    Args:
        recipe_yaml: String. The resolved recipe, as YAML.
        staging: The run's staging folder.
        run_dir: The run folder it will be published as (for messages).
        callbacks: The recipe's callbacks, whose state the checkpoint holds.
        resume: Boolean. Read the newest checkpoint that verifies, skipping
            (and logging) damaged newer ones.
        verbose: Integer. 1 says where the run resumes, or how to resume it.

    Raises:
        RunDirError: when resuming, if every checkpoint file is damaged or
            unreadable.
    """
    staging = Path(staging)
    kind = _KilledMidEpoch if checkpoint_files.test_kill_point() == "mid_epoch" else TrainingCheckpoint
    if resume:
        record, arrays = _read(staging)
        checkpoint = kind(staging, callbacks, record, arrays)
        if verbose:
            _keras_compat.print_msg(f"resuming {str(run_dir)!r} after epoch {checkpoint.initial_epoch}")
        return checkpoint
    (staging / CHECKPOINT_FOLDER).mkdir(exist_ok=True)
    recipe_path = staging / CHECKPOINT_FOLDER / RECIPE_FILE
    checkpoint_files.write_atomically(recipe_path, recipe_yaml.encode(), verified=False)
    if verbose:
        _keras_compat.print_msg(
            f"a checkpoint is taken after every epoch; if this run is killed, resume it with: "
            f"kerasforge train --resume {shlex.quote(str(run_dir))}"
        )
    return kind(staging, callbacks)
