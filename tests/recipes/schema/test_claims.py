"""The `claims:` and `baseline:` keys: validated at load time, with the key path, value and choices."""

import pytest
import yaml

from kerasforge.errors import RecipeError
from kerasforge.recipes import load_recipe
from kerasforge.recipes.schema.recipe import Recipe

LESSON = {
    "name": "tiny_lesson",
    "variants": {"scratch": {}, "autoencoder": {"model.init_from": "pretrain:autoencoder"}},
}


def _with(**keys):
    return {**LESSON, **keys}


def _claim(**keys):
    return {"variant": "autoencoder", "beats": "scratch", "metric": "test_accuracy", **keys}


def test_claims_and_baseline_load():
    recipe = load_recipe(_with(baseline="scratch", claims=[_claim(why="pretraining helps")]))
    (claim,) = recipe.claims
    assert (claim.variant, claim.beats, claim.metric, claim.why) == (
        "autoencoder",
        "scratch",
        "test_accuracy",
        "pretraining helps",
    )
    assert recipe.baseline == "scratch"
    assert claim.text() == "`autoencoder` beats `scratch` on test_accuracy"


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        (_claim(beats="scrath"), r"`claims\.0\.beats`: 'scrath' is not a variant .*did you mean `scratch`"),
        (
            _claim(variant="auto"),
            r"`claims\.0\.variant`: 'auto' is not a variant .*variants: scratch, autoencoder",
        ),
        (_claim(beats="autoencoder"), r"`claims\.0`: a claim compares two different variants"),
        (
            _claim(metric="test_acuracy"),
            r"`claims\.0\.metric`: 'test_acuracy' .*did you mean `test_accuracy`",
        ),
        (_claim(metric="epochs_run"), r"'epochs_run' is neither better high nor low"),
        ({"variant": "autoencoder", "beats": "scratch"}, r"`claims\.0\.metric` is required"),
        (_claim(metrc="val_loss"), r"unknown key `claims\.0\.metrc` \(did you mean `claims\.0\.metric`\?\)"),
    ],
)
def test_a_bad_claim_is_a_recipe_error_naming_its_key(claim, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(_with(claims=[claim]))


def test_a_claim_on_a_metric_the_variant_does_not_measure_names_its_metrics():
    variants = {**LESSON["variants"], "related": {"model.task": "regression"}}
    claim = _claim(variant="related")
    with pytest.raises(
        RecipeError, match=r"not measured for variant `related`; its metrics: .*test_r2_score"
    ):
        load_recipe(_with(variants=variants, claims=[claim]))


def test_val_loss_claims_need_a_validation_split():
    split = {"split": {"train": 0.8, "val": 0.0, "test": 0.2}}
    no_stopping = {"early_stopping": {"enabled": False}}
    with pytest.raises(RecipeError, match=r"'val_loss' is not measured .*epochs_to_loss_target"):
        load_recipe(_with(data=split, callbacks=no_stopping, claims=[_claim(metric="val_loss")]))


def test_yaml_on_key_is_explained():
    claims = yaml.safe_load("[{variant: autoencoder, beats: scratch, on: test_accuracy}]")
    with pytest.raises(RecipeError, match=r"write the metric as `metric: NAME` \(YAML reads a bare `on:`"):
        load_recipe(_with(claims=claims))


def test_baseline_must_name_a_variant():
    with pytest.raises(RecipeError, match=r"`baseline`: 'scratc' is not a variant .*did you mean `scratch`"):
        load_recipe(_with(baseline="scratc"))


def test_claims_without_variants_are_an_error():
    with pytest.raises(RecipeError, match=r"`variants`: has no variants, but `claims:` compares variants"):
        load_recipe({"name": "no_variants", "claims": [_claim()]})


def test_overriding_the_variants_rechecks_the_claims():
    recipe = _with(claims=[_claim()])
    with pytest.raises(RecipeError, match=r"`claims\.0\.variant`: 'autoencoder' is not a variant"):
        load_recipe(recipe, ["variants={scratch: {}, other: {}}"])
    assert load_recipe(recipe, ["variants={scratch: {}, other: {}}", "claims=[]"]).claims == []


def test_the_json_schema_describes_claims():
    schema = Recipe.model_json_schema()
    assert "claims" in schema["properties"] and "baseline" in schema["properties"]
    assert set(schema["$defs"]["Claim"]["required"]) == {"variant", "beats", "metric"}
