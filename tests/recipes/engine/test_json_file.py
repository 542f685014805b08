import json
import math

import numpy as np
import pytest

from kerasforge.recipes import load_recipe, train
from kerasforge.recipes.engine.json_file import strict_json, write_json


def read_strict(path):
    """Reads JSON, refusing the bare NaN / Infinity that Python's json module writes by default."""

    def refuse(word):
        raise ValueError(f"{path.name} is not strict JSON: it holds {word}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_non_finite_numbers_are_written_as_null(tmp_path):
    value = {
        "loss": math.nan,
        "history": [1.0, math.inf, -math.inf],
        "numpy": np.float32(np.nan),
        "steps": (np.int64(3), 4),
        "nested": {"ok": 0.5, "name": "adam", "none": None},
    }
    path = write_json(tmp_path / "metrics.json", value)
    assert read_strict(path) == {
        "loss": None,
        "history": [1.0, None, None],
        "numpy": None,
        "steps": [3, 4],
        "nested": {"ok": 0.5, "name": "adam", "none": None},
    }
    assert path.read_text().endswith("}\n")


def test_strict_json_leaves_finite_values_alone():
    assert strict_json({"a": [1, 2.5, "x", True]}) == {"a": [1, 2.5, "x", True]}


def test_a_value_json_cannot_write_is_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json(tmp_path / "bad.json", {"model": object()})
    assert not (tmp_path / "bad.json").exists()


@pytest.mark.slow
def test_a_diverged_run_writes_strict_json_files(tmp_path):
    # No clipping, N(0, 0.25) weights and SGD at 0.1: the loss is NaN within the first epoch.
    recipe = load_recipe(
        "exploding_gradients", ["training.epochs=2", "data.max_train_rows=200", "variants={}", "claims=[]"]
    )
    run = train(recipe, run_dir=tmp_path / "run", verbose=0)
    assert math.isnan(run.test_metrics["loss"])
    metrics = read_strict(run.run_dir / "metrics.json")
    assert metrics["test"]["loss"] is None
    for name in ("events.json", "data.json"):
        read_strict(run.run_dir / name)
