"""Installed as `kerasforge.recipes`: from a YAML recipe to a trained, diagnosed run.

Grouped by concern: `schema` (what a recipe may say, and loading it; imports no
Keras), `engine` (build, fit, run, compare, lr-find, pretraining, run folders),
`diagnosis` (a registry of rules) and `reports` (HTML and plots).

The public names below are imported on first use, so reading and validating
recipes (`kerasforge validate`, `list`, `schema`) does not import a Keras
backend. Type checkers see them through the `TYPE_CHECKING` imports.
"""

from typing import TYPE_CHECKING

from kerasforge._lazy_exports import lazy_exports

if TYPE_CHECKING:
    from kerasforge.recipes.diagnosis.registry import Finding, diagnose
    from kerasforge.recipes.engine.build_callbacks import build_callbacks
    from kerasforge.recipes.engine.build_model import build_model
    from kerasforge.recipes.engine.build_network import build_network
    from kerasforge.recipes.engine.build_optimizer import build_optimizer
    from kerasforge.recipes.engine.compare import Comparison, compare
    from kerasforge.recipes.engine.describe_data import describe_data
    from kerasforge.recipes.engine.doctor import doctor
    from kerasforge.recipes.engine.fit import fit_model
    from kerasforge.recipes.engine.lr_find import find_learning_rate
    from kerasforge.recipes.engine.prepare_data import PreparedData, prepare_data
    from kerasforge.recipes.engine.pretraining import pretrain_autoencoder
    from kerasforge.recipes.engine.raw_model import predict_rows
    from kerasforge.recipes.engine.reproducibility import set_global_seed
    from kerasforge.recipes.engine.run import TrainingRun, train
    from kerasforge.recipes.engine.run_folder import RunFolder
    from kerasforge.recipes.reports.html_report import write_report
    from kerasforge.recipes.reports.run_record import RunRecord
    from kerasforge.recipes.schema.loading import (
        apply_overrides,
        bundled_recipes,
        load_recipe,
        parse_overrides,
        recipe_to_yaml,
        validate_recipe,
    )
    from kerasforge.recipes.schema.recipe import Recipe

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
    "describe_data": "engine.describe_data",
    "diagnose": "diagnosis.registry",
    "doctor": "engine.doctor",
    "find_learning_rate": "engine.lr_find",
    "fit_model": "engine.fit",
    "load_recipe": "schema.loading",
    "parse_overrides": "schema.loading",
    "predict_rows": "engine.raw_model",
    "prepare_data": "engine.prepare_data",
    "pretrain_autoencoder": "engine.pretraining",
    "recipe_to_yaml": "schema.loading",
    "set_global_seed": "engine.reproducibility",
    "train": "engine.run",
    "validate_recipe": "schema.loading",
    "write_report": "reports.html_report",
}

__all__ = [
    "Comparison",
    "Finding",
    "PreparedData",
    "Recipe",
    "RunFolder",
    "RunRecord",
    "TrainingRun",
    "apply_overrides",
    "build_callbacks",
    "build_model",
    "build_network",
    "build_optimizer",
    "bundled_recipes",
    "compare",
    "describe_data",
    "diagnose",
    "doctor",
    "find_learning_rate",
    "fit_model",
    "load_recipe",
    "parse_overrides",
    "predict_rows",
    "prepare_data",
    "pretrain_autoencoder",
    "recipe_to_yaml",
    "set_global_seed",
    "train",
    "validate_recipe",
    "write_report",
]


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC, globals())
