"""`RunRecord`: a finished run folder read back from disk."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kerasforge.errors import KerasforgeError, RunDirError
from kerasforge.recipes.diagnosis.registry import diagnose
from kerasforge.recipes.schema.loading import read_yaml, validate_recipe
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
            RunDirError: if the folder does not exist, is a file, lacks a file
                `train` writes (it was interrupted, or is not a run folder), or
                holds a damaged one (see `read_history`).
        """
        path = check_run_folder(path)
        missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
        if missing:
            raise RunDirError(
                f"{str(path)!r} is not a complete run folder: missing {', '.join(missing)} "
                "(written by `kerasforge train`; a `compare` folder holds comparison.csv)"
            )
        try:
            # Not load_recipe: the run is readable even after its data file has moved.
            recipe = validate_recipe(read_yaml(path / "recipe.yaml"), "recipe.yaml", finished_run=True)
            history = read_history(path / "history.csv")
            metrics = _json(path / "metrics.json", dict)
            events = _json(path / "events.json", list, default=[])
            data_info = _json(path / "data.json", dict, default={})
        except (KerasforgeError, ValueError, OSError) as error:
            message = " ".join(str(error).split())  # one line, whatever the parser said
            raise RunDirError(f"cannot read run folder {str(path)!r}: {message}") from None
        history = history.drop(columns=["epoch"], errors="ignore")
        return cls(path, recipe, history, metrics, events, data_info)

    def findings(self) -> list:
        """The diagnosis of this run (see `diagnose`)."""
        return diagnose(self.history, self.recipe, self.events, self.data_info)


def check_run_folder(path: str | Path) -> Path:
    """Returns `path` as a Path if it is a folder, else raises `RunDirError` saying what it is."""
    path = Path(path)
    if path.is_dir():
        return path
    if path.exists():
        raise RunDirError(
            f"{str(path)!r} is a file, not a run folder; give the folder that `kerasforge train` "
            "or `compare` wrote (e.g. runs/digits_mlp-20250101-120000)"
        )
    raise RunDirError(f"run folder {str(path)!r} does not exist")


def read_history(path: Path) -> pd.DataFrame:
    """Reads a `history.csv` that `train` wrote, refusing one that is damaged.

    A history ends with a newline (else it was cut short), has an `epoch`
    column counting 1, 2, ..., a `loss` column, at least one row, and numbers
    only (empty cells allowed: a NaN loss, or a key logged on some epochs only).

    Raises:
        RunDirError: naming the file and what is wrong with it.
    """
    try:
        history = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise RunDirError(f"{path.name} is not a CSV table ({' '.join(str(error).split())})") from None
    problem = None
    if not path.read_bytes().endswith(b"\n"):
        # pandas writes a newline after every row; without one the file was cut short.
        problem = "its last row is cut short (no newline at the end)"
    elif not {"epoch", "loss"} <= set(history.columns):
        problem = f"it needs `epoch` and `loss` columns. Columns: {', '.join(map(str, history.columns))}"
    elif history.empty:
        problem = "it has no rows"
    else:
        text = [column for column in history.columns if not pd.api.types.is_numeric_dtype(history[column])]
        if text:
            value = history[text[0]].dropna().iloc[0]
            problem = f"column {text[0]!r} holds non-numbers such as {value!r}"
        elif list(history["epoch"]) != list(range(1, len(history) + 1)):
            problem = f"`epoch` must count 1, 2, ... {len(history)}. Received: {list(history['epoch'])[:10]}"
    if problem:
        raise RunDirError(f"{path.name} is damaged: {problem}")
    return history


def _json(path: Path, kind: type, default=None):
    if default is not None and not path.is_file():
        return default
    value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, kind):
        raise RunDirError(f"{path.name} must hold a JSON {kind.__name__}. Received a {type(value).__name__}")
    return value
