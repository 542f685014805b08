"""Installed as `kerasforge.recipes.schema`: what a recipe may say, and how it is read.

The pydantic sections (`data`, `model`, `training`, `callbacks`, `search`), the
`Recipe` that holds them, YAML loading with `--set` overrides, and the error
messages. This package imports neither Keras nor TensorFlow, so `kerasforge
validate`, `list` and `schema` answer at once.
"""

from kerasforge.recipes.schema.loading import (
    apply_overrides,
    bundled_recipes,
    load_recipe,
    parse_overrides,
    recipe_to_yaml,
    validate_recipe,
)
from kerasforge.recipes.schema.recipe import Recipe

__all__ = [
    "Recipe",
    "apply_overrides",
    "bundled_recipes",
    "load_recipe",
    "parse_overrides",
    "recipe_to_yaml",
    "validate_recipe",
]
