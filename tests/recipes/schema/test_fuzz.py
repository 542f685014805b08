"""Fuzzing the public ways in: every recipe or override ends as a `Recipe` or a `KerasforgeError`.

Hypothesis writes recipe files (valid ones, broken ones, YAML oddities, binary
garbage), plain mappings and `--set` strings, and feeds them to `load_recipe`,
`apply_overrides` and `parse_overrides`. Any other exception type is a bug:
the command line would show it as a traceback.
"""

import collections
import math
import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerasforge.errors import KerasforgeError
from kerasforge.recipes import Recipe, apply_overrides, load_recipe, parse_overrides

EXAMPLES = 600
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=5000,  # milliseconds per example; a recipe loads in a few
    database=None,  # writes no .hypothesis folder into the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _field_names(model, seen=None):
    """Every key of the recipe schema, at any depth."""
    seen = set() if seen is None else seen
    names = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for argument in _classes(field.annotation):
            if argument not in seen:
                seen.add(argument)
                names |= _field_names(argument, seen)
    return names


def _classes(annotation):
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [found for argument in typing.get_args(annotation) for found in _classes(argument)]


KNOWN_KEYS = sorted(_field_names(Recipe))
SECTIONS = ["data", "model", "training", "callbacks", "search", "variants"]
# Dotted paths that exist, so that overrides often reach a real field.
KNOWN_PATHS = sorted(
    f"{section}.{name}"
    for section in ("data", "model", "training")
    for name in Recipe.model_fields[section].annotation.model_fields
) + [
    "callbacks.early_stopping.monitor",
    "callbacks.early_stopping.patience",
    "callbacks.gradient_monitor.on_detect",
    "data.split.val",
    "data.synthetic.rows",
    "training.learning_rate.peak",
    "search.layers",
    "search.learning_rate",
    "seed",
    "name",
]

