"""`pretrain_autoencoder` against the same autoencoder trained with plain Keras `model.fit` on the arrays.

The bundled `transfer_and_pretraining` lesson's pretraining: its network with a
linear head as wide as the input, trained to reproduce digits' 1,257 training
rows at the recipe's batch size (16) for up to its 80 epochs, early stopping on
the validation rows' reconstruction loss (patience 5). Plain Keras is the same
network, optimizer and callback fitted on the NumPy arrays with Keras's defaults
(one update per compiled call, Keras's own array adapter). Interleaved in a
rotating order `--repeats` times, in one process; printed: the median seconds of
each and the ratio kerasforge / Keras.

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/pretraining.py --repeats 5
    KERAS_BACKEND=jax python benchmarks/pretraining.py --repeats 5
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

from _timing import interleaved, print_against


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="transfer_and_pretraining")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import keras

    from kerasforge.recipes import load_recipe, prepare_data
    from kerasforge.recipes.engine.build_network import build_network
    from kerasforge.recipes.engine.pretraining import pretrain_autoencoder

    # Every training row is an unlabelled one, as the lesson's `compare` pretrains on.
    recipe = load_recipe(args.recipe, {"data.max_train_rows": None})
    data = prepare_data(recipe)
    x, x_val = data.x_train, data.x_val

    def kerasforge() -> None:
        keras.utils.set_random_seed(recipe.seed)
        pretrain_autoencoder(recipe, x, Path(folder) / "kerasforge.keras", x_val=x_val, verbose=0)

    def plain_keras() -> None:
        keras.utils.set_random_seed(recipe.seed)
        section = recipe.model.model_copy(update={"task": "regression", "init_from": None, "dropout": 0.0})
        model = build_network(section, x.shape[1], x.shape[1])
        model.compile(optimizer=keras.optimizers.Adam(recipe.training.learning_rate), loss="mse")
        model.fit(
            x,
            x,
            validation_data=(x_val, x_val),
            batch_size=recipe.training.batch_size,
            epochs=recipe.training.epochs,
            callbacks=[keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)],
            verbose=0,
        )
        model.save(Path(folder) / "keras.keras")

    with tempfile.TemporaryDirectory() as folder:
        seconds = interleaved({"kerasforge": kerasforge, "plain Keras": plain_keras}, args.repeats)
    print(f"backend {keras.backend.backend()}, {len(x)} rows, batch {recipe.training.batch_size}")
    print_against(seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
