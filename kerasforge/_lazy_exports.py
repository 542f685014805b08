"""Package names imported on first use, so importing a package stays cheap."""

import importlib


def lazy_exports(package: str, exports: dict[str, str], namespace: dict):
    """Returns a package's `__getattr__` and `__dir__` for names imported on first use.

    Args:
        package: The package's `__name__`.
        exports: Public name -> the submodule (relative to `package`) defining it.
        namespace: The package's `globals()`. A name is stored there once
            imported: importing a submodule sets it as an attribute of the
            package, which would shadow a function of the same name
            (`kerasforge.tuning.run_search`).

    Example:

    ```python
    __getattr__, __dir__ = lazy_exports(__name__, {"train": "training_run"}, globals())
    ```
    """

    def __getattr__(name):
        if name in exports:
            namespace[name] = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
            return namespace[name]
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__
