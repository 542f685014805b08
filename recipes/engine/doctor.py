"""`doctor`: diagnose a run, apply the top cause's fix, retrain, and show whether it helped."""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import keras

from kerasforge._keras_compat import print_msg
from kerasforge.errors import RecipeError
from kerasforge.recipes.diagnosis.registry import (
    CAUSE,
    Finding,
    diagnose,
    diagnosis_record,
    format_changes,
    json_number,
)
from kerasforge.recipes.engine.describe_data import describe_data
from kerasforge.recipes.engine.prepare_data import PreparedData, prepare_data
from kerasforge.recipes.engine.raw_model import column_keyed_inputs
from kerasforge.recipes.engine.run import train
from kerasforge.recipes.engine.run_folder import RunFolder
from kerasforge.recipes.reports.doctor_report import write_doctor_report
from kerasforge.recipes.reports.run_record import RunRecord
from kerasforge.recipes.schema.loading import apply_overrides
from kerasforge.recipes.schema.recipe import Recipe

DOCTOR_FILE = "doctor.json"


@dataclass
class DoctorRound:
    """One trained (or read) run of a doctor session, and its diagnosis.

    Attributes:
        index: 0 for the run as given, then 1, 2, ... for each fix applied.
        recipe: The recipe this round trained.
        val_loss: Loss of the returned model on the validation split.
        test_metrics: Metric name -> value on the test split.
        findings: The run's diagnosis, causes first.
        applied: The finding whose fix produced this round (None for round 0).
        run_dir: The round's run folder (inside the doctor folder, or the folder
            `doctor` was given for round 0).
    """

    index: int
    recipe: Recipe
    val_loss: float
    test_metrics: dict
    findings: list[Finding]
    applied: Finding | None = None
    run_dir: Path = Path()

    @property
    def top_cause(self) -> Finding | None:
        """The first cause with a recipe change to try, if any."""
        return next((finding for finding in self.findings if finding.role == CAUSE and finding.changes), None)


@dataclass
class DoctorReport:
    """The outcome of `doctor`: every round, and which was best.

    Attributes:
        rounds: Round 0 (the run as given) and one round per fix tried.
        run_dir: The doctor folder (`doctor.json`, `report.html`, `round_N/`).
    """

    rounds: list[DoctorRound] = field(default_factory=list)
    run_dir: Path | None = None

    @property
    def best(self) -> DoctorRound:
        """The round with the lowest validation loss (NaN counts as worst)."""
        return min(self.rounds, key=lambda entry: _order(entry.val_loss))

    def to_dict(self) -> dict:
        """The JSON document written as `doctor.json`."""
        rounds = []
        for previous, entry in zip([None, *self.rounds], self.rounds, strict=False):
            item = {
                "round": entry.index,
                "run_dir": str(entry.run_dir),
                "val_loss": json_number(entry.val_loss),
                "test": {key: json_number(value) for key, value in entry.test_metrics.items()},
                "diagnosis": diagnosis_record(entry.findings),
            }
            if entry.applied is not None and previous is not None:
                item["applied"] = {
                    "kind": entry.applied.kind,
                    "changes": entry.applied.changes,
                    "fix": entry.applied.fix,
                }
                item["val_loss_before"] = json_number(previous.val_loss)
                item["improved"] = improved(previous.val_loss, entry.val_loss)
                item["finding_gone"] = entry.applied.kind not in {finding.kind for finding in entry.findings}
            rounds.append(item)
        best = self.best
        changes = {}
        for entry in self.rounds[1 : best.index + 1]:
            changes.update(entry.applied.changes)
        return {
            "recipe": self.rounds[0].recipe.name,
            "rounds": rounds,
            "best_round": best.index,
            "best_changes": changes,
            "best_fix": format_changes(changes),
        }


