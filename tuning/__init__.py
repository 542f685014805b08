"""Installed as `kerasforge.tuning`: KerasTuner search over recipes.

A search is a recipe plus a search space (its `search:` section): every
trial is the base recipe with some fields overridden, built, trained and
recorded by the recipe engine.
"""

from kerasforge.tuning.recipe_hyper_model import RecipeHyperModel
from kerasforge.tuning.recipe_tuner import RecipeTuner, make_tuner
from kerasforge.tuning.run_search import run_search
from kerasforge.tuning.search_cluster import SearchCluster
from kerasforge.tuning.search_folder import SearchFolder
from kerasforge.tuning.search_plan import SearchPlan
from kerasforge.tuning.search_result import SearchResult
from kerasforge.tuning.search_space import SearchSpace
from kerasforge.tuning.trial_table import load_histories, load_trials

__all__ = [
    "RecipeHyperModel",
    "RecipeTuner",
    "SearchCluster",
    "SearchFolder",
    "SearchPlan",
    "SearchResult",
    "SearchSpace",
    "load_histories",
    "load_trials",
    "make_tuner",
    "run_search",
]
