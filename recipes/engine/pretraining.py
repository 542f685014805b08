"""`pretrain_autoencoder`: unsupervised pretraining of a recipe's hidden layers."""

from pathlib import Path

import keras
import numpy as np

from kerasforge._keras_compat import print_msg
from kerasforge.recipes.engine.build_network import build_network
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
    rate = recipe.training.learning_rate
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3 if isinstance(rate, ScheduleSection) else rate),
        loss="mse",
    )
    has_val = x_val is not None and len(x_val)
    stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss" if has_val else "loss", patience=5, restore_best_weights=True
    )
    history = model.fit(
        x_unlabelled,
        x_unlabelled,
        validation_data=(x_val, x_val) if has_val else None,
        batch_size=recipe.training.batch_size,
        epochs=recipe.training.epochs,
        callbacks=[stopping],
        verbose=0,
    )
    if verbose:
        losses = history.history["loss"]
        print_msg(
            f"autoencoder pretrained on {len(x_unlabelled)} unlabelled rows: reconstruction "
            f"mse {losses[0]:.4f} -> {min(losses):.4f} in {len(losses)} epochs; saved {path}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path
