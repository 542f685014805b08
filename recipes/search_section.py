"""The `search:` section of a recipe: the KerasTuner search space.

Placeholder owned by the tuning work (issue 4); it only accepts a mapping for now.
"""

from typing import Any

from pydantic import RootModel


class SearchSection(RootModel[dict[str, Any]]):
    """A search space over recipe fields."""
