"""`SearchFolder`: the run folder of a search, which running the same search again resumes."""

import json
import shutil
from pathlib import Path

from kerasforge.errors import TuningError
from kerasforge.recipes import Recipe
from kerasforge.recipes.engine.json_file import write_json
from kerasforge.recipes.engine.run_folder import make_folders

STATE_FILE = "search.json"
PROJECT_NAME = "keras_tuner"


def _flatten(mapping, prefix=""):
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


class SearchFolder:
    """Creates, resumes or restarts the folder of a search.

    A search folder holds `search.json` (the base recipe, tuner and
    objective), KerasTuner's project in `keras_tuner/`, and the results:
    `trials.csv`, `histories.csv`, `best_recipe.yaml` and `plots/`.

    Unlike a training run folder, an existing search folder is not an error:
    running the same search again resumes it, which is the point of keeping
    the oracle's state on disk. The same search means the same recipe (the
    `search.max_trials` may grow), tuner and objective; anything else is
    refused so two searches never mix. `overwrite=True` deletes a search
    folder and starts afresh; a folder that is not a search folder is never
    deleted.

    Args:
        path: Path of the folder.
        recipe: The base `Recipe`.
        tuner: The tuner name.
        objective: The objective name.
        direction: `min` or `max`, the objective's direction.
        overwrite: Boolean. Start afresh. Defaults to `False`.

    Raises:
        TuningError: if `path` is a non-empty folder that is not a search
            folder, or holds a different search.
        RunDirError: if the folder cannot be created.

    Example:

    ```python
    folder = SearchFolder("runs/digits-search", recipe, "random", "val_loss", "min")
    folder.prepare()  # False: a new search; True: resuming
    ```
    """

    def __init__(
        self,
        path,
        recipe: Recipe,
        tuner: str,
        objective: str,
        direction: str = "min",
        overwrite: bool = False,
    ):
        self.path = Path(path)
        self.recipe = recipe
        self.tuner = tuner
        self.objective = objective
        self.direction = direction
        self.overwrite = overwrite

    @property
    def project_dir(self) -> Path:
        """KerasTuner's project folder inside the search folder."""
        return self.path / PROJECT_NAME

    def _state(self) -> dict:
        recipe = self.recipe.model_dump(mode="json")
        if recipe.get("search"):
            recipe["search"].pop("max_trials", None)
        return {
            "tuner": self.tuner,
            "objective": self.objective,
            "direction": self.direction,
            "recipe": recipe,
        }

    def _differences(self, saved: dict) -> list[str]:
        old, new = _flatten(saved), _flatten(self._state())
        keys = sorted(set(old) | set(new))
        return [
            f"{key}: {old.get(key)!r} -> {new.get(key)!r}" for key in keys if old.get(key) != new.get(key)
        ]

    def prepare(self) -> bool:
        """Makes the folder ready and returns whether an earlier search is resumed.

        Raises:
            TuningError, RunDirError: as described in the class docstring.
        """
        state_path = self.path / STATE_FILE
        occupied = self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir()))
        if occupied and not state_path.exists():
            raise TuningError(
                f"--run-dir {str(self.path)!r} exists and is not a kerasforge search folder "
                f"(no {STATE_FILE}); choose a new folder"
            )
        if occupied and self.overwrite:
            shutil.rmtree(self.path)
            occupied = False
        if occupied:
            try:
                saved = json.loads(state_path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as error:
                raise TuningError(
                    f"cannot read {state_path}: {error}; use --overwrite to start afresh"
                ) from None
            differences = self._differences(saved)
            if differences:
                shown = "; ".join(differences[:3]) + (" ..." if len(differences) > 3 else "")
                raise TuningError(
                    f"--run-dir {str(self.path)!r} holds a different search ({shown}); "
                    "use --overwrite to start afresh or choose another --run-dir"
                )
            return self.project_dir.exists()
        make_folders(self.path)
        write_json(state_path, self._state())
        return False
