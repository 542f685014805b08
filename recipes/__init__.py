"""Installed as `kerasforge.recipes`: recipe schema, loading, overrides, builders and the training run.

Names are imported on first use, so reading and validating recipes
(`kerasforge validate`, `list`, `schema`) does not import TensorFlow.
"""

from kerasforge._lazy_exports import lazy_exports

_PUBLIC = {
    "Comparison": "comparison",
    "Finding": "finding",
    "PreparedData": "prepared_data",
    "Recipe": "recipe",
    "RunFolder": "run_folder",
    "RunRecord": "run_record",
    "TrainingRun": "training_run",
    "apply_overrides": "recipe_loader",
    "build_callbacks": "callback_builder",
    "build_model": "model_builder",
    "build_network": "network_builder",
    "build_optimizer": "optimizer_builder",
    "bundled_recipes": "recipe_loader",
    "compare": "comparison",
    "describe_data": "data_description",
    "diagnose": "diagnosis",
    "find_learning_rate": "learning_rate_range_test",
    "fit_model": "model_fitting",
    "load_recipe": "recipe_loader",
    "parse_overrides": "recipe_loader",
    "prepare_data": "prepared_data",
    "pretrain_autoencoder": "autoencoder_pretraining",
    "recipe_to_yaml": "recipe_loader",
    "set_global_seed": "reproducibility",
    "train": "training_run",
    "validate_recipe": "recipe_loader",
    "write_report": "html_report",
}

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC, globals())
