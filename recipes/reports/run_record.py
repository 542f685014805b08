"""`RunRecord`: a finished run folder read back from disk."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kerasforge.errors import KerasforgeError, RunDirError
from kerasforge.recipes.diagnosis.registry import diagnose
from kerasforge.recipes.schema.loading import load_recipe
from kerasforge.recipes.schema.recipe import Recipe

REQUIRED_FILES = ("recipe.yaml", "history.csv", "metrics.json")


@dataclass
class RunRecord:
    """What `train` left in a run folder: recipe, history, metrics, events, data facts.

    Attributes:
        path: The run folder.
        recipe: The resolved `Recipe` from `recipe.yaml`.
        history: `history.csv` as a DataFrame (without its `epoch` column).
        metrics: `metrics.json` (test metrics under `test`).
        events: `events.json`, the monitors' findings ([] when absent).
        data_info: `data.json`, the data description ({} when absent).

    Example:

    ```python
    record = RunRecord.read("runs/digits_mlp-20250101-120000")
    [finding.kind for finding in record.findings()]
    ```
    """

    path: Path
    recipe: Recipe
    history: pd.DataFrame
    metrics: dict
    events: list = field(default_factory=list)
    data_info: dict = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | Path) -> "RunRecord":
        """Reads a run folder.

        Raises:
            RunDirError: if the folder does not exist or lacks a file `train`
                writes (it was interrupted, or is not a run folder).
        """
        path = Path(path)
        if not path.is_dir():
            raise RunDirError(f"run folder {str(path)!r} does not exist")
        missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
        if missing:
            raise RunDirError(
                f"{str(path)!r} is not a complete run folder: missing {', '.join(missing)} "
                "(written by `kerasforge train`; a `compare` folder holds comparison.csv)"
            )
        try:
            recipe = load_recipe(path / "recipe.yaml")
            history = pd.read_csv(path / "history.csv")
            metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
            events = _optional_json(path / "events.json", [])
            data_info = _optional_json(path / "data.json", {})
        except (KerasforgeError, ValueError, OSError) as error:
            raise RunDirError(f"cannot read run folder {str(path)!r}: {error}") from None
        history = history.drop(columns=["epoch"], errors="ignore")
        return cls(path, recipe, history, metrics, events, data_info)

    def findings(self) -> list:
        """The diagnosis of this run (see `diagnose`)."""
        return diagnose(self.history, self.recipe, self.events, self.data_info)


def _optional_json(path: Path, default):
    if not path.is_file():
        return default
    return json.loads(path.read_text(encoding="utf-8"))
