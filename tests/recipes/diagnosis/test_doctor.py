"""`doctor` and `kerasforge doctor`: diagnose, apply the top fix, retrain, compare; and `diagnosis.json`."""

import json
import math
import os
import subprocess
import sys

import pytest

from kerasforge.cli import main
from kerasforge.errors import RecipeError, RunDirError
from kerasforge.recipes import load_recipe, train
from kerasforge.recipes.engine.doctor import DOCTOR_FILE, doctor, improved

TINY = {
    "name": "doctor_case",
    "seed": 0,
    "data": {"source": "digits", "max_train_rows": 300},
    "model": {"hidden": [32], "kernel_initializer": "he_normal"},
    "training": {"epochs": 3},
    "callbacks": {
        "early_stopping": {"enabled": False},
        "gradient_monitor": {"on_detect": "log"},
        "activation_monitor": {"on_detect": "log"},
    },
}
HIGH_RATE = {"training.optimizer": "sgd", "training.learning_rate": 4.0}


@pytest.mark.slow
def test_doctor_fixes_the_cause_retrains_on_the_same_split_and_records_each_round(tmp_path):
    report = doctor(load_recipe(TINY, HIGH_RATE), rounds=2, run_dir=tmp_path / "doc", verbose=0)
    first, second = report.rounds[:2]
    assert first.findings[0].kind == "learning_rate_too_high"
    assert second.recipe.training.learning_rate == pytest.approx(0.4)
    assert second.recipe.seed == first.recipe.seed
    assert improved(first.val_loss, second.val_loss)
    document = json.loads((tmp_path / "doc" / DOCTOR_FILE).read_text())
    rounds = document["rounds"]
    assert rounds[0]["diagnosis"]["top_cause"] == "learning_rate_too_high"
    assert rounds[1]["applied"] == {
        "kind": "learning_rate_too_high",
        "changes": {"training.learning_rate": 0.4},
        "fix": "--set training.learning_rate=0.4",
    }
    assert rounds[1]["improved"] is True and isinstance(rounds[1]["finding_gone"], bool)
    assert document["best_round"] >= 1 and "training.learning_rate=0.4" in document["best_fix"]
    for entry in report.rounds:
        assert entry.run_dir.parent == tmp_path / "doc"
        assert (entry.run_dir / "diagnosis.json").is_file()
    page = (tmp_path / "doc" / "report.html").read_text(encoding="utf-8")
    assert "--set training.learning_rate=0.4" in page and "round_1/report.html" in page
    assert len(report.rounds) <= 3


@pytest.mark.slow
def test_doctor_reads_a_finished_run_folder_as_round_0(tmp_path):
    run = train(load_recipe(TINY, {"training.epochs": 2}), run_dir=tmp_path / "run", verbose=0)
    report = doctor(tmp_path / "run", rounds=1, run_dir=tmp_path / "doc", verbose=0)
    first = report.rounds[0]
    assert first.run_dir == (tmp_path / "run").resolve()
    assert [finding.kind for finding in first.findings if finding.role == "cause"] == ["stopped_too_early"]
    assert first.test_metrics == pytest.approx(run.test_metrics)
    second = report.rounds[1]
    assert second.recipe.training.epochs == 30 and second.recipe.callbacks.early_stopping.enabled
    assert second.val_loss < first.val_loss


def test_a_healthy_looking_run_is_not_retrained(tmp_path):
    report = doctor(load_recipe(TINY, {"training.epochs": 1}), rounds=3, run_dir=tmp_path / "doc", verbose=0)
    # A single epoch gives no slope to judge: no finding, nothing to fix, one round.
    assert len(report.rounds) == 1
    document = json.loads((tmp_path / "doc" / DOCTOR_FILE).read_text())
    assert document["best_round"] == 0 and document["best_fix"] == ""


def test_improvement_compares_losses_and_prefers_any_finite_loss_to_nan():
    assert improved(1.0, 0.5) and not improved(0.5, 0.5) and not improved(0.5, 1.0)
    assert improved(math.nan, 3.0) and not improved(3.0, math.nan) and not improved(math.nan, math.nan)


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ({"rounds": 0}, RecipeError, "rounds` must be a whole number >= 1. Received: rounds=0"),
        ({"overrides": {"data.split": {"train": 0.85, "val": 0.0, "test": 0.15}}}, RecipeError, "split.val"),
    ],
)
def test_doctor_refuses_what_it_cannot_judge_before_training(tmp_path, arguments, error, message):
    recipe = load_recipe(TINY, arguments.pop("overrides", {}))
    with pytest.raises(error, match=message):
        doctor(recipe, run_dir=tmp_path / "doc", verbose=0, **arguments)
    assert not (tmp_path / "doc").exists()


def test_doctor_on_an_incomplete_run_folder_or_a_taken_doctor_folder_is_a_run_dir_error(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(RunDirError, match="not a complete run folder"):
        doctor(tmp_path / "half", run_dir=tmp_path / "doc", verbose=0)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("mine")
    with pytest.raises(RunDirError, match="already exists and is not empty"):
        doctor(load_recipe(TINY), run_dir=tmp_path / "taken", verbose=0)
    assert (tmp_path / "taken" / "file").read_text() == "mine"


def test_every_run_folder_holds_a_machine_readable_diagnosis(tmp_path):
    train(load_recipe(TINY, {"training.epochs": 2}), run_dir=tmp_path / "run", verbose=0)
    record = json.loads((tmp_path / "run" / "diagnosis.json").read_text())
    assert record["healthy"] is False and record["top_cause"] == "stopped_too_early"
    (finding,) = [finding for finding in record["findings"] if finding["role"] == "cause"]
    assert finding["kind"] == "stopped_too_early" and finding["caused_by"] is None
    assert finding["changes"] == {"training.epochs": 30, "callbacks.early_stopping.enabled": True}
    assert finding["fix"] == "--set training.epochs=30 --set callbacks.early_stopping.enabled=true"
    assert finding["numbers"]["improvement_per_epoch"] > 0.01
    for other in record["findings"]:
        assert other["role"] == "cause" or (
            other["caused_by"] == "stopped_too_early" and other["changes"] == {}
        )


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["doctor", "no_such_recipe"], "no recipe file or bundled recipe named 'no_such_recipe'"),
        (
            ["doctor", "digits_mlp", "--set", "training.lerning_rate=1"],
            "did you mean `training.learning_rate`",
        ),
        (["doctor", "digits_mlp", "--rounds", "0"], "expected a whole number >= 1"),
    ],
)
def test_cli_doctor_mistakes_print_one_line_and_exit_2(capsys, arguments, message):
    try:
        status = main(arguments)
    except SystemExit as exit:  # argparse's own usage errors
        status = exit.code
    assert status == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_cli_doctor_set_on_a_run_folder_is_one_line(tmp_path, capsys):
    train(load_recipe(TINY, {"training.epochs": 1}), run_dir=tmp_path / "run", verbose=0)
    assert main(["doctor", str(tmp_path / "run"), "--set", "training.epochs=3"]) == 2
    error = capsys.readouterr().err
    assert "is a finished run folder" in error and error.count("\n") == 1


def test_cli_doctor_finds_recipe_mistakes_before_importing_tensorflow():
    code = (
        "import sys; from kerasforge.cli import main; "
        "status = main(['doctor', 'digits_mlp', '--set', 'training.epochs=zero']); "
        "print(status, 'tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=120,
    )
    assert result.stdout.split() == ["2", "False"], result.stderr
    assert "training.epochs" in result.stderr
