"""The public names: visible to `dir()` and type checkers, importable, and light to import."""

import ast
import importlib
import inspect
import subprocess
import sys

import pytest

import kerasforge
import kerasforge.recipes

PACKAGES = [
    "kerasforge",
    "kerasforge.recipes",
    "kerasforge.callbacks",
    "kerasforge.data",
    "kerasforge.tuning",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_is_listed_sorted_and_importable(name):
    package = importlib.import_module(name)
    assert package.__all__ == sorted(package.__all__)
    for public in package.__all__:
        assert getattr(package, public) is not None, public
    assert set(package.__all__) <= set(dir(package))


@pytest.mark.parametrize("package", [kerasforge, kerasforge.recipes])
def test_lazy_names_are_the_names_type_checkers_see(package):
    tree = ast.parse(inspect.getsource(package))
    block = next(
        node for node in tree.body if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
    )
    seen = {
        alias.asname or alias.name
        for node in ast.walk(block)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == set(package.__all__) - {"__version__"}


def test_dir_of_kerasforge_lists_the_api_not_its_imports():
    assert {"train", "load_recipe", "callbacks", "__version__"} <= set(dir(kerasforge))
    assert "importlib" not in dir(kerasforge)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'trian'"):
        kerasforge.trian  # noqa: B018


def test_importing_kerasforge_and_the_schema_imports_no_backend():
    code = (
        "import sys, kerasforge, kerasforge.recipes.schema; "
        "print(any(name in sys.modules for name in ('keras', 'tensorflow', 'jax', 'torch')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
