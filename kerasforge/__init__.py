"""kerasforge: a Keras 3 training toolkit.

YAML recipes build and train Keras models; training-health callbacks watch
gradients, activations and learning rates; KerasTuner searches over recipes.

The names below are imported on first use, so `import kerasforge` (and
`kerasforge --help`) stays fast and does not import a Keras backend. Type
checkers and IDEs see them through the `TYPE_CHECKING` imports.

Example:

```python
import kerasforge

run = kerasforge.train(kerasforge.load_recipe("digits_mlp", ["training.epochs=3"]))
```
"""

import importlib
import importlib.abc
import importlib.util
import sys
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from kerasforge import callbacks, data, errors, recipes, tuning
    from kerasforge.recipes import (
        Recipe,
        apply_overrides,
        build_model,
        compare,
        diagnose,
        load_recipe,
        train,
    )
    from kerasforge.tuning import run_search

# Name -> the module that defines it; a module name maps to itself.
_LAZY = {
    "Recipe": "kerasforge.recipes",
    "apply_overrides": "kerasforge.recipes",
    "build_model": "kerasforge.recipes",
    "compare": "kerasforge.recipes",
    "diagnose": "kerasforge.recipes",
    "load_recipe": "kerasforge.recipes",
    "run_search": "kerasforge.tuning",
    "train": "kerasforge.recipes",
    "callbacks": "kerasforge.callbacks",
    "data": "kerasforge.data",
    "errors": "kerasforge.errors",
    "recipes": "kerasforge.recipes",
    "tuning": "kerasforge.tuning",
}

__all__ = [
    "Recipe",
    "__version__",
    "apply_overrides",
    "build_model",
    "callbacks",
    "compare",
    "data",
    "diagnose",
    "errors",
    "load_recipe",
    "recipes",
    "run_search",
    "train",
    "tuning",
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'kerasforge' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    return module if module.__name__.endswith(f".{name}") else getattr(module, name)


def __dir__() -> list[str]:
    return __all__


class _RegisterLayersAfterKeras(importlib.abc.MetaPathFinder):
    """Imports `kerasforge.layers` right after `keras` itself is imported."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            importlib.import_module("kerasforge.layers")

        spec.loader.exec_module = exec_module
        return spec


# A run's model.keras holds three kerasforge layers (`kerasforge.layers`); Keras loads them by
# their registered names, so `import kerasforge` must be enough to load one with plain
# `keras.saving.load_model`. Importing keras here would make every `kerasforge --help` wait for
# TensorFlow, so the layers are registered as soon as keras is imported, whenever that is.
if "keras" in sys.modules:
    importlib.import_module("kerasforge.layers")
elif not any(isinstance(finder, _RegisterLayersAfterKeras) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterLayersAfterKeras())
