"""kerasforge: a Keras 3 training toolkit.

YAML recipes build and train Keras models; training-health callbacks watch
gradients, activations and learning rates; KerasTuner searches over recipes.

The top-level names are imported lazily, so `import kerasforge` (and
`kerasforge --help`) stays fast and does not import TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_LAZY_ATTRIBUTES = {
    "build_model": "kerasforge.recipes",
    "load_recipe": "kerasforge.recipes",
    "train": "kerasforge.recipes",
    "Recipe": "kerasforge.recipes",
}

__all__ = sorted(["__version__", *_LAZY_ATTRIBUTES])


def __getattr__(name):
    if name in _LAZY_ATTRIBUTES:
        module = importlib.import_module(_LAZY_ATTRIBUTES[name])
        return getattr(module, name)
    raise AttributeError(f"module 'kerasforge' has no attribute {name!r}")
