"""Installed as `kerasforge.recipes`: recipe schema, loading, overrides, builders and the training run.

Names are imported on first use, so reading and validating recipes
(`kerasforge validate`, `list`, `schema`) does not import TensorFlow.
"""

import importlib

_PUBLIC = {
    "Comparison": "engine.compare",
    "Finding": "diagnosis.registry",
    "PreparedData": "engine.prepare_data",
    "Recipe": "schema.recipe",
    "RunFolder": "engine.run_folder",
    "RunRecord": "reports.run_record",
    "TrainingRun": "engine.run",
    "apply_overrides": "schema.loading",
    "build_callbacks": "engine.build_callbacks",
    "build_model": "engine.build_model",
    "build_network": "engine.build_network",
    "build_optimizer": "engine.build_optimizer",
    "bundled_recipes": "schema.loading",
    "compare": "engine.compare",
    "describe_data": "diagnosis.data_description",
    "diagnose": "diagnosis.registry",
    "find_learning_rate": "engine.lr_find",
    "fit_model": "engine.fit",
    "load_recipe": "schema.loading",
    "parse_overrides": "schema.loading",
    "prepare_data": "engine.prepare_data",
    "pretrain_autoencoder": "engine.pretraining",
    "recipe_to_yaml": "schema.loading",
    "set_global_seed": "engine.reproducibility",
    "train": "engine.run",
    "validate_recipe": "schema.loading",
    "write_report": "reports.html_report",
}

__all__ = sorted(_PUBLIC)


# Module names differ from the names they export: importing a submodule sets
# it as an attribute of the package, which would shadow a same-named function.


def __getattr__(name):
    if name in _PUBLIC:
        module = importlib.import_module(f"kerasforge.recipes.{_PUBLIC[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'kerasforge.recipes' has no attribute {name!r}")


def __dir__():
    return __all__
