"""`kerasforge predict`/`evaluate` on hand-made files a reviewer would try: a result or ONE line, exit 2."""

import numpy as np
import pandas as pd
import pytest

from kerasforge.cli import main


def cli(capsys, *arguments):
    """Runs the CLI in-process: `(exit status, stdout, stderr lines)`; a traceback fails the test."""
    code = main([str(argument) for argument in arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip().splitlines()


def header_only(rows, path):
    path.write_text(",".join(rows.columns) + "\n")
    return r"Data file '.*new\.csv' has no rows"


def empty(rows, path):
    path.write_text("")
    return r"Data file '.*new\.csv' is empty"


def semicolons(rows, path):
    rows.to_csv(path, index=False, sep=";")
    return r"Data file '.*new\.csv' reads as one column 'alcohol;region;acid.*': it looks separated by ';'"


def thousands_separators(rows, path):
    rows.assign(alcohol=[f"{1000 * value:,.0f}" for value in rows["alcohol"]]).to_csv(path, index=False)
    return r"Column 'alcohol' holds '1\d,\d{3}' in row 1; it was numeric in training, so it takes numbers"


def infinite(rows, path):
    rows.assign(acid=np.where(rows.index == 2, np.inf, rows["acid"])).to_csv(path, index=False)
    return r"Column 'acid' holds inf in row 3; the model takes finite numbers"


def latin_1(rows, path):
    path.write_bytes(rows.assign(region="Zürich").to_csv(index=False).encode("latin-1"))
    return r"Data file '.*new\.csv' is not UTF-8: byte 0xfc at offset \d+ .* Save it as UTF-8"


@pytest.mark.slow
@pytest.mark.parametrize("command", ["predict", "evaluate"])
@pytest.mark.parametrize(
    "make_file",
    [header_only, empty, semicolons, thousands_separators, latin_1, infinite],
    ids=lambda make: make.__name__,
)
def test_a_file_predict_cannot_read_is_one_line_and_exit_2(
    capsys, wine_run, wine_frame, tmp_path, command, make_file
):
    run, _ = wine_run
    message = make_file(wine_frame(rows=12, seed=5), tmp_path / "new.csv")
    out = tmp_path / ("out.csv" if command == "predict" else "out.json")
    code, _, lines = cli(capsys, command, run.run_dir, tmp_path / "new.csv", "--out", out)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("kerasforge: error: ")
    if command == "evaluate" and make_file in (thousands_separators, infinite):
        message = r"Target column 'grape' is not in the data|" + message
    assert pd.Series(lines).str.contains(message).all(), lines
    assert sorted(path.name for path in tmp_path.iterdir()) == ["new.csv"]


@pytest.mark.slow
def test_predict_and_evaluate_take_extra_columns_in_another_order(capsys, wine_run, wine_frame, tmp_path):
    run, _ = wine_run
    rows = wine_frame(rows=30, seed=6)
    rows.assign(note="unused", id=range(30))[["note", "grape", "acid", "id", "region", "alcohol"]].to_csv(
        tmp_path / "new.csv", index=False
    )
    code, out, lines = cli(
        capsys, "predict", run.run_dir, tmp_path / "new.csv", "--out", tmp_path / "out.csv"
    )
    assert code == 0, lines
    assert out.strip().endswith("predicted 30 rows: " + str(tmp_path / "out.csv"))
    reference = tmp_path / "reference.csv"
    rows.drop(columns=["grape"]).to_csv(tmp_path / "plain.csv", index=False)
    assert cli(capsys, "predict", run.run_dir, tmp_path / "plain.csv", "--out", reference)[0] == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out.csv"), pd.read_csv(reference))
    code, out, lines = cli(capsys, "evaluate", run.run_dir, tmp_path / "new.csv")
    assert code == 0 and out.startswith("accuracy="), lines