keys = st.one_of(
    st.sampled_from(KNOWN_KEYS),
    st.sampled_from(SECTIONS),
    st.text(min_size=0, max_size=12),
    st.integers(-5, 5),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63), 1e308, -1e-308, math.inf, -math.inf, math.nan]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    st.text(max_size=20),
    st.sampled_from(["relu", "adam", "val_loss", "digits", "synthetic", "1e3", "1.5", "auto", "a.csv"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=12,
)
# Values that are right or nearly right for real fields, so that many examples
# get past the first key and exercise the checks behind it.
PLAUSIBLE = {
    "name": st.sampled_from(["fuzz", "a.b-c", "-bad", "", "ünï"]),
    "seed": st.integers(-1, 2**33),
    "data.source": st.sampled_from(
        ["digits", "iris", "synthetic", "digts", "x.csv", "data.parquet", "a.txt"]
    ),
    "data.target": st.sampled_from(["target", "label", ""]),
    "data.features": st.lists(st.sampled_from(["a", "b", "target"]), max_size=3),
    "data.split": st.fixed_dictionaries(
        {"train": st.floats(0, 1), "val": st.floats(0, 1), "test": st.floats(0, 1)}
    ),
    "data.synthetic": st.fixed_dictionaries(
        {"rows": st.integers(0, 10**9), "features": st.integers(0, 10**6)}
    ),
    "data.na_values": st.lists(st.sampled_from(["?", "n/a", ""]), max_size=2),
    "model.task": st.sampled_from(["regression", "binary", "multiclass", "ranking"]),
    "model.hidden": st.lists(st.integers(-1, 2**40), max_size=3),
    "model.layers": st.integers(-1, 300),
    "model.units": st.integers(-1, 2**40),
    "model.dropout": numbers,
    "model.l2": numbers,
    "model.metrics": st.lists(st.sampled_from(["accuracy", "acc", "mae", "auc", "r2_score"]), max_size=2),
    "training.epochs": st.one_of(st.integers(-1, 2**40), st.sampled_from([1e3, 1.5, "1e3", "3"])),
    "training.batch_size": st.integers(-1, 2**40),
    "training.learning_rate": st.one_of(
        numbers, st.fixed_dictionaries({"schedule": st.just("cosine"), "peak": numbers, "final": numbers})
    ),
    "training.optimizer": st.sampled_from(["adam", "sgd", "adamx"]),
    "training.optimizer_args": st.dictionaries(st.sampled_from(["momentum", "beta_1"]), numbers, max_size=2),
    "callbacks.early_stopping.monitor": st.sampled_from(
        ["val_loss", "loss", "val_acc", "val_accuracy", "accuracy", "r2_score", "grad_norm/global", "x/"]
    ),
    "callbacks.early_stopping.min_delta": numbers,
    "callbacks.gradient_monitor.enabled": st.booleans(),
    "variants": st.dictionaries(
        st.sampled_from(["a", "b"]),
        st.dictionaries(st.sampled_from(["training.epochs", "model.hidden", "data.source"]), scalars),
        max_size=2,
    ),
    "search": st.fixed_dictionaries(
        {},
        optional={
            "layers": st.one_of(
                st.fixed_dictionaries({"min": st.integers(-1, 5), "max": st.integers(-1, 5)}),
                st.lists(st.integers(-1, 5), max_size=3),
            ),
            "learning_rate": st.one_of(
                st.fixed_dictionaries({"min": numbers, "max": numbers}), st.lists(numbers, max_size=2)
            ),
            "dropout": st.lists(numbers, max_size=2),
        },
    ),
}


def _nest(pairs):
    """`{"a.b": 1}` -> `{"a": {"b": 1}}`, later keys winning."""
    nested = {}
    for dotted, value in pairs.items():
        *parents, last = dotted.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return nested


plausible_recipes = st.dictionaries(st.sampled_from(sorted(PLAUSIBLE)), st.just(None), max_size=4).flatmap(
    lambda chosen: st.fixed_dictionaries({key: PLAUSIBLE[key] for key in chosen}).map(_nest)
)
random_recipes = st.dictionaries(
    st.one_of(st.sampled_from(SECTIONS + ["name", "seed", "description"]), keys),
    st.one_of(st.dictionaries(keys, values, max_size=5), values),
    max_size=5,
)
recipe_like = st.one_of(plausible_recipes, random_recipes)

# Pieces of YAML that PyYAML reads in surprising ways, spliced into a dumped recipe.
YAML_ODDITIES = [
    "anchor: &a {epochs: 3}\nalias: *a\n",
    "training: &t {epochs: 2}\nmodel: *t\n",
    "base: &b {hidden: [8]}\nmodel:\n  <<: *b\n",
    "name: !!python/object:os.system ls\n",
    "name: !!python/name:os.system\n",
    "seed: !!int 3\n",
    "seed: !!float 3\n",
    "name: !!binary aGVsbG8=\n",
    "name: !custom tag\n",
    "---\nname: a\n---\nname: b\n",
    "...\n",
    "training:\n  epochs: 2\ntraining:\n  epochs: 3\n",
    "model:\n  hidden: [8]\n  hidden: [16]\n",
    "model:\n   hidden: [8]\n  activation: relu\n",
    "model:\n\thidden: [8]\n",
    "? [a, b]\n: 1\n",
    "? {a: 1}\n: 1\n",
    "seed: 0x1F\n",
    "seed: 0o17\n",
    "seed: 1_000\n",
    "seed: 1:30\n",
    "training: {epochs: 1e3, learning_rate: 1e-3}\n",
    "training: {learning_rate: .nan}\n",
    "training: {learning_rate: -.inf}\n",
    "date: 2001-12-14\n",
    "name: yes\n",
    "name: ~\n",
    'name: "\\ud800"\n',
    "\ufeffname: bom\n",
    "name: [unclosed\n",
    "name: 'unclosed\n",
    "%YAML 1.1\n---\nname: x\n",
    "!!set {a, b}\n",
    "- a\n- b\n",
    "just a string\n",
    "name: " + "a" * 200 + "\n",
    "variants:\n  v: {model.hidden: [0]}\n",
    "variants:\n  v: 3\n",
    "search: {layers: {min: 3, max: 1}}\n",
    "data: {source: missing.csv}\n",
    "data: {source: ../../etc/passwd.csv}\n",
]


def _dump(mapping):
    try:
        return yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return repr(mapping)


@st.composite
def recipe_texts(draw):
    """The bytes of a recipe file: dumped mappings, spliced oddities, random text or bytes."""
    kind = draw(st.sampled_from(["dumped", "spliced", "oddity", "text", "bytes", "latin1"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "text":
        return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    if kind == "latin1":
        return (_dump(draw(recipe_like)) + "description: caf\xe9\n").encode("latin-1", "replace")
    if kind == "oddity":
        return draw(st.sampled_from(YAML_ODDITIES)).encode("utf-8", "surrogatepass")
    text = _dump(draw(recipe_like))
    if kind == "spliced":
        lines = text.splitlines(keepends=True)
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(st.sampled_from(YAML_ODDITIES)))
        text = "".join(lines)
    return text.encode("utf-8", "surrogatepass")


dotted_keys = st.one_of(
    st.sampled_from(KNOWN_PATHS),
    st.lists(keys.map(str), min_size=1, max_size=4).map(".".join),
    st.text(max_size=15),
)
value_texts = st.one_of(
    scalars.map(lambda value: _dump(value).removesuffix("\n...\n").strip()),
    values.map(lambda value: yaml.safe_dump(value, default_flow_style=True).strip()),
    st.sampled_from(
        ["[1, 2", "{a: 1", "!!python/object:os.system x", "&a 1", "*a", "1e3", "1.0e3", "1.5", "", "'", ": x"]
    ),
    st.text(max_size=20),
)
plausible_overrides = st.sampled_from(sorted(PLAUSIBLE)).flatmap(
    lambda key: PLAUSIBLE[key].map(
        lambda value: f"{key}={yaml.safe_dump(value, default_flow_style=True).strip()}"
    )
)
override_items = st.one_of(
    plausible_overrides,
    st.builds(lambda key, text: f"{key}={text}", dotted_keys, value_texts),
    st.text(max_size=30),
)


def _outcome(load):
    """Runs `load`; returns what came out, failing the test on any exception but ours."""
    try:
        result = load()
    except KerasforgeError as error:
        message = str(error)
        assert message and "\n" not in message, f"not one line: {message!r}"
        return type(error).__name__
    assert isinstance(result, (Recipe, dict)), type(result)
    return type(result).__name__


def _fuzz(record_property, loads, **strategies):
    """Runs `loads(**drawn)` on `EXAMPLES` draws; each load must give a recipe or our error."""
    counts = collections.Counter()
    examples = []

    @FUZZ_SETTINGS
    @given(**strategies)
    def run(**drawn):
        examples.append(1)
        for load in loads(**drawn):
            counts[_outcome(load)] += 1

    run()
    # Shown with `pytest -s`, and in a JUnit report as the property `fuzz_examples`.
    print(f"\n{len(examples)} examples, outcomes {dict(counts)}")
    record_property("fuzz_examples", len(examples))
    assert len(examples) >= EXAMPLES, counts


@pytest.mark.slow
def test_recipe_files_load_or_raise_a_kerasforge_error(tmp_path_factory, record_property):
    path = tmp_path_factory.mktemp("fuzz") / "recipe.yaml"

    def loads(content, overrides):
        path.write_bytes(content)
        return [lambda: load_recipe(path, overrides)]

    _fuzz(record_property, loads, content=recipe_texts(), overrides=st.lists(override_items, max_size=3))


@pytest.mark.slow
def test_mappings_and_overrides_load_or_raise_a_kerasforge_error(record_property):
    def loads(raw, overrides):
        return [lambda: load_recipe(raw, overrides), lambda: apply_overrides(raw, overrides)]

    overrides = st.one_of(
        st.dictionaries(dotted_keys, values, max_size=3), st.lists(override_items, max_size=3)
    )
    _fuzz(record_property, loads, raw=recipe_like, overrides=overrides)


def test_override_strings_parse_or_raise_a_kerasforge_error(record_property):
    def loads(items):
        return [lambda: parse_overrides(items)]

    items = st.lists(st.one_of(override_items, st.text(alphabet=string.printable)), max_size=5)
    _fuzz(record_property, loads, items=items)
