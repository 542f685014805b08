"""`SearchPlan`: what a search will run, printed before it starts."""

import math
from dataclasses import dataclass, field

from kerasforge.recipes.schema.search import FloatRange, IntRange, PowersOfTwo
from kerasforge.tuning._keras_tuner_compat import hyperband_brackets
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
    parent's weights, so only the new epochs are trained). A `max_trials`
    cap cuts the plan where KerasTuner stops: after that many trials, in the
    order it runs them (the first bracket's first round first). For the other
    tuners it is `trials x epochs`, an upper bound since early stopping ends
    trials sooner.

    Attributes:
        tuner: The tuner name.
        trials: Integer. Trials in the search.
        total_epochs: Integer. Epochs trained by all trials together, at most.
        epochs_per_trial: Integer. The largest epoch count of one trial.
        brackets: Hyperband only: one list per bracket of `(trials, epochs)`
            per round, as far as `max_trials` lets the search go.
        space: Lines describing each tuned field.
        full_trials: Hyperband only: the trials of its full plan, when no
            `max_trials` cuts it short.
        promoting_trials: Hyperband only: the smallest `max_trials` whose
            search promotes a trial (its first bracket's first round, plus one).

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
    full_trials: int | None = None
    promoting_trials: int | None = None

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
            max_trials = section.max_trials if max_trials is None else max_trials
            epochs = space.recipe.training.epochs
            if section.epochs is not None:
                epochs = section.epochs.max if isinstance(section.epochs, IntRange) else max(section.epochs)
            return cls(name, max_trials, max_trials * epochs, epochs, space=description)
        full = hyperband_brackets(space.recipe.training.epochs, section.hyperband_factor)
        # KerasTuner runs the brackets in this order, each round after the one
        # before, and stops creating trials at `max_trials`: so a capped plan is
        # the first `max_trials` trials of that order.
        left = math.inf if max_trials is None else max_trials
        brackets, trials, total, largest = [], 0, 0, 0
        for full_rounds in full:
            rounds, previous = [], 0
            for full_size, epochs in full_rounds:
                size = min(full_size, left)
                if size == 0:
                    break
                rounds.append((size, epochs))
                left -= size
                trials += size
                total += size * (epochs - previous)  # a promoted trial goes on from its parent's weights
                previous, largest = epochs, max(largest, epochs)
            if rounds:
                brackets.append(rounds)
        full_trials = sum(size for rounds in full for size, _ in rounds)
        promoting = next((rounds[0][0] + 1 for rounds in full if len(rounds) > 1), None)
        return cls(name, trials, total, largest, brackets, description, full_trials, promoting)

    def lines(self) -> list[str]:
        """The plan as printable lines."""
        lines = ["search space:"] + [f"  {line}" for line in self.space]
        if self.tuner != "hyperband":
            lines.append(
                f"plan: {self.tuner} search, {self.trials} trials of up to {self.epochs_per_trial} "
                f"epochs (early stopping may end them sooner): at most {self.total_epochs} epochs"
            )
            return lines
        capped = ""
        if self.full_trials is not None and self.trials < self.full_trials:
            capped = (
                f" (--max-trials stops it after {self.trials} of the full plan's {self.full_trials} trials)"
            )
        lines.append(
            f"plan: hyperband, max {self.epochs_per_trial} epochs per trial, "
            f"{len(self.brackets)} brackets, {self.trials} trials, "
            f"at most {self.total_epochs} epochs in total{capped}"
        )
        for number, rounds in enumerate(self.brackets, start=1):
            shown = ", ".join(f"{size} trials to epoch {epochs}" for size, epochs in rounds)
            lines.append(f"  bracket {number}: {shown}")
        if capped and self.brackets and all(len(rounds) == 1 for rounds in self.brackets):
            first_round = self.brackets[0][0]
            lines.append(
                f"  no trial is promoted: --max-trials {self.trials} ends the search within the first "
                f"round of bracket 1, so every trial trains {first_round[1]} epochs and the best "
                f"recipe has epochs: {first_round[1]}; --max-trials {self.promoting_trials} or more "
                "promotes the best trials to more epochs"
            )
        return lines
