"""`write_report` and `kerasforge report`: one self-contained HTML page per run."""

import re
import shutil
import subprocess
import tempfile

import matplotlib.image
import numpy as np
import pytest

from kerasforge.cli import main
from kerasforge.errors import RunDirError
from kerasforge.recipes import RunRecord, load_recipe, train, write_report

RECIPE = {
    "name": "report_case",
    "seed": 1,
    "data": {"source": "digits", "max_train_rows": 300},
    "model": {"hidden": [16, 16]},
    "training": {"epochs": 3},
    "callbacks": {"early_stopping": {"enabled": False}},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report") / "run"
    train(load_recipe(RECIPE), run_dir=folder, verbose=0)
    return folder


def test_train_writes_the_report_and_the_data_description(run_dir):
    assert (run_dir / "report.html").is_file()
    assert (run_dir / "data.json").is_file()


def test_report_has_every_section_and_embeds_its_images(run_dir):
    page = write_report(run_dir).read_text(encoding="utf-8")
    for heading in (
        "Diagnosis",
        "Test metrics",
        "Loss and metric curves",
        "Per-layer gradient norms",
        "Learning rate",
        "Dead and saturated units",
        "Resolved recipe",
    ):
        assert f"<h2>{heading}</h2>" in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) >= 4
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    assert "<link" not in page and "<script" not in page


def test_report_shows_findings_with_evidence_and_fix(tmp_path):
    folder = tmp_path / "sick"
    recipe = load_recipe(
        RECIPE, ["training.optimizer=sgd", "training.learning_rate=1e-6", "training.epochs=7"]
    )
    train(recipe, run_dir=folder, verbose=0)
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "Learning rate too low" in page
    assert "--set training.learning_rate=" in page


def test_cli_report_prints_the_path(run_dir, capsys):
    assert main(["report", str(run_dir)]) == 0
    assert str(run_dir / "report.html") in capsys.readouterr().out


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda path: None, "does not exist"),
        (lambda path: path.mkdir(), "neither a run folder"),
        (
            lambda path: (path.mkdir(), (path / "history.csv").write_text("epoch,loss\n1,0.5\n")),
            "missing recipe.yaml, metrics.json",
        ),
    ],
)
def test_report_on_a_missing_or_incomplete_folder_is_a_run_dir_error(tmp_path, make, message):
    folder = tmp_path / "folder"
    make(folder)
    with pytest.raises(RunDirError, match=message):
        write_report(folder)


def test_cli_report_on_a_missing_folder_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_report_renders_in_a_headless_browser(run_dir, tmp_path):
    browser = _browser()
    if browser is None:
        reason = "no chromium on PATH (apt-get install chromium); .ci/run installs it"
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--window-size=1000,1600",
                f"--screenshot={shot}",
                (run_dir / "report.html").as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        dom = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--dump-dom",
                (run_dir / "report.html").as_uri(),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    assert "Healthy run" in dom or "Evidence" in dom
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (1600, 1000)
    not_white = np.any(pixels < 0.9, axis=-1).mean()
    assert not_white > 0.02  # text and the embedded plots were drawn
    coloured = (np.ptp(pixels, axis=-1) > 0.2).mean()
    assert coloured > 0.005  # the plots' colours, not just black text


# --- reading run folders back: a damaged or mistaken folder is one RunDirError line ---


@pytest.fixture
def copy_of_run(run_dir, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder)
    return folder


def test_report_on_a_file_says_it_is_a_file(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n1,0.5\n")
    for read in (write_report, RunRecord.read):
        with pytest.raises(RunDirError, match=r"history.csv' is a file, not a run folder"):
            read(path)


def test_report_on_a_missing_folder_says_it_does_not_exist(tmp_path):
    with pytest.raises(RunDirError, match=r"'.*nowhere' does not exist"):
        write_report(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "history, message",
    [
        (
            b"hello world\nthis is not a history\n",
            r"history.csv is damaged: it needs `epoch` and `loss` columns",
        ),
        (b"epoch,loss,val_loss\n", r"history.csv is damaged: it has no rows"),
        (b"", r"history.csv is not a CSV table \(No columns to parse from file\)"),
        (b"\x89\xfe\x00\x01binary", r"history.csv is not a CSV table \('utf-8' codec can't decode"),
        (
            b"epoch,loss\n1,0.5\n2,oops\n",
            r"history.csv is damaged: column 'loss' holds non-numbers such as '0.5'",
        ),
        (b"epoch,loss\n1,0.5\n3,0.4\n", r"history.csv is damaged: `epoch` must count 1, 2, ... 2"),
    ],
)
def test_a_damaged_history_is_an_error_not_a_healthy_run(copy_of_run, history, message):
    report = (copy_of_run / "report.html").read_bytes()
    (copy_of_run / "history.csv").write_bytes(history)
    with pytest.raises(RunDirError, match=r"cannot read run folder '.*run': " + message):
        write_report(copy_of_run)
    assert (copy_of_run / "report.html").read_bytes() == report  # the earlier report is kept


def test_a_truncated_history_is_reported(copy_of_run):
    text = (copy_of_run / "history.csv").read_text()
    (copy_of_run / "history.csv").write_text(text[: text.index("\n") + 5])
    with pytest.raises(RunDirError, match=r"history.csv is damaged: its last row is cut short"):
        RunRecord.read(copy_of_run)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("metrics.json", "[1, 2]", r"metrics.json must hold a JSON dict. Received a list"),
        ("metrics.json", "{not json", r"cannot read run folder .*Expecting property name"),
        ("events.json", '{"a": 1}', r"events.json must hold a JSON list"),
    ],
)
def test_damaged_json_files_are_named(copy_of_run, name, content, message):
    (copy_of_run / name).write_text(content)
    with pytest.raises(RunDirError, match=message):
        RunRecord.read(copy_of_run)


def test_a_run_whose_data_file_moved_is_still_readable(copy_of_run):
    recipe = copy_of_run / "recipe.yaml"
    recipe.write_text(recipe.read_text().replace("source: digits", "source: /gone/away.csv"))
    assert RunRecord.read(copy_of_run).recipe.data.source == "/gone/away.csv"


def test_an_older_run_monitoring_a_key_it_never_logged_is_still_readable(copy_of_run):
    recipe = copy_of_run / "recipe.yaml"
    recipe.write_text(recipe.read_text().replace("monitor: val_loss", "monitor: val_acc"))
    assert RunRecord.read(copy_of_run).recipe.callbacks.early_stopping.monitor == "val_acc"
