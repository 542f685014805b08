"""`write_json`: every JSON file kerasforge writes is strict JSON.

Python's `json` writes NaN and infinity as the bare words `NaN` and
`Infinity`, which are not JSON: browsers, `jq` and most other languages
refuse the file. A diverged run has a NaN loss, so kerasforge writes
non-finite numbers as `null` and refuses to write anything else that is not
strict JSON.
"""

import json
import math
from collections.abc import Mapping
from pathlib import Path


def strict_json(value):
    """Returns `value` with NaN and infinities as None, tuples as lists and numpy scalars as Python numbers.

    Example:

    ```python
    strict_json({"loss": float("nan"), "steps": (1, 2)})  # {"loss": None, "steps": [1, 2]}
    ```
    """
    if isinstance(value, Mapping):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(item) for item in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        value = value.item()  # a numpy or TensorFlow scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, value, indent: int | None = 2) -> Path:
    """Writes `value` to `path` as strict JSON (UTF-8, one trailing newline) and returns the path.

    Non-finite numbers become `null` (see `strict_json`); a value of any type
    `json` cannot write raises `TypeError`, and a non-finite number that
    `strict_json` did not reach raises `ValueError`, rather than writing a
    file other programs cannot read.

    Example:

    ```python
    write_json(folder / "metrics.json", {"test": {"loss": float("nan")}})  # {"test": {"loss": null}}
    ```
    """
    path = Path(path)
    text = json.dumps(strict_json(value), indent=indent, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path
