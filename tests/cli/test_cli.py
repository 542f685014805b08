import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kerasforge.cli import main

TINY = ["--set", "training.epochs=2", "--set", "model.hidden=[16]"]


def run_cli(*args, cwd=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "kerasforge", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_train_end_to_end_in_a_subprocess(tmp_path):
    result = run_cli("train", "digits_mlp", *TINY, "--run-dir", str(tmp_path / "run"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "updates per epoch" in result.stdout
    assert "Epoch 2/2" in result.stdout
    assert "grad_norm/" not in result.stdout  # per-layer keys go to history.csv, not the progress line
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0


@pytest.mark.slow
def test_default_run_folder_is_under_runs(tmp_path):
    result = run_cli("train", "digits_mlp", *TINY, "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("digits_mlp-")
    assert (folder / "model.keras").is_file()


def test_help_does_not_import_tensorflow():
    code = (
        "import sys; from kerasforge.cli import build_parser; build_parser(); "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "False"]
    assert run_cli("--help").returncode == 0


def test_version_list_and_schema(capsys):
    with pytest.raises(SystemExit, match="0"):
        main(["--version"])
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "digits_mlp" in listed and "diabetes_regression" in listed
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "training" in schema["properties"]


def test_validate_accepts_a_good_recipe(capsys):
    assert main(["validate", "digits_mlp", "--set", "training.epochs=3"]) == 0
    assert "valid recipe 'digits_mlp'" in capsys.readouterr().out


def write_csv(tmp_path, frame, name="data.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def csv_recipe(tmp_path, source, task="binary", **extra):
    lines = [
        "name: csv_case",
        f"data: {{source: '{source}', target: label{extra.get('data', '')}}}",
        f"model: {{task: {task}, hidden: [8]}}",
        "training: {epochs: 1}",
        "callbacks: {activation_monitor: {enabled: false}}",
    ]
    path = tmp_path / "recipe.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def frame_of(rows=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"a": rng.normal(size=rows), "b": rng.normal(size=rows), "label": rng.integers(0, 2, rows)}
    )


def case_missing_target(tmp_path):
    return csv_recipe(
        tmp_path, write_csv(tmp_path, frame_of().rename(columns={"label": "y"}))
    ), r"(?i)label.*columns.*a, b, y"


def case_text_column(tmp_path):
    frame = frame_of(rows=300)
    frame["comment"] = [f"free text number {i}" for i in range(len(frame))]
    return csv_recipe(tmp_path, write_csv(tmp_path, frame)), r"comment"


def case_nan(tmp_path):
    frame = frame_of()
    frame.loc[::3, "b"] = np.nan
    return csv_recipe(tmp_path, write_csv(tmp_path, frame)), r"NaN.*'b' \(\d+\)"


def case_inf(tmp_path):
    frame = frame_of()
    frame.loc[::4, "a"] = np.inf
    return csv_recipe(tmp_path, write_csv(tmp_path, frame)), r"(?i)inf.*'a' \(\d+\)"


def case_empty(tmp_path):
    return csv_recipe(tmp_path, write_csv(tmp_path, frame_of().iloc[:0])), r"(empty|no rows)"


def case_tiny_class(tmp_path):
    frame = frame_of()
    frame["label"] = 0
    frame.loc[0, "label"] = 1
    return csv_recipe(tmp_path, write_csv(tmp_path, frame)), r"class.*1.*stratif"


def case_missing_file(tmp_path):
    return csv_recipe(tmp_path, str(tmp_path / "absent.csv")), r"absent.csv"


def case_unknown_key(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("name: x\nmodel:\n  activaton: relu\n")
    return str(path), r"did you mean `model.activation`"


def case_yaml_syntax(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("name: x\nmodel: {hidden: [1, 2}\n")
    return str(path), r"YAML syntax error at line 2"


@pytest.mark.parametrize(
    "make_case",
    [
        case_missing_target,
        case_text_column,
        case_nan,
        case_inf,
        case_empty,
        case_tiny_class,
        case_missing_file,
        case_unknown_key,
        case_yaml_syntax,
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(tmp_path, capsys, make_case):
    recipe_path, message = make_case(tmp_path)
    code = main(["train", recipe_path, "--run-dir", str(tmp_path / "run")])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("kerasforge: error: ")
    assert "Traceback" not in captured.err
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["train", "digits_mlp", "--set", "training.epochz=3"], r"did you mean `training.epochs`"),
        (
            ["train", "digits_mlp", "--set", "model.activation=relux"],
            r"'relux' is not allowed; choose one of",
        ),
        (["train", "digits_mlp", "--set", "training.optimizer=adamm"], r"'adamm' is not allowed.*'adam'"),
        (
            ["train", "digits_mlp", "--set", "model.kernel_initializer=he"],
            r"must be one of 'glorot_uniform'.*'he_normal'",
        ),
        (["train", "digits_mlp", "--set", "noequals"], r"--set expects KEY=VALUE"),
        (["train", "no_such_recipe"], r"bundled recipes: "),
        (["frobnicate"], r"invalid choice: 'frobnicate'"),
    ],
)
def test_bad_arguments_print_one_line_and_exit_2(capsys, arguments, message):
    try:
        code = main(arguments)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert re.search(message, lines[0]), lines[0]


def test_subprocess_error_has_no_traceback(tmp_path):
    result = run_cli("train", "digits_mlp", "--set", "training.batch_size=0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "kerasforge: error: --set: `training.batch_size`: "
        "input should be greater than or equal to 1. Received: 0"
    ]


def test_missing_backend_is_one_line_saying_what_to_install(tmp_path):
    # A stand-in `tensorflow` that fails to import, as on a machine without it.
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'tensorflow'\", name='tensorflow')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "KERAS_BACKEND": "tensorflow"}
    result = subprocess.run(
        [sys.executable, "-m", "kerasforge", "train", "digits_mlp"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "pip install 'kerasforge[cpu]'" in line
