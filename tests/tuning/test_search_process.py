"""A search's chief and workers start through a Python entry point fed with run_search's own arguments."""

import json

import pytest

from kerasforge.tuning.search_process import main, write_spec


def test_spec_holds_the_recipe_and_run_search_arguments(tmp_path):
    path = write_spec(tmp_path / "worker.json", tmp_path / "recipe.yaml", tuner="random", role="worker")
    assert json.loads(path.read_text()) == {
        "recipe": str(tmp_path / "recipe.yaml"),
        "tuner": "random",
        "role": "worker",
    }


def test_an_argument_run_search_does_not_take_fails_loudly(tmp_path):
    spec = write_spec(tmp_path / "chief.json", "digits_mlp", tunr="random", role="chief")
    with pytest.raises(TypeError, match="unexpected keyword argument 'tunr'"):
        main([str(spec)])


def test_a_user_mistake_in_the_spec_is_one_line_and_exit_2(tmp_path, capsys):
    spec = write_spec(tmp_path / "worker.json", "digits_mlp", tuner="annealing", role="worker")
    assert main([str(spec)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
