"""The kerasforge error hierarchy.

Every mistake a user can make (a bad recipe key, a missing CSV column, a bad
command-line argument) raises a subclass of `KerasforgeError`. The CLI catches
exactly these, prints one line and exits with status 2; anything else is a bug
and may show a traceback.

Each class also subclasses the built-in exception a Python caller would expect,
so `except ValueError` keeps working.
"""


class KerasforgeError(Exception):
    """Base class for every user-facing kerasforge error."""


class RecipeError(KerasforgeError, ValueError):
    """A recipe is malformed: unknown key, wrong type, out-of-range value."""


class DataError(KerasforgeError, ValueError):
    """Input data cannot be used: missing column, NaN, empty, unencodable."""


class RecipeNotFoundError(KerasforgeError, FileNotFoundError):
    """A recipe path or bundled recipe name does not exist."""


class RunDirError(KerasforgeError, ValueError):
    """A run folder is missing, incomplete or would be overwritten."""


class ArgumentError(KerasforgeError, ValueError):
    """An argument of a command or function is out of range (e.g. `lr-find --steps 1`)."""


class TuningError(KerasforgeError, ValueError):
    """A search space or search setting is invalid, or a search cannot go on."""


class BackendMissingError(KerasforgeError, ImportError):
    """No Keras backend is installed."""


class TrainingStoppedError(KerasforgeError, RuntimeError):
    """A health monitor with `on_detect: raise` stopped training; nothing was written."""


class ClusterError(KerasforgeError, RuntimeError):
    """A multi-process run cannot go on: a process could not join, or another one died."""
