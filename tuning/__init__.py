"""Installed as `kerasforge.tuning`: KerasTuner search over recipes.

A search is a recipe plus a search space (its `search:` section): every
trial is the base recipe with some fields overridden, built, trained and
recorded by the recipe engine.

Names are imported on first use, so the command line can check a search's
arguments and folder (`search_arguments`, `search_folder`) before it imports
TensorFlow and KerasTuner.
"""

from kerasforge._lazy_exports import lazy_exports

_PUBLIC = {
    "RecipeHyperModel": "recipe_hyper_model",
    "RecipeTuner": "recipe_tuner",
    "SearchFolder": "search_folder",
    "SearchPlan": "search_plan",
    "SearchResult": "search_result",
    "SearchSpace": "search_space",
    "WorkerPool": "worker_pool",
    "load_histories": "trial_table",
    "load_trials": "trial_table",
    "make_tuner": "recipe_tuner",
    "run_search": "run_search",
}

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC, globals())
