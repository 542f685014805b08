"""The import contract of docs/ARCHITECTURE.md, checked on the source of every module.

Imports go one way: cli -> tuning -> recipes -> data, callbacks. `data` and
`callbacks` import no other layer, so they work on their own; inside `recipes`,
the schema imports no Keras backend, so `validate`, `list` and `schema` answer at
once. Every layer may import the shared leaves (`kerasforge.errors` and the
compatibility modules). Imports inside functions count too: a lazy import up the
layers is still an import up the layers.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Source folder -> the package it is installed as (setup.cfg's package_dir).
FOLDERS = {
    "kerasforge": "kerasforge",
    "recipes": "kerasforge.recipes",
    "callbacks": "kerasforge.callbacks",
    "tuning": "kerasforge.tuning",
    "data": "kerasforge.data",
}
# Modules every layer may import.
LEAVES = (
    "kerasforge.errors",
    "kerasforge.checks",
    "kerasforge._keras_compat",
    "kerasforge.layers",
    "kerasforge._lazy_exports",
    "kerasforge._stop_signals",
    "kerasforge.vocabulary",
)
# Package -> the kerasforge packages it may import besides itself and the leaves.
ALLOWED = {
    "kerasforge.cli": ("kerasforge",),
    "kerasforge.tuning": ("kerasforge.recipes", "kerasforge.data", "kerasforge.callbacks"),
    "kerasforge.recipes": ("kerasforge.data", "kerasforge.callbacks"),
    "kerasforge.data": (),
    "kerasforge.callbacks": (),
}
# Inside recipes: subpackage -> the sibling subpackages it may import. The schema knows
# nothing of running; the diagnosis reads runs; reports draw runs and their diagnosis.
RECIPES_ALLOWED = {
    "schema": (),
    "diagnosis": ("schema",),
    "reports": ("schema", "diagnosis"),
    "engine": ("schema", "diagnosis", "reports"),
}
BACKENDS = ("keras", "tensorflow", "jax", "torch", "keras_tuner")
# Packages that must not import a Keras backend anywhere; the CLI not at module level.
BACKEND_FREE = (
    "kerasforge.recipes.schema",
    "kerasforge.recipes.engine.model_memory",
    "kerasforge.recipes.engine.run_model_files",
    "kerasforge.errors",
    "kerasforge.vocabulary",
)


def _modules():
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join([package, *parts]), path


MODULES = dict(_modules())


def _imports(module: str, path: Path, top_level_only: bool = False):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    is_package = path.name == "__init__.py"
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + is_package]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module
            for alias in node.names:
                # `from package import module` imports the module; anything else, the package.
                yield f"{name}.{alias.name}" if f"{name}.{alias.name}" in MODULES else name


def _layer(module: str) -> str | None:
    return next((layer for layer in ALLOWED if module == layer or module.startswith(f"{layer}.")), None)


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def test_every_package_folder_is_found():
    assert {"kerasforge.cli", "kerasforge.recipes.schema", "kerasforge.callbacks", "kerasforge.data"} <= set(
        MODULES
    )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module):
    layer = _layer(module)
    if layer is None:
        return  # kerasforge's own leaves and __init__: checked below
    allowed = (layer, *ALLOWED[layer], *LEAVES)
    wrong = [
        name
        for name in _imports(module, MODULES[module])
        if name == "kerasforge"
        and layer != "kerasforge.cli"
        or _within(name, "kerasforge")
        and name != "kerasforge"
        and not any(_within(name, package) for package in allowed)
    ]
    assert wrong == [], f"{module} imports up or across the layers: {wrong}"


@pytest.mark.parametrize(
    "module",
    [name for name in sorted(MODULES) if name.count(".") >= 2 and _within(name, "kerasforge.recipes")],
)
def test_recipes_subpackages_import_down_their_own_layers(module):
    own = module.split(".")[2]
    allowed = [f"kerasforge.recipes.{package}" for package in (own, *RECIPES_ALLOWED[own])]
    wrong = [
        name
        for name in _imports(module, MODULES[module])
        if _within(name, "kerasforge.recipes")
        and name != "kerasforge.recipes"
        and not any(_within(name, package) for package in allowed)
    ]
    assert wrong == [], f"{module} imports {wrong}"


@pytest.mark.parametrize(
    "module", [name for name in sorted(MODULES) if any(_within(name, leaf) for leaf in LEAVES)]
)
def test_leaves_import_no_other_kerasforge_module(module):
    leaf = next(leaf for leaf in LEAVES if _within(module, leaf))
    names = [
        name
        for name in _imports(module, MODULES[module])
        if _within(name, "kerasforge") and not _within(name, leaf)
    ]
    assert names == []


@pytest.mark.parametrize(
    "module", [name for name in sorted(MODULES) if any(_within(name, free) for free in BACKEND_FREE)]
)
def test_schema_imports_no_keras_backend(module):
    backends = [name for name in _imports(module, MODULES[module]) if name.split(".")[0] in BACKENDS]
    assert backends == [], f"{module} imports {backends}"


def test_cli_imports_no_backend_at_module_level():
    names = list(_imports("kerasforge.cli", MODULES["kerasforge.cli"], top_level_only=True))
    assert [name for name in names if name.split(".")[0] in BACKENDS] == []
