"""The arguments of a search, checked without importing TensorFlow or KerasTuner.

`run_search` runs these checks, and the command line runs the very same ones
before it imports the backend, so a mistake in a search's arguments, its
recipe's `search:` space or its folder is reported at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kerasforge.errors import TuningError
from kerasforge.recipes.engine.run_folder import check_folder_argument

if TYPE_CHECKING:  # imported when used: `kerasforge --help` reads TUNER_NAMES without pydantic
    from kerasforge.recipes.schema.recipe import Recipe
    from kerasforge.tuning.search_space import SearchSpace

TUNER_NAMES = ("random", "hyperband", "bayesian", "grid")
ROLES = (None, "chief", "worker")
PRUNE_MODES = ("diagnosis", "median", "none")
DEFAULT_PRUNE = "diagnosis"
"""See the README's section on pruning for the measurements behind this default."""


def parse_address(text: str) -> tuple[str, int]:
    """Splits `HOST:PORT`.

    Raises:
        TuningError: if `text` is not `HOST:PORT` with a port in 1-65535.
    """
    host, separator, port = str(text).rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TuningError(f"--oracle must be HOST:PORT, e.g. 127.0.0.1:8000. Received: {text!r}")
    return host, int(port)


def search_folder_path(recipe: Recipe, run_dir=None) -> Path:
    """The folder of a search: `run_dir`, or `runs/NAME-search` by default.

    Raises:
        RunDirError: if `run_dir` is an empty string.
    """
    return check_folder_argument(run_dir) or Path("runs") / f"{recipe.name}-search"


def check_search_arguments(
    recipe: Recipe,
    tuner: str = "random",
    max_trials: int | None = None,
    workers: int = 1,
    role: str | None = None,
    oracle: str | None = None,
    verbose: int = 1,
    prune: str = DEFAULT_PRUNE,
) -> SearchSpace:
    """Checks the arguments of `run_search` and returns the search space of the recipe.

    Raises:
        TuningError: for an unknown tuner or role, `max_trials` or `workers`
            below 1, `role` without `oracle` (or the reverse), `workers` with
            `role`, a bad `HOST:PORT`, a `verbose` other than 0 or 1, or
            `search.epochs` tuned by Hyperband (which allots epochs itself),
            or a `prune` mode other than `PRUNE_MODES`, or a recipe whose
            `training.distribute.strategy` names a strategy (trials run on one device).
        RecipeError, TuningError: if the search space can make an invalid recipe.
    """
    if tuner not in TUNER_NAMES:
        raise TuningError(
            f"Argument `tuner` must be one of {', '.join(TUNER_NAMES)}. Received: tuner={tuner!r}"
        )
    if prune not in PRUNE_MODES:
        raise TuningError(
            f"Argument `prune` must be one of {', '.join(PRUNE_MODES)}. Received: prune={prune!r}"
        )
    if max_trials is not None and (not isinstance(max_trials, int) or max_trials < 1):
        raise TuningError(
            f"Argument `max_trials` must be an integer >= 1. Received: max_trials={max_trials!r}"
        )
    if not isinstance(workers, int) or workers < 1:
        raise TuningError(f"Argument `workers` must be an integer >= 1. Received: workers={workers!r}")
    if role not in ROLES:
        raise TuningError(f"Argument `role` must be chief, worker or None. Received: role={role!r}")
    if (role is None) != (oracle is None):
        raise TuningError(
            f"--role and --oracle go together (a multi-host search). Received: role={role}, oracle={oracle}"
        )
    if role is not None and workers > 1:
        raise TuningError(
            f"--workers starts a search on this machine; it cannot be combined with --role {role}"
        )
    if oracle is not None:
        parse_address(oracle)
    if verbose not in (0, 1):
        raise TuningError(f"Argument `verbose` must be 0 or 1. Received: verbose={verbose!r}")
    strategy = recipe.training.distribute.strategy
    if strategy not in ("none", "auto"):
        # A search spreads over the cores with --workers, one trial per worker; a silently
        # undistributed trial would make the recipe's own timings and batch split wrong.
        raise TuningError(
            f"training.distribute.strategy: a search trains each trial on one device "
            f"(use --workers to run trials side by side). Received: {strategy!r}; use 'none' or 'auto'"
        )
    from kerasforge.tuning.search_space import SearchSpace

    space = SearchSpace(recipe)
    if tuner == "hyperband" and "epochs" in space.tuned:
        raise TuningError(
            "`search.epochs` cannot be tuned with --tuner hyperband, which allots epochs itself"
        )
    return space
