"""`get_config`/`from_config` read off the `__init__` signature.

Every configurable class here stores each `__init__` argument under its own
name, so its config is exactly those attributes; this mixin spares each class
a hand-written copy of its argument list.
"""

from __future__ import annotations

import inspect
from typing import Any


class ConfigFromInit:
    """Mixin: `get_config()` returns the `__init__` arguments as stored."""

    def get_config(self) -> dict[str, Any]:
        parameters = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in list(parameters)[1:]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        return cls(**config)
