"""Reading recipes from YAML files, bundled names and `--set` overrides."""

import copy
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kerasforge.errors import DataError, RecipeError, RecipeNotFoundError
from kerasforge.recipes.schema.claims import claim_metric_errors, measured_metrics
from kerasforge.recipes.schema.messages import dotted_path, show_key, show_value, validation_message
from kerasforge.recipes.schema.recipe import FINISHED_RUN, Recipe

LIBRARY_DIR = Path(__file__).resolve().parent.parent / "library"


def bundled_recipes() -> dict[str, Path]:
    """Returns the bundled recipes, name -> path, sorted by name."""
    return {path.stem: path for path in sorted(LIBRARY_DIR.glob("*.yaml"))}


def resolve_recipe_path(source: str | Path) -> Path:
    """Finds the YAML file for a path or a bundled recipe name.

    Raises:
        RecipeNotFoundError: if `source` is neither an existing file nor a
            bundled recipe name.
    """
    path = Path(source)
    if path.is_file():
        return path
    if path.is_dir() and str(source) not in ("", "."):
        raise RecipeNotFoundError(f"{str(source)!r} is a folder; give a recipe .yaml file in it")
    bundled = bundled_recipes()
    if str(source) in bundled:
        return bundled[str(source)]
    if path.suffix in (".yaml", ".yml") or path.parent != Path("."):
        raise RecipeNotFoundError(f"recipe file not found: {str(source)!r}")
    raise RecipeNotFoundError(
        f"no recipe file or bundled recipe named {str(source)!r}; bundled recipes: {', '.join(bundled)}"
    )


