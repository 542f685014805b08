"""Bad inputs on the command line: one line on stderr, exit status 2, nothing written."""

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kerasforge.cli import main

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def one_error_line(capsys, arguments):
    """Runs the CLI in-process; returns its only stderr line after checking the exit status is 2."""
    try:
        code = main(arguments)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured
    assert len(lines) == 1 and lines[0].startswith("kerasforge: error: "), captured.err
    return lines[0]


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


def table(tmp_path, name="data.csv", rows=80, placeholder=None):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"a": rng.normal(size=rows).round(3), "b": rng.normal(size=rows), "label": rng.integers(0, 2, rows)}
    )
    if placeholder:
        frame["a"] = frame["a"].astype(object)
        frame.loc[::8, "a"] = placeholder
    frame.to_csv(tmp_path / name, index=False)


def csv_recipe(tmp_path, extra="", source="data.csv", folder=None):
    folder = folder or tmp_path
    folder.mkdir(exist_ok=True)
    body = (
        f"name: bad\ndata: {{source: {source}, target: label{extra}}}\n"
        "model: {task: binary, hidden: [4]}\ntraining: {epochs: 1}\n"
    )
    return write(folder, "recipe.yaml", body)


def case_latin1(tmp_path):
    return write(tmp_path, "r.yaml", "name: café\n".encode("latin-1")), [], r"not UTF-8: byte 0xe9 at line 1"


def case_binary(tmp_path):
    return write(tmp_path, "r.yaml", bytes(range(256))), [], r"not UTF-8: byte 0x80 .*binary file"


def case_png(tmp_path):
    return write(tmp_path, "r.png", PNG), [], r"this is a PNG image, not a YAML recipe"


def case_duplicate_key(tmp_path):
    body = "name: dup\ntraining:\n  epochs: 3\nmodel:\n  hidden: [16]\ntraining:\n  batch_size: 64\n"
    return write(tmp_path, "r.yaml", body), [], r"duplicate key `training` at line 6 \(first at line 2\)"


def case_negative_learning_rate(tmp_path):
    return "digits_mlp", ["training.learning_rate=-1"], r"`training.learning_rate`: .*than 0. Received: -1"


def case_nan_learning_rate(tmp_path):
    return "digits_mlp", ["training.learning_rate=.nan"], r"`training.learning_rate`: .*finite.*Received: nan"


def case_zero_peak(tmp_path):
    return "digits_mlp", ["training.learning_rate={peak: 0}"], r"`training.learning_rate.peak`: .*than 0"


def case_monitor_not_logged(tmp_path):
    overrides = ["callbacks.early_stopping.monitor=val_acc"]
    return "digits_mlp", overrides, r"'val_acc', which .* not log.*did you mean 'val_accuracy'\?"


def case_too_big(tmp_path):
    return "digits_mlp", ["model.hidden=[2000000000]"], r"too big for this machine: .* is available"


def case_missing_data_file(tmp_path):
    recipe = csv_recipe(tmp_path, folder=tmp_path / "project")
    beside, here = tmp_path / "project" / "data.csv", os.path.abspath("data.csv")
    return recipe, [], rf"does not exist; looked at: {beside}, {here}"


def case_placeholders(tmp_path):
    table(tmp_path, placeholder="?")
    return csv_recipe(tmp_path), [], r"Column 'a' holds numbers except for .*'\?' \(\d+\).*na_values"


def case_target_in_features(tmp_path):
    table(tmp_path)
    return (
        csv_recipe(tmp_path, ", features: [a, label]"),
        [],
        r"`data.features` lists the target column 'label'",
    )


def case_continuous_target(tmp_path):
    return "diabetes_regression", ["model.task=multiclass"], r"214 distinct numbers.*Use task regression"


def case_search_range(tmp_path):
    return "digits_mlp", ["search={layers: {min: 3, max: 1}}"], r"`search.layers`: `min` must be <= `max`\."


def case_missing_column(tmp_path):
    table(tmp_path)
    return csv_recipe(tmp_path, ", features: [a, c]"), [], r"Feature columns 'c' are not in the data"


CASES = [
    case_latin1,
    case_binary,
    case_png,
    case_duplicate_key,
    case_negative_learning_rate,
    case_nan_learning_rate,
    case_zero_peak,
    case_monitor_not_logged,
    case_too_big,
    case_missing_data_file,
    case_placeholders,
    case_target_in_features,
    case_continuous_target,
    case_search_range,
    case_missing_column,
]


@pytest.mark.parametrize("make_case", CASES)
def test_validate_reports_each_mistake_in_one_line(tmp_path, capsys, make_case):
    recipe, overrides, message = make_case(tmp_path)
    sets = [part for override in overrides for part in ("--set", override)]
    line = one_error_line(capsys, ["validate", recipe, *sets])
    assert re.search(message, line), line


@pytest.mark.parametrize("make_case", CASES)
def test_train_reports_each_mistake_in_one_line_and_writes_nothing(tmp_path, capsys, make_case):
    recipe, overrides, message = make_case(tmp_path)
    sets = [part for override in overrides for part in ("--set", override)]
    line = one_error_line(capsys, ["train", recipe, *sets, "--run-dir", str(tmp_path / "run")])
    assert re.search(message, line), line
    assert not (tmp_path / "run").exists()


def test_validate_accepts_exponent_notation_for_whole_numbers(capsys):
    assert main(["validate", "digits_mlp", "--no-data", "--set", "training.epochs=1e3"]) == 0
    assert "1000 epochs" in capsys.readouterr().out


def test_validate_summarises_the_data_it_checked(capsys):
    assert main(["validate", "digits_mlp"]) == 0
    out = capsys.readouterr().out
    assert "data: 1257/270/270 train/val/test rows, 64 inputs, 10 outputs; 17,226 weights" in out


def test_report_on_a_file_says_it_is_a_file(tmp_path, capsys):
    path = write(tmp_path, "metrics.json", "{}")
    line = one_error_line(capsys, ["report", path])
    assert line.endswith(
        "is a file, not a run folder; give the folder that `kerasforge train` "
        "or `compare` wrote (e.g. runs/digits_mlp-20250101-120000)"
    )


def test_report_on_a_damaged_history_is_an_error(tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "recipe.yaml").write_text("name: x\n")
    (folder / "metrics.json").write_text('{"test": {}}')
    (folder / "history.csv").write_text("hello world\nnot a history\n")
    line = one_error_line(capsys, ["report", str(folder)])
    assert "history.csv is damaged: it needs `epoch` and `loss` columns" in line
    assert not (folder / "report.html").exists()


def test_validate_in_a_subprocess_is_one_line_and_imports_no_tensorflow(tmp_path):
    recipe = write(tmp_path, "r.png", PNG)
    code = (
        "import sys; from kerasforge.cli import main; "
        f"status = main(['validate', {recipe!r}]); ok = main(['validate', 'digits_mlp']); "
        "print(status, ok, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines()[-1] == "2 0 False False", result
    assert result.stderr.splitlines() == [
        f"kerasforge: error: {recipe}: this is a PNG image, not a YAML recipe"
    ]
