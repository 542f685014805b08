"""`pretrain_autoencoder`: unsupervised pretraining of a recipe's hidden layers."""

from pathlib import Path

import keras
import numpy as np

from kerasforge._keras_compat import print_msg
from kerasforge.data.updates_per_epoch import updates_per_epoch
from kerasforge.recipes.engine.backend_settings import compile_options, save_model
from kerasforge.recipes.engine.build_network import build_network
from kerasforge.recipes.engine.prepare_data import array_batches
from kerasforge.recipes.schema.recipe import Recipe
from kerasforge.recipes.schema.training import ScheduleSection


def pretrain_autoencoder(
    recipe: Recipe,
    x_unlabelled: np.ndarray,
    path: str | Path,
    x_val: np.ndarray | None = None,
    verbose: int = 1,
) -> Path:
    """Trains an autoencoder on feature rows alone and saves it for `model.init_from`.

    The autoencoder is the recipe's own network with a linear head as wide as
    the input, trained to reproduce its input (mean squared error, the
    recipe's optimizer settings are not needed: Adam at the recipe's constant
    rate, or 1e-3). Its hidden layers keep the recipe's names (`hidden_1`,
    ...), so a recipe with `model.init_from: PATH` starts from the learnt
    encoder: pretraining on unlabelled rows, then fine-tuning on few labelled
    ones.

    Args:
        recipe: The recipe whose hidden layers are pretrained.
        x_unlabelled: Array `(rows, features)` of scaled training inputs.
        path: Where to save the autoencoder (`.keras`).
        x_val: Optional rows to watch the reconstruction loss on; training
            stops early when it stops improving.
        verbose: Integer. 0 silent, 1 a line per epoch.

    Returns:
        The saved path.

    Example:

    ```python
    recipe = load_recipe("transfer_and_pretraining")
    data = prepare_data(recipe)
    pretrain_autoencoder(recipe, data.x_train, "encoder.keras")
    ```
    """
    path = Path(path)
    section = recipe.model.model_copy(
        update={"task": "regression", "init_from": None, "freeze": 0, "dropout": 0.0}
    )
    model = build_network(section, x_unlabelled.shape[1], x_unlabelled.shape[1])
    training = recipe.training
    rate = training.learning_rate
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3 if isinstance(rate, ScheduleSection) else rate),
        loss="mse",
        # Many updates per compiled call, as the recipe's own training runs (see `array_batches`
        # for the other half of the cost Keras's defaults carry on small batches).
        **compile_options(recipe, updates_per_epoch(len(x_unlabelled), training.batch_size)),
    )
    has_val = x_val is not None and len(x_val)
    stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss" if has_val else "loss", patience=5, restore_best_weights=True
    )
    history = model.fit(
        array_batches(
            x_unlabelled,
            x_unlabelled,
            batch_size=training.batch_size,
            shuffle=training.shuffle,
            seed=recipe.seed,
        ),
        validation_data=(
            array_batches(x_val, x_val, batch_size=max(training.batch_size, 256)) if has_val else None
        ),
        epochs=training.epochs,
        callbacks=[stopping],
        shuffle=False,  # the batches shuffle themselves
        verbose=0,
    )
    if verbose:
        losses = history.history["loss"]
        print_msg(
            f"autoencoder pretrained on {len(x_unlabelled)} unlabelled rows: reconstruction "
            f"mse {losses[0]:.4f} -> {min(losses):.4f} in {len(losses)} epochs; saved {path}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, path)
    return path
