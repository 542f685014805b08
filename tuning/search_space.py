"""`SearchSpace`: a recipe's `search:` section turned into KerasTuner hyperparameters."""

import itertools
from collections.abc import Mapping
from typing import Any

from kerasforge.errors import RecipeError, TuningError
from kerasforge.recipes import Recipe, apply_overrides
from kerasforge.recipes.schema.search import FloatRange, IntRange, PowersOfTwo, SearchSection

# search field -> the recipe key it overrides (layers and units become `model.hidden`).
_TARGETS = {
    "activation": "model.activation",
    "dropout": "model.dropout",
    "l2": "model.l2",
    "batch_norm": "model.batch_norm",
    "optimizer": "training.optimizer",
    "batch_size": "training.batch_size",
    "epochs": "training.epochs",
}


def _extremes(spec) -> list:
    """The values worth validating: both ends of a range, every choice of a list."""
    if isinstance(spec, PowersOfTwo):
        return [spec.min, spec.max]
    if isinstance(spec, (IntRange, FloatRange)):
        return [spec.min, spec.max] if spec.min != spec.max else [spec.min]
    return list(spec)


def _possible_ints(spec: IntRange | list[int]) -> list[int]:
    """Every value an integer hyperparameter can take."""
    if isinstance(spec, list):
        return list(spec)
    step = spec.step or (2 if spec.sampling == "log" else 1)
    if spec.sampling == "linear":
        return list(range(spec.min, spec.max + 1, step))
    values, value = [], spec.min
    while value <= spec.max:
        values.append(value)
        value *= step
    return values


class SearchSpace:
    """The hyperparameters a search varies, and how each trial's recipe is made.

    A trial's recipe is the base recipe plus dotted-key overrides
    (`apply_overrides`), so every trial is a recipe that `kerasforge train`
    could run on its own. Per-layer widths `units_1`, `units_2`, ... are
    declared inside `hp.conditional_scope("layers", ...)`, so a 2-layer trial
    carries no width for layer 3: it is neither sampled nor recorded.

    The space is checked when it is created: both ends of every range and
    every choice are applied to the base recipe and validated.

    Args:
        recipe: The base `Recipe`.
        section: The `SearchSection` to use. Defaults to `recipe.search`, or
            `SearchSection.default()` when the recipe has none.

    Raises:
        TuningError: if some value of the space makes an invalid recipe.

    Example:

    ```python
    space = SearchSpace(load_recipe("digits_mlp"))
    hp = keras_tuner.HyperParameters()
    trial_recipe = space.trial_recipe(hp)  # declares the hyperparameters
    ```
    """

    def __init__(self, recipe: Recipe, section: SearchSection | None = None):
        if not isinstance(recipe, Recipe):
            raise TypeError(f"Argument `recipe` must be a Recipe. Received: recipe={recipe!r}")
        self.recipe = recipe
        self.section = section or recipe.search or SearchSection.default()
        self._base_widths = recipe.model.hidden_widths
        self._validate()

    @property
    def tuned(self) -> list[str]:
        """The search fields this space varies."""
        return self.section.tuned

    def _declare(self, hp, name: str, spec):
        if isinstance(spec, PowersOfTwo):
            spec = spec.values
        if isinstance(spec, IntRange):
            if spec.min == spec.max:
                return hp.Fixed(name, spec.min)
            return hp.Int(name, spec.min, spec.max, step=spec.step, sampling=spec.sampling)
        if isinstance(spec, FloatRange):
            if spec.min == spec.max:
                return hp.Fixed(name, spec.min)
            return hp.Float(name, spec.min, spec.max, step=spec.step, sampling=spec.sampling)
        if len(spec) == 1:
            return hp.Fixed(name, spec[0])
        if set(spec) == {True, False}:
            return hp.Boolean(name)
        return hp.Choice(name, list(spec))

    def values(self, hp) -> dict[str, Any]:
        """Declares the hyperparameters on `hp` and returns the active values.

        Args:
            hp: A `keras_tuner.HyperParameters`. Hyperparameters not yet in it
                are registered with their default values.

        Returns:
            Hyperparameter name -> value, inactive per-layer widths left out.
        """
        section = self.section
        chosen = {}
        if section.layers is not None:
            chosen["layers"] = self._declare(hp, "layers", section.layers)
        if section.units is not None:
            if not section.units_per_layer:
                chosen["units"] = self._declare(hp, "units", section.units)
            elif section.layers is None:
                for index in range(1, len(self._base_widths) + 1):
                    chosen[f"units_{index}"] = self._declare(hp, f"units_{index}", section.units)
            else:
                layer_counts = _possible_ints(section.layers)
                for index in range(1, max(layer_counts) + 1):
                    active = [count for count in layer_counts if count >= index]
                    if not active:
                        continue
                    with hp.conditional_scope("layers", active):
                        width = self._declare(hp, f"units_{index}", section.units)
                    if width is not None:
                        chosen[f"units_{index}"] = width
        for name in _TARGETS:
            spec = getattr(section, name)
            if spec is not None:
                chosen[name] = self._declare(hp, name, spec)
        if section.learning_rate is not None:
            chosen["learning_rate"] = self._declare(hp, "learning_rate", section.learning_rate)
        return chosen

    def overrides(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Turns hyperparameter values into dotted-key recipe overrides.

        Args:
            values: Hyperparameter name -> value, as returned by `values`.
                Keys KerasTuner adds for itself (`tuner/...`) are ignored.
        """
        overrides = {}
        if "layers" in values or "units" in values or "units_1" in values:
            layers = values.get("layers", len(self._base_widths))
            fallback = self._base_widths[0] if self._base_widths else 64
            shared = values.get("units", fallback)
            widths = [values.get(f"units_{index}", shared) for index in range(1, layers + 1)]
            overrides.update({"model.hidden": widths, "model.layers": None, "model.units": None})
        for name, key in _TARGETS.items():
            if name in values:
                overrides[key] = values[name]
        if "learning_rate" in values:
            rate = self.recipe.training.learning_rate
            key = "training.learning_rate" if isinstance(rate, float) else "training.learning_rate.peak"
            overrides[key] = values["learning_rate"]
        return overrides

    def trial_recipe(self, hp) -> Recipe:
        """Declares the hyperparameters on `hp` and returns the trial's recipe.

        Raises:
            RecipeError: if the values make an invalid recipe.
        """
        return apply_overrides(self.recipe, self.overrides(self.values(hp)), origin="search trial")

    def _validate(self) -> None:
        section = self.section
        corners = {name: _extremes(getattr(section, name)) for name in section.tuned}
        layer_unit_names = [name for name in ("layers", "units") if name in corners]
        checks = []
        for combo in itertools.product(*(corners[name] for name in layer_unit_names)):
            checks.append(dict(zip(layer_unit_names, combo, strict=True)))
        for name, values in corners.items():
            if name not in layer_unit_names:
                checks.extend({name: value} for value in values)
        for check in checks:
            values = dict(check)
            if "units" in values and section.units_per_layer:
                width = values.pop("units")
                layers = values.get("layers", len(self._base_widths))
                values.update({f"units_{index}": width for index in range(1, layers + 1)})
                values.setdefault("layers", layers)
            try:
                apply_overrides(self.recipe, self.overrides(values), origin="search")
            except RecipeError as error:
                shown = ", ".join(f"{name}={value}" for name, value in check.items())
                raise TuningError(
                    f"the search space can produce an invalid recipe ({shown}): {error}"
                ) from None
