import pytest

from kerasforge.errors import RunDirError, TuningError
from kerasforge.tuning import SearchFolder, run_search


def _folder(path, recipe, tuner="random", overwrite=False):
    return SearchFolder(path, recipe, tuner, "val_loss", "min", overwrite=overwrite)


def test_new_folder_is_not_a_resume(tiny_recipe, tmp_path):
    assert _folder(tmp_path / "s", tiny_recipe()).prepare() is False
    assert (tmp_path / "s" / "search.json").exists()


def test_same_search_with_more_trials_is_accepted(tiny_recipe, tmp_path):
    _folder(tmp_path, tiny_recipe()).prepare()
    more = tiny_recipe(search={**tiny_recipe().search.model_dump(), "max_trials": 9})
    assert _folder(tmp_path, more).prepare() is False  # no KerasTuner project yet


@pytest.mark.parametrize(
    "change, match",
    [
        ({"seed": 4}, r"holds a different search \(recipe.seed: 3 -> 4\)"),
        ({"tuner": "grid"}, r"holds a different search \(tuner: 'random' -> 'grid'\)"),
    ],
)
def test_folder_of_a_different_search_is_refused(change, match, tiny_recipe, tmp_path):
    _folder(tmp_path, tiny_recipe()).prepare()
    recipe = tiny_recipe(seed=change.get("seed", 3))
    with pytest.raises(TuningError, match=match):
        _folder(tmp_path, recipe, tuner=change.get("tuner", "random")).prepare()


def test_overwrite_starts_a_search_folder_afresh(tiny_recipe, tmp_path):
    _folder(tmp_path, tiny_recipe()).prepare()
    (tmp_path / "keras_tuner").mkdir()
    assert _folder(tmp_path, tiny_recipe(seed=4), overwrite=True).prepare() is False
    assert not (tmp_path / "keras_tuner").exists()


def test_folder_that_is_not_a_search_is_never_deleted(tiny_recipe, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(TuningError, match="is not a kerasforge search folder"):
        _folder(tmp_path, tiny_recipe(), overwrite=True).prepare()
    assert (tmp_path / "notes.txt").exists()


def test_a_search_folder_that_cannot_be_made_is_one_clear_error(tiny_recipe, tmp_path):
    (tmp_path / "afile").touch()
    with pytest.raises(
        RunDirError, match=r"cannot create the folder '.*afile/s': '.*afile' is a file, not a folder"
    ):
        _folder(tmp_path / "afile" / "s", tiny_recipe()).prepare()


def test_an_empty_search_folder_name_is_refused_before_anything_runs(tiny_recipe, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RunDirError, match=r"Argument `run_dir` must name a folder. Received: run_dir=''"):
        run_search(tiny_recipe(), run_dir="", verbose=0)
    assert list(tmp_path.iterdir()) == []
