"""`SearchPlan`: what a search will run, printed before it starts."""

from dataclasses import dataclass, field

import keras_tuner as kt

from kerasforge.recipes.schema.search import FloatRange, IntRange, PowersOfTwo
from kerasforge.tuning.search_space import SearchSpace


def _describe(spec) -> str:
    if isinstance(spec, PowersOfTwo):
        return " | ".join(str(value) for value in spec.values)
    if isinstance(spec, (IntRange, FloatRange)):
        step = f" step {spec.step:g}" if spec.step else ""
        return f"{spec.min:g} .. {spec.max:g}{step} ({spec.sampling})"
    return " | ".join(str(value) for value in spec)


@dataclass
class SearchPlan:
    """The trials and epochs a search will run, computed before it starts.

    For Hyperband it lists every bracket and round: how many trials run, and
    up to which epoch each is trained (a promoted trial continues from its
    parent's weights, so only the new epochs are trained). For the other
    tuners it is `trials x epochs`, an upper bound since early stopping ends
    trials sooner.

    Attributes:
        tuner: The tuner name.
        trials: Integer. Trials in the search.
        total_epochs: Integer. Epochs trained by all trials together, at most.
        epochs_per_trial: Integer. The largest epoch count of one trial.
        brackets: Hyperband only: one list per bracket of `(trials, epochs)`
            per round.
        space: Lines describing each tuned field.

    Example:

    ```python
    plan = SearchPlan.build("hyperband", space, max_trials=None)
    print("\\n".join(plan.lines()))
    ```
    """

    tuner: str
    trials: int
    total_epochs: int
    epochs_per_trial: int
    brackets: list = field(default_factory=list)
    space: list = field(default_factory=list)

    @classmethod
    def build(cls, name: str, space: SearchSpace, max_trials: int | None) -> "SearchPlan":
        """Computes the plan of a `make_tuner` tuner over `space`.

        Hyperband's brackets come from KerasTuner's own `HyperbandOracle`
        (its `max_epochs` is the recipe's `training.epochs`), so the plan is
        what will run, not a second copy of the formulas.
        """
        section = space.section
        description = [
            f"{field_name}: {_describe(getattr(section, field_name))}" for field_name in section.tuned
        ]
        if "units" in section.tuned and section.units_per_layer:
            description.append("units are tuned per layer: units_k exists only when layers >= k")
        if name != "hyperband":
            epochs = space.recipe.training.epochs
            if section.epochs is not None:
                epochs = section.epochs.max if isinstance(section.epochs, IntRange) else max(section.epochs)
            return cls(name, max_trials, max_trials * epochs, epochs, space=description)
        oracle = kt.oracles.HyperbandOracle(
            max_epochs=space.recipe.training.epochs, factor=section.hyperband_factor
        )
        brackets, trials, total = [], 0, 0
        for bracket in reversed(range(oracle._get_num_brackets())):
            rounds, previous = [], 0
            for round_number in range(bracket + 1):
                size = oracle._get_size(bracket, round_number)
                epochs = oracle._get_epochs(bracket, round_number)
                rounds.append((size, epochs))
                trials += size
                total += size * (epochs - previous)
                previous = epochs
            brackets.append(rounds)
        if max_trials is not None:
            trials = min(trials, max_trials)
        return cls(name, trials, total, oracle.max_epochs, brackets, description)

    def lines(self) -> list[str]:
        """The plan as printable lines."""
        lines = ["search space:"] + [f"  {line}" for line in self.space]
        if self.tuner != "hyperband":
            lines.append(
                f"plan: {self.tuner} search, {self.trials} trials of up to {self.epochs_per_trial} "
                f"epochs (early stopping may end them sooner): at most {self.total_epochs} epochs"
            )
            return lines
        lines.append(
            f"plan: hyperband, max {self.epochs_per_trial} epochs per trial, "
            f"{len(self.brackets)} brackets, {self.trials} trials, "
            f"at most {self.total_epochs} epochs in total"
        )
        for number, rounds in enumerate(self.brackets, start=1):
            shown = ", ".join(f"{size} trials to epoch {epochs}" for size, epochs in rounds)
            lines.append(f"  bracket {number}: {shown}")
        return lines
