"""`kerasforge tune --prune`: a bad mode is one line and exit 2, before any backend or folder."""


def test_the_prune_flag_is_checked_before_anything_runs(kerasforge, tmp_path):
    completed = kerasforge("tune", "digits_mlp", "--prune", "sometimes", "--run-dir", tmp_path / "s")
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "--prune" in lines[0] and "'sometimes'" in lines[0]
    assert "diagnosis" in lines[0] and "median" in lines[0]
    assert not (tmp_path / "s").exists()
