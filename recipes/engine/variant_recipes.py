"""`variant_recipes`: the recipes a `compare` trains, checked without importing TensorFlow."""

import re

from kerasforge.errors import RecipeError
from kerasforge.recipes.schema.claims import claim_metric_errors, measured_metrics
from kerasforge.recipes.schema.loading import apply_overrides
from kerasforge.recipes.schema.recipe import Recipe

# `model.init_from` values that refer to something the comparison itself makes.
VARIANT_PREFIX = "variant:"
AUTOENCODER = "pretrain:autoencoder"
# Folder names the comparison itself uses.
RESERVED_NAMES = ("plots", "pretrain_autoencoder")


def variant_recipes(recipe: Recipe) -> dict[str, Recipe]:
    """Returns each variant's recipe: the recipe without `variants:`, with the variant's overrides.

    Args:
        recipe: A validated recipe with a `variants:` section.

    Raises:
        RecipeError: if the recipe has no variants, a variant's name cannot
            name a folder, a `model.init_from: "variant:NAME"` does not name
            an earlier variant, a variant's overrides make an invalid recipe, or a
            claim names a metric a variant does not measure.

    Example:

    ```python
    variant_recipes(load_recipe("gd_variants"))["stochastic"].training.batch_size  # 1
    ```
    """
    if not recipe.variants:
        raise RecipeError(
            f"recipe {recipe.name!r} has no `variants:` section, so there is nothing to compare; "
            "add e.g. `variants: {sgd: {training.batch_size: 1}, batch: {training.batch_size: 1024}}`"
        )
    for name in recipe.variants:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name) or name in RESERVED_NAMES:
            raise RecipeError(
                f"variant name {name!r} cannot name a run folder: use letters, digits, `_`, `.` "
                f"and `-`, not starting with a symbol, and none of {', '.join(RESERVED_NAMES)}"
            )
    base = apply_overrides(recipe, {"variants": {}, "claims": [], "baseline": None})
    names = list(recipe.variants)
    variants = {}
    for index, (name, overrides) in enumerate(recipe.variants.items()):
        source = overrides.get("model.init_from")
        if isinstance(source, str) and source.startswith(VARIANT_PREFIX):
            donor = source[len(VARIANT_PREFIX) :]
            if donor not in names[:index]:
                raise RecipeError(
                    f"variants.{name}: model.init_from {source!r} must name a variant listed "
                    f"before it; earlier variants: {names[:index] or 'none'}"
                )
        variants[name] = apply_overrides(base, overrides, origin=f"variants.{name}")
    problems = claim_metric_errors(recipe.claims, {name: measured_metrics(v) for name, v in variants.items()})
    if problems:
        raise RecipeError("; ".join(problems))
    if recipe.claims:
        # Imported here: the statistics need scipy, which a recipe without claims never loads.
        from kerasforge.recipes.reports.seed_statistics import check_directions

        check_directions(recipe.claims)
    return variants
