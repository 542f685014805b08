"""Checks of a resume that need no TensorFlow: the killed run's recipe, and that it is the one given.

The command line runs these before it imports TensorFlow, and `train(...,
resume=True)` runs the very same ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kerasforge.errors import RunDirError
from kerasforge.recipes.engine.checkpoint_files import CHECKPOINT_FOLDER, RECIPE_FILE
from kerasforge.recipes.engine.run_folder import staging_path
from kerasforge.recipes.schema.loading import load_recipe
from kerasforge.recipes.schema.recipe import Recipe


def checkpoint_recipe_path(run_dir: str | Path) -> Path:
    """Where the resolved recipe of the killed run `run_dir` is kept until the run is published."""
    return staging_path(Path(run_dir)) / CHECKPOINT_FOLDER / RECIPE_FILE


def checkpoint_recipe(run_dir: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """The recipe the killed run `run_dir` was started with (and `overrides` applied to it).

    Raises:
        RunDirError: if the run folder holds no checkpoint recipe.
    """
    path = checkpoint_recipe_path(run_dir)
    if not path.is_file():
        raise RunDirError(
            f"--resume {str(run_dir)!r}: no killed run to resume there (no {str(path)!r}); "
            f"start it with --run-dir {str(run_dir)!r}"
        )
    return load_recipe(path, overrides)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}{key}."))
        return flat or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): value}


def check_same_recipe(recipe: Recipe, run_dir: str | Path) -> None:
    """Checks that `recipe` is the recipe the killed run `run_dir` was started with.

    Raises:
        RunDirError: naming the first key whose value differs, with both
            values, if they differ; or if there is no checkpoint recipe.

    Example:

    ```python
    check_same_recipe(load_recipe("digits_mlp"), "runs/my-run")
    ```
    """
    saved = _flatten(checkpoint_recipe(run_dir).model_dump(mode="json"))
    given = _flatten(recipe.model_dump(mode="json"))
    for key in dict.fromkeys([*saved, *given]):
        if saved.get(key, "(not set)") != given.get(key, "(not set)"):
            raise RunDirError(
                f"--resume {str(run_dir)!r}: the recipe differs from the killed run's at `{key}`: "
                f"checkpoint {saved.get(key, '(not set)')!r}, given {given.get(key, '(not set)')!r}; "
                "leave out RECIPE and --set to resume the run as it was, or start afresh with --fresh"
            )
