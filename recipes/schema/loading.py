"""Reading recipes from YAML files, bundled names and `--set` overrides."""

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kerasforge.errors import RecipeError, RecipeNotFoundError
from kerasforge.recipes.schema.claims import claim_metric_errors, measured_metrics
from kerasforge.recipes.schema.messages import validation_message
from kerasforge.recipes.schema.recipe import Recipe

LIBRARY_DIR = Path(__file__).resolve().parent.parent / "library"


def bundled_recipes() -> dict[str, Path]:
    """Returns the bundled recipes, name -> path, sorted by name."""
    return {path.stem: path for path in sorted(LIBRARY_DIR.glob("*.yaml"))}


def resolve_recipe_path(source: str | Path) -> Path:
    """Finds the YAML file for a path or a bundled recipe name.

    Raises:
        RecipeNotFoundError: if `source` is neither an existing file nor a
            bundled recipe name.
    """
    path = Path(source)
    if path.is_file():
        return path
    bundled = bundled_recipes()
    if str(source) in bundled:
        return bundled[str(source)]
    if path.suffix in (".yaml", ".yml") or path.parent != Path("."):
        raise RecipeNotFoundError(f"recipe file not found: {str(source)!r}")
    raise RecipeNotFoundError(
        f"no recipe file or bundled recipe named {str(source)!r}; bundled recipes: {', '.join(bundled)}"
    )


def read_yaml(path: Path) -> dict[str, Any]:
    """Reads one YAML mapping with `yaml.safe_load`, reporting syntax errors by line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RecipeNotFoundError(f"cannot read recipe {str(path)!r}: {error.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        context_mark = getattr(error, "context_mark", None)
        if context_mark is not None and getattr(error, "context", None):
            problem += f" ({error.context} at line {context_mark.line + 1})"
        raise RecipeError(f"{path}: YAML syntax error{where}: {problem}") from None
    if raw is None:
        raise RecipeError(f"{path}: the recipe is empty; it must be a YAML mapping")
    if not isinstance(raw, dict):
        raise RecipeError(
            f"{path}: a recipe must be a YAML mapping of sections. Received a {type(raw).__name__}"
        )
    return raw


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Parses `KEY=VALUE` strings; each value is read as YAML (`1e-3`, `[64, 32]`, `true`).

    Raises:
        RecipeError: if an item has no `=` or an empty key.
    """
    overrides = {}
    for item in items:
        key, separator, text = item.partition("=")
        key = key.strip()
        if not separator or not key:
            raise RecipeError(f"--set expects KEY=VALUE, e.g. training.epochs=5. Received: {item!r}")
        try:
            overrides[key] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            raise RecipeError(f"--set {key}: cannot read the value {text!r} as YAML") from None
    return overrides


def _set_dotted(raw: dict, dotted_key: str, value: Any) -> None:
    parts = dotted_key.split(".")
    node = raw
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            prefix = ".".join(parts[: depth + 1])
            raise RecipeError(f"--set {dotted_key}: `{prefix}` is a value ({child!r}), not a section")
        node = child
    node[parts[-1]] = value


def validate_recipe(raw: Mapping[str, Any], origin: str = "recipe") -> Recipe:
    """Validates a plain mapping into a `Recipe`, including every variant.

    Raises:
        RecipeError: naming the key path, the value and what is allowed.
    """
    try:
        recipe = Recipe.model_validate(raw)
    except ValidationError as error:
        raise RecipeError(f"{origin}: {validation_message(error, Recipe)}") from None
    _check_variants(recipe, origin)
    return recipe


def _check_variants(recipe: Recipe, origin: str) -> None:
    """Raises `RecipeError` unless every variant's overrides give a valid recipe and every claim's
    metric is one `compare` measures for both of its variants."""
    measured = {
        variant: measured_metrics(apply_overrides(recipe, overrides, origin=f"{origin}: variants.{variant}"))
        for variant, overrides in recipe.variants.items()
    }
    problems = claim_metric_errors(recipe.claims, measured)
    if problems:
        raise RecipeError(f"{origin}: {'; '.join(problems)}")


def apply_overrides(
    recipe: Recipe | Mapping[str, Any],
    overrides: Mapping[str, Any] | Sequence[str],
    origin: str = "--set",
) -> Recipe:
    """Returns a new validated recipe with dotted-key overrides applied.

    Args:
        recipe: A `Recipe` or a plain mapping.
        overrides: `{"training.epochs": 5}` or `["training.epochs=5"]`.
        origin: Names the source of the overrides in error messages.

    Raises:
        RecipeError: if a key or value is invalid.

    Example:

    ```python
    fast = apply_overrides(load_recipe("digits_mlp"), {"training.epochs": 2})
    ```
    """
    if not isinstance(overrides, Mapping):
        overrides = parse_overrides(overrides)
    raw = recipe.model_dump(exclude_unset=True) if isinstance(recipe, Recipe) else recipe
    raw = copy.deepcopy(dict(raw))
    for key, value in overrides.items():
        _set_dotted(raw, key, value)
    try:
        return Recipe.model_validate(raw)
    except ValidationError as error:
        raise RecipeError(f"{origin}: {validation_message(error, Recipe)}") from None


def load_recipe(
    source: str | Path | Mapping[str, Any],
    overrides: Mapping[str, Any] | Sequence[str] = (),
) -> Recipe:
    """Loads, overrides and validates a recipe.

    Args:
        source: A YAML path, a bundled recipe name (`kerasforge list`), or a mapping.
        overrides: Dotted-key overrides, as a mapping or `KEY=VALUE` strings.

    Returns:
        The validated `Recipe`.

    Raises:
        RecipeNotFoundError: if the file or name does not exist.
        RecipeError: on YAML syntax errors and invalid keys or values.

    Example:

    ```python
    recipe = load_recipe("digits_mlp", ["training.epochs=5", "model.hidden=[128, 64]"])
    ```
    """
    if isinstance(source, Mapping):
        recipe = validate_recipe(source)
    else:
        path = resolve_recipe_path(source)
        recipe = validate_recipe(read_yaml(path), origin=str(source))
    if overrides:
        recipe = apply_overrides(recipe, overrides)
        _check_variants(recipe, origin="--set")
    return recipe


def recipe_to_yaml(recipe: Recipe) -> str:
    """Dumps a recipe with every default filled in, loadable by `load_recipe`."""
    return yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
