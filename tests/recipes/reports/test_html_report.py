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
from kerasforge.recipes import load_recipe, train, write_report

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
