"""Installed as `kerasforge.recipes`: recipe schema, loading, overrides, builders and the training run.

Names are imported on first use, so reading and validating recipes
(`kerasforge validate`, `list`, `schema`) does not import TensorFlow.
"""

import importlib

_PUBLIC = {
    "PreparedData": "prepared_data",
    "Recipe": "recipe",
    "RunFolder": "run_folder",
    "TrainingRun": "training_run",
    "apply_overrides": "load_recipe",
    "build_callbacks": "build_callbacks",
    "build_model": "build_model",
    "build_network": "build_network",
    "build_optimizer": "build_optimizer",
    "bundled_recipes": "load_recipe",
    "fit_model": "fit_model",
    "load_recipe": "load_recipe",
    "parse_overrides": "load_recipe",
    "prepare_data": "prepared_data",
    "recipe_to_yaml": "load_recipe",
    "set_global_seed": "set_global_seed",
    "train": "training_run",
    "validate_recipe": "load_recipe",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        module = importlib.import_module(f"kerasforge.recipes.{_PUBLIC[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'kerasforge.recipes' has no attribute {name!r}")


def __dir__():
    return __all__