class _RecipeLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that reads `1e-3`, `1e3` and `1.0e3` as numbers, as YAML 1.2 does.

    PyYAML follows YAML 1.1, where an exponent needs a dot and a sign, so
    `1e-3` would be the string "1e-3" and `epochs: 1e3` a type error.
    """


_RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)

# Aliases can make a few lines expand into millions of values ("billion laughs").
MAX_YAML_VALUES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"
# File signatures of things people pass by mistake, so the message can say what it is.
_BINARY_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a zip archive (a .keras model is one)",
    b"\x1f\x8b": "a gzip archive",
    b"\x89HDF": "an HDF5 file",
    b"PAR1": "a parquet file",
}


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context_mark = getattr(error, "context_mark", None)
    if context_mark is not None and getattr(error, "context", None):
        problem += f" ({error.context} at line {context_mark.line + 1})"
    if isinstance(error, yaml.constructor.ConstructorError):
        # Unknown tags such as `!!python/object` land here: safe loading refuses them.
        return f"YAML error{where}: {problem}; only plain YAML values (no Python tags) are read"
    return f"YAML syntax error{where}: {problem}"


class _NodeCheck:
    """Walks a composed YAML tree once, before anything is constructed.

    Finds duplicate keys in a mapping (PyYAML would keep the last silently),
    aliases that refer to themselves, text that is not valid Unicode, and
    documents whose aliases expand into more than `MAX_YAML_VALUES` values.
    """

    def __init__(self, loader: yaml.SafeLoader, where: str):
        self.loader = loader
        self.where = where
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def size(self, node, path: tuple) -> int:
        """The number of values `node` expands to, checking it on the first visit."""
        if id(node) in self.sizes:
            return self.sizes[id(node)]
        if id(node) in self.open:
            raise RecipeError(
                f"{self.where}: `{dotted_path(path)}` at line {node.start_mark.line + 1} "
                "contains itself through an alias"
            )
        self.open.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            total = 1
            self._check_text(node, path)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(self.size(item, (*path, index)) for index, item in enumerate(node.value))
        else:
            total = 1 + self._mapping_size(node, path)
        self.open.discard(id(node))
        if total > MAX_YAML_VALUES:
            raise RecipeError(
                f"{self.where}: `{dotted_path(path)}` expands to more than {MAX_YAML_VALUES:,} values "
                "through aliases (*name); a recipe never needs that many"
            )
        self.sizes[id(node)] = total
        return total

    def _mapping_size(self, node: yaml.MappingNode, path: tuple) -> int:
        total = 0
        first_line: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                # `<<: *base` merges keys in; keys written beside it may override them.
                total += self.size(value_node, path)
                continue
            total += self.size(key_node, path)
            key = self._key(key_node)
            mark = key_node.start_mark
            if key in first_line:
                first = first_line[key]
                where, before = f"line {mark.line + 1}", f"line {first.line + 1}"
                if first.line == mark.line:
                    where, before = f"{where}, column {mark.column + 1}", f"column {first.column + 1}"
                raise RecipeError(
                    f"{self.where}: duplicate key `{dotted_path((*path, key))}` at {where} "
                    f"(first at {before}); YAML would keep only the last one, "
                    "so merge the two or delete one"
                )
            if key is not _UNHASHABLE:
                first_line[key] = mark
            total += self.size(value_node, (*path, key))
        return total

    def _key(self, key_node):
        if not isinstance(key_node, yaml.ScalarNode):
            return _UNHASHABLE
        key = self.loader.construct_object(key_node)
        try:
            hash(key)
        except TypeError:
            return _UNHASHABLE
        return key

    def _check_text(self, node: yaml.ScalarNode, path: tuple) -> None:
        try:
            node.value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise RecipeError(
                f"{self.where}: `{dotted_path(path)}` at line {node.start_mark.line + 1} holds "
                f"{node.value[error.start]!r}, which is not a Unicode character"
            ) from None


_UNHASHABLE = object()


def load_yaml(text: str, where: str) -> Any:
    """Reads one YAML document with safe-load semantics, or raises one `RecipeError` line.

    Tags that build Python objects (`!!python/object`) are refused, as by
    `yaml.safe_load`; on top of that a duplicate key, a self-referring or
    exploding alias and a multi-document stream are errors, and `1e-3` is a
    number (see `_RecipeLoader`).

    Args:
        text: The YAML text.
        where: Names the source in messages: a file path or `--set KEY`.

    Raises:
        RecipeError: naming the line and the problem.
    """
    loader = None
    try:
        # The reader refuses control characters as soon as it is made.
        loader = _RecipeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _NodeCheck(loader, where).size(node, ())
        return loader.construct_document(node)
    except RecipeError:
        raise
    except yaml.YAMLError as error:
        raise RecipeError(f"{where}: {_yaml_problem(error)}") from None
    except (ValueError, TypeError, OverflowError) as error:
        # PyYAML's scalar constructors raise these for `!!int abc` or `!!timestamp 2001-13-45`.
        raise RecipeError(f"{where}: cannot read a value: {error}") from None
    except RecursionError:
        raise RecipeError(f"{where}: the YAML is nested too deeply to be a recipe") from None
    finally:
        if loader is not None:
            loader.dispose()


def _decode(data: bytes, path: Path) -> str:
    for signature, kind in _BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise RecipeError(f"{path}: this is {kind}, not a YAML recipe")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        kind = "a binary file" if b"\x00" in data[:8192] else "text in another encoding (Latin-1?)"
        raise RecipeError(
            f"{path}: not UTF-8: byte 0x{data[error.start]:02x} at line {line} cannot be decoded; "
            f"this looks like {kind}. A recipe must be YAML saved as UTF-8"
        ) from None


def read_yaml(path: Path) -> dict[str, Any]:
    """Reads one YAML mapping from a UTF-8 file (see `load_yaml`), reporting problems by line.

    Raises:
        RecipeNotFoundError: if the file cannot be read.
        RecipeError: if it is not UTF-8 text, not YAML, or not one mapping.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RecipeNotFoundError(f"cannot read recipe {str(path)!r}: {error.strerror}") from None
    raw = load_yaml(_decode(data, path), str(path))
    if raw is None:
        raise RecipeError(f"{path}: the recipe is empty; it must be a YAML mapping")
    if not isinstance(raw, dict):
        raise RecipeError(
            f"{path}: a recipe must be a YAML mapping of sections. Received a {type(raw).__name__}"
        )
    return raw


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Parses `KEY=VALUE` strings; each value is read as YAML (`1e-3`, `[64, 32]`, `true`).

    Raises:
        RecipeError: if an item has no `=` or an empty key.
    """
    if isinstance(items, str):
        items = [items]
    overrides = {}
    for item in items:
        if not isinstance(item, str):
            raise RecipeError(f"--set expects KEY=VALUE strings. Received: {show_value(item)}")
        key, separator, text = item.partition("=")
        key = key.strip()
        if not separator or not key:
            raise RecipeError(
                f"--set expects KEY=VALUE, e.g. training.epochs=5. Received: {show_value(item)}"
            )
        where = f"--set {show_key(key, dotted=True)}: cannot read the value {show_value(text)} as YAML"
        overrides[key] = load_yaml(text, where) if text.strip() else None
    return overrides


def _set_dotted(raw: dict, dotted_key: str, value: Any, origin: str) -> None:
    if not isinstance(dotted_key, str):
        raise RecipeError(f"{origin}: a key must be a dotted string. Received: {show_value(dotted_key)}")
    parts = dotted_key.split(".")
    if not all(parts):
        raise RecipeError(f"{origin}: key {dotted_key!r} has an empty part; write keys like training.epochs")
    node = raw
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            prefix = dotted_path(tuple(parts[: depth + 1]))
            raise RecipeError(
                f"{origin}: `{dotted_path(tuple(parts))}`: `{prefix}` is a value ({show_value(child)}), "
                "not a section"
            )
        node = child
    node[parts[-1]] = value


def validate_recipe(raw: Mapping[str, Any], origin: str = "recipe", finished_run: bool = False) -> Recipe:
    """Validates a plain mapping into a `Recipe`, including every variant.

    Args:
        raw: The recipe as a mapping.
        origin: Names the source in error messages.
        finished_run: Boolean. True to read the recipe of a run that already
            trained: checks of what training would do (a monitored key the run
            will not log) and the variants are skipped, so older runs stay readable.

    Raises:
        RecipeError: naming the key path, the value and what is allowed.
    """
    try:
        recipe = Recipe.model_validate(raw, context={FINISHED_RUN: finished_run})
    except ValidationError as error:
        raise RecipeError(f"{origin}: {validation_message(error, Recipe)}") from None
    if not finished_run:
        _check_variants(recipe, origin)
    return recipe


def _check_variants(recipe: Recipe, origin: str) -> None:
    """Raises `RecipeError` unless every variant's overrides give a valid recipe and every claim's
    metric is one `compare` measures for both of its variants."""
    measured = {
        variant: measured_metrics(apply_overrides(recipe, overrides, origin=f"{origin}: variants.{variant}"))
        for variant, overrides in recipe.variants.items()
    }
    problems = claim_metric_errors(recipe.claims, measured)
    if problems:
        raise RecipeError(f"{origin}: {'; '.join(problems)}")


def apply_overrides(
    recipe: Recipe | Mapping[str, Any],
    overrides: Mapping[str, Any] | Sequence[str],
    origin: str = "--set",
) -> Recipe:
    """Returns a new validated recipe with dotted-key overrides applied.

    Args:
        recipe: A `Recipe` or a plain mapping.
        overrides: `{"training.epochs": 5}` or `["training.epochs=5"]`.
        origin: Names the source of the overrides in error messages.

    Raises:
        RecipeError: if a key or value is invalid.

    Example:

    ```python
    fast = apply_overrides(load_recipe("digits_mlp"), {"training.epochs": 2})
    ```
    """
    if not isinstance(overrides, Mapping):
        overrides = parse_overrides(overrides)
    raw = recipe.model_dump(exclude_unset=True) if isinstance(recipe, Recipe) else recipe
    if not isinstance(raw, Mapping):
        raise RecipeError(f"{origin}: a recipe must be a mapping of sections. Received: {show_value(raw)}")
    raw = copy.deepcopy(dict(raw))
    for key, value in overrides.items():
        # A copy: a later, deeper key (`data.synthetic.rows` after `data.synthetic`) would
        # otherwise write into the caller's own mapping.
        _set_dotted(raw, key, copy.deepcopy(value), origin)
    try:
        return Recipe.model_validate(raw)
    except ValidationError as error:
        raise RecipeError(f"{origin}: {validation_message(error, Recipe)}") from None


def load_recipe(
    source: str | Path | Mapping[str, Any],
    overrides: Mapping[str, Any] | Sequence[str] = (),
) -> Recipe:
    """Loads, overrides and validates a recipe.

    Args:
        source: A YAML path, a bundled recipe name (`kerasforge list`), or a mapping.
        overrides: Dotted-key overrides, as a mapping or `KEY=VALUE` strings.

    Returns:
        The validated `Recipe`.

    A relative `data.source` file in a recipe file is looked up beside the
    recipe first, then in the current folder, and rewritten to the path found;
    one given by `overrides` or in a mapping is relative to the current folder.

    Raises:
        RecipeNotFoundError: if the file or name does not exist.
        RecipeError: on YAML syntax errors and invalid keys or values.
        DataError: if `data.source` (or a variant's) names a .csv or .parquet
            file that is in none of the places looked at; the message lists them.

    Example:

    ```python
    recipe = load_recipe("digits_mlp", ["training.epochs=5", "model.hidden=[128, 64]"])
    ```
    """
    if isinstance(source, Mapping):
        origin, folders = "recipe", (".",)
        recipe = validate_recipe(source)
    elif isinstance(source, (str, os.PathLike)):
        path = resolve_recipe_path(source)
        origin, folders = str(source), (path.parent, ".")
        recipe = validate_recipe(read_yaml(path), origin=origin)
    else:
        raise RecipeError(
            f"a recipe is a YAML path, a bundled recipe name or a mapping. Received: {show_value(source)}"
        )
    if not isinstance(overrides, Mapping):
        overrides = parse_overrides(overrides)
    if overrides:
        recipe = apply_overrides(recipe, overrides)
        _check_variants(recipe, origin="--set")
    if _sets_data_source(overrides):
        recipe.data.source = _locate_data_file(recipe.data.source, (".",), "--set")
    else:
        recipe.data.source = _locate_data_file(recipe.data.source, folders, origin)
    for name, variant in recipe.variants.items():
        variant_source = apply_overrides(recipe, variant).data.source
        if variant_source != recipe.data.source:
            variant["data.source"] = _locate_data_file(variant_source, folders, f"{origin}: variants.{name}")
    return recipe


def _sets_data_source(overrides: Mapping) -> bool:
    data = overrides.get("data")
    return "data.source" in overrides or (isinstance(data, Mapping) and "source" in data)


def _locate_data_file(source: str, folders: tuple, origin: str) -> str:
    """The path of the file, folder or glob `data.source` names, tried in each of `folders`; others unchanged.

    A relative path in a recipe file means beside the recipe first, then in
    the current folder (as before recipes resolved paths); a `--set` or
    Python-mapping path means the current folder.

    Raises:
        DataError: naming every place looked at, when the file is in none.
    """
    from kerasforge.data.load_frame import BUNDLED, FILE_SUFFIXES, find_data_file
    from kerasforge.data.stream_source import locate_stream_source

    if source in (*BUNDLED, "synthetic"):
        return source
    try:
        shards = locate_stream_source(source, folders)  # a folder of shards or a glob
    except DataError as error:
        raise DataError(f"{origin}: `data.source`: {error}") from None
    if shards is not None:
        return shards
    suffix = Path(source).suffix.lower()
    if not suffix:
        return source  # a bundled dataset name or `synthetic`

    if suffix not in FILE_SUFFIXES:
        return source  # load_frame names the suffixes it reads
    try:
        return str(find_data_file(source, folders))
    except DataError as error:
        raise DataError(f"{origin}: `data.source`: {error}") from None


def recipe_to_yaml(recipe: Recipe) -> str:
    """Dumps a recipe with every default filled in, loadable by `load_recipe`."""
    return yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
