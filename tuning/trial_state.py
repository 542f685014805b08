"""A Hyperband trial's whole training state, so a promoted trial goes on exactly where its parent stopped.

KerasTuner's Hyperband continues a promoted trial from its parent's
best-epoch weights alone: the optimizer starts again (Keras warns "Skipping
variable loading for optimizer"), early stopping forgets its patience, and
the weights are those of the parent's best epoch, not its last. So a trial
promoted to epoch e is not what `kerasforge train` of its best recipe (e
epochs from scratch) runs, and the score the search records does not
reproduce.

Here every Hyperband trial writes its training state after each epoch
(`TrainingCheckpoint`: weights, optimizer slots and step, the recipe
callbacks' state, the random states, the history), into `checkpoint/` of
its KerasTuner trial folder, and a promoted trial starts from its parent's
newest one. The data order of every epoch is a function of (seed, epoch)
(`make_epoch_dataset`), so training to epoch e in rounds is training to
epoch e at once, and the trial's score (the best value over epochs 1 to e,
since the history it returns starts at epoch 1) is what a retrain reaches.
"""

import shutil
from pathlib import Path

import keras_tuner as kt

from kerasforge.errors import RunDirError
from kerasforge.recipes.engine.checkpoint_files import CHECKPOINT_FOLDER
from kerasforge.recipes.engine.training_checkpoint import TrainingCheckpoint, read_checkpoint


def trial_checkpoint(trial_dir, parent_dir, callbacks: list) -> TrainingCheckpoint:
    """The checkpoint callback of a Hyperband trial: fresh, or continuing its parent trial.

    Args:
        trial_dir: The trial's KerasTuner folder; its state goes to
            `checkpoint/` there (a trial that runs again starts it afresh).
        parent_dir: The folder of the trial it continues, or None.
        callbacks: The recipe callbacks whose state the checkpoint holds.

    Raises:
        keras_tuner.errors.FailedTrialError: if the parent left no whole
            training state (the trial fails with that reason; the search goes on).

    Example:

    ```python
    checkpoint = trial_checkpoint(trial_dir, parent_dir, recipe_callbacks)
    fit_model(recipe, model, data, [*recipe_callbacks, checkpoint], **checkpoint.fit_arguments())
    ```
    """
    folder = Path(trial_dir) / CHECKPOINT_FOLDER
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if parent_dir is None:
        return TrainingCheckpoint(trial_dir, callbacks)
    try:
        record, arrays = read_checkpoint(parent_dir)
    except RunDirError as error:
        raise kt.errors.FailedTrialError(f"cannot continue the parent trial: {error}") from None
    if record is None:
        raise kt.errors.FailedTrialError(
            f"cannot continue the parent trial: {str(parent_dir)!r} holds no training state"
        )
    return TrainingCheckpoint(trial_dir, callbacks, record, arrays)
