"""The files of a run folder that `predict` and `evaluate` read, checked without TensorFlow.

Imports no Keras backend, so the command line checks its arguments at once.
"""

from __future__ import annotations

import os
from pathlib import Path

from kerasforge.errors import DataError, RunDirError
from kerasforge.recipes.reports.run_record import check_run_folder

# Files of a run folder beside model.keras: the ColumnStatistics, and the class names alone.
COLUMNS_FILE = "columns.json"
CLASSES_FILE = "classes.json"
PREDICTION_SUFFIXES = (".csv",)


def check_run_model(run_dir: str | os.PathLike[str]) -> Path:
    """Checks, without TensorFlow, that `run_dir` holds a model that takes raw rows.

    Raises:
        RunDirError: not a folder, or no `model.keras`/`columns.json` (a run
            from before models took raw rows, or not a `train` run folder).
    """
    path = check_run_folder(run_dir)
    missing = [name for name in ("model.keras", COLUMNS_FILE, "recipe.yaml") if not (path / name).is_file()]
    if missing:
        raise RunDirError(
            f"run folder {str(path)!r} has no {', '.join(missing)}; give a folder written by "
            "`kerasforge train` (runs written before models took raw rows must be trained again)"
        )
    return path


def check_output(out: str | os.PathLike[str], suffixes: tuple[str, ...], overwrite: bool = False) -> Path:
    """Checks an output file argument before any work: suffix, folder, and no silent overwrite.

    Raises:
        DataError: a suffix not in `suffixes`, a missing folder, or an
            existing file without `overwrite`.
    """
    path = Path(out)
    if path.suffix.lower() not in suffixes:
        raise DataError(f"Argument `--out` must end in {', '.join(suffixes)}. Received: --out={str(out)!r}")
    if path.is_dir():
        raise DataError(f"Argument `--out` names a folder, not a file. Received: --out={str(out)!r}")
    if not path.parent.is_dir():
        raise DataError(
            f"Argument `--out`: folder {str(path.parent)!r} does not exist. Received: --out={str(out)!r}"
        )
    if path.exists() and not overwrite:
        raise DataError(
            f"Argument `--out`: {str(path)!r} exists and would be overwritten; choose another file, "
            "or add --overwrite"
        )
    return path


def partial_path(path: Path) -> Path:
    """Where an output is written before it is renamed onto `path`."""
    # Written beside the target and renamed onto it: the output appears whole or not at all.
    return path.with_name(f".{path.name}.partial")