def _order(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def improved(before: float, after: float) -> bool:
    """Whether a validation loss went down (any finite loss beats a NaN one)."""
    return _order(after) < _order(before)


def validation_loss(model: keras.Model, data: PreparedData) -> float:
    """The loss of `model` on the validation split, as Keras computes it (penalties included).

    `model` is a run's network (encoded inputs) or a saved `model.keras` (a dict of raw columns).
    """
    if not isinstance(model.input, dict):
        result = model.evaluate(data.dataset("val", 256), verbose=0, return_dict=True)
    elif data.stream is not None:
        result = model.evaluate(data.stream.dataset("val", 256, raw=True), verbose=0, return_dict=True)
    else:
        result = model.evaluate(data.raw["val"], data.y_val, batch_size=256, verbose=0, return_dict=True)
    return float(result["loss"])


def _check_validation(recipe: Recipe) -> None:
    if recipe.data.split.val <= 0:
        raise RecipeError(
            f"doctor judges a fix by the validation loss, but `data.split.val` is "
            f"{recipe.data.split.val}; set data.split.val > 0 (e.g. --set data.split.val=0.15)"
        )


def _round_from_training(index, recipe, folder, data, applied, verbose) -> tuple[DoctorRound, tuple]:
    """Trains one round; reuses the previous round's split unless the fix changed the data section."""
    if data is not None and data[1] != recipe.data:
        data = None  # prepared again from the same seed: the same rows in each split
    run = train(recipe, run_dir=folder, verbose=verbose, data=data[0] if data else None)
    findings = diagnose(run.history, run.recipe, run.events, describe_data(run.recipe, run.data))
    entry = DoctorRound(
        index,
        recipe,
        validation_loss(run.model, run.data),
        run.test_metrics,
        findings,
        applied,
        Path(folder.name),
    )
    return entry, (run.data, recipe.data)


def _round_from_folder(path: Path) -> tuple[DoctorRound, tuple]:
    """Reads a finished run folder as round 0 and measures its model on the validation split."""
    record = RunRecord.read(path)
    _check_validation(record.recipe)
    data = prepare_data(record.recipe)
    with column_keyed_inputs():
        model = keras.models.load_model(path / "model.keras")
    entry = DoctorRound(
        0,
        record.recipe,
        validation_loss(model, data),
        record.metrics.get("test", {}),
        record.findings(),
        run_dir=path.resolve(),
    )
    return entry, (data, record.recipe.data)


def doctor(
    source: Recipe | str | Path,
    rounds: int = 3,
    run_dir: str | Path | None = None,
    runs_root: str | Path = "runs",
    verbose: int = 1,
) -> DoctorReport:
    """Diagnoses a run, applies its top cause's fix and retrains, while each round helps.

    Round 0 is the run as given: a recipe is trained, a finished run folder is
    read. Each following round applies the fix (`Finding.changes`) of the
    previous round's top cause and retrains with the same seed on the same
    split. A round counts as an improvement when the returned model's
    validation loss went down. Rounds continue while each improves, up to
    `rounds` fixes, and stop early when a run has no finding with a fix.
    The doctor folder holds `doctor.json` (every round's val loss, test
    metrics, diagnosis, the fix applied, whether it improved and whether its
    finding is gone), `report.html`, and one run folder per trained round.

    Args:
        source: A validated `Recipe`, or the path of a run folder written by `train`.
        rounds: Integer >= 1. Most fixes to try. Defaults to `3`.
        run_dir: The doctor folder; must not exist or be empty. Defaults to
            `RUNS_ROOT/NAME-doctor-TIMESTAMP`.
        runs_root: Parent of default folders. Defaults to `runs`.
        verbose: Integer. 0 silent, 1 one line per round, 2 also each run's training.

    Returns:
        A `DoctorReport`.

    Raises:
        RecipeError: if the recipe has no validation split or `rounds` < 1.
        RunDirError: if `source` is not a complete run folder, or `run_dir` is taken.

    Example:

    ```python
    report = doctor(load_recipe("digits_mlp", ["training.learning_rate=4.0"]), rounds=1)
    report.rounds[1].val_loss < report.rounds[0].val_loss
    ```
    """
    if not isinstance(rounds, int) or rounds < 1:
        raise RecipeError(f"`rounds` must be a whole number >= 1. Received: rounds={rounds!r}")
    from_folder = not isinstance(source, Recipe)
    name = RunRecord.read(source).recipe.name if from_folder else source.name
    if not from_folder:
        _check_validation(source)
    folder = RunFolder(f"{name}-doctor", run_dir, runs_root)
    report = DoctorReport()
    train_verbose = 2 if verbose >= 2 else 0
    with folder:
        if from_folder:
            current, data = _round_from_folder(Path(source))
        else:
            current, data = _round_from_training(
                0, source, folder.staging / "round_0", None, None, train_verbose
            )
        report.rounds.append(current)
        _say(verbose, current)
        while len(report.rounds) <= rounds:
            cause = current.top_cause
            if cause is None:
                break
            recipe = apply_overrides(current.recipe, cause.changes, origin=f"doctor fix for {cause.kind}")
            if recipe == current.recipe:
                break
            index = len(report.rounds)
            entry, data = _round_from_training(
                index, recipe, folder.staging / f"round_{index}", data, cause, train_verbose
            )
            report.rounds.append(entry)
            _say(verbose, entry, current)
            if not improved(current.val_loss, entry.val_loss):
                break
            current = entry
        document = report.to_dict()
        (folder.staging / DOCTOR_FILE).write_text(json.dumps(document, indent=2, default=float) + "\n")
        write_doctor_report(folder.staging, document)
        report.run_dir = folder.commit()
    for entry in report.rounds:
        if not entry.run_dir.is_absolute():
            entry.run_dir = report.run_dir / entry.run_dir
    if verbose:
        print_msg(f"doctor folder: {report.run_dir}")
    return report


def _say(verbose: int, entry: DoctorRound, previous: DoctorRound | None = None) -> None:
    if not verbose:
        return
    kinds = ", ".join(finding.kind for finding in entry.findings if finding.role == CAUSE) or "healthy"
    head = f"round {entry.index}"
    if previous is not None:
        verdict = "improved" if improved(previous.val_loss, entry.val_loss) else "did not improve"
        head += f" ({entry.applied.kind}: {entry.applied.fix}): {verdict}"
    print_msg(f"{head}: val_loss {entry.val_loss:.4g}; diagnosis: {kinds}")
