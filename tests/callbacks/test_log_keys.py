"""log_keys: every per-layer key is made and parsed in one place."""

import pytest

from kerasforge.vocabulary import log_keys


@pytest.mark.parametrize(
    "quantity, layer, key",
    [
        (log_keys.GRAD_NORM, "dense", "grad_norm/dense"),
        (log_keys.GRAD_NORM, "encoder/hidden", "grad_norm/encoder/hidden"),
        (log_keys.GRAD_NORM_MAX, log_keys.GLOBAL, "grad_norm_max/global"),
        (log_keys.DEAD_FRACTION, "hidden_1", "dead_fraction/hidden_1"),
    ],
)
def test_make_and_parse_are_inverse(quantity, layer, key):
    assert log_keys.make_key(quantity, layer) == key
    parsed = log_keys.parse_key(key)
    assert (parsed.quantity, parsed.layer) == (quantity, layer)
    assert parsed.is_global == (layer == log_keys.GLOBAL)


@pytest.mark.parametrize("key", ["loss", "val_loss", "learning_rate", "val_grad_norm/dense", "grad_norm/"])
def test_metrics_and_unknown_quantities_are_not_per_layer_keys(key):
    assert log_keys.parse_key(key) is None
    assert not log_keys.is_per_layer_key(key)


def test_layer_keys_keep_order_and_leave_out_global_unless_asked():
    keys = ["loss", "grad_norm/b", "grad_norm/a/inner", "grad_norm/global", "weight_norm/b"]
    assert log_keys.layer_keys(keys, log_keys.GRAD_NORM) == {
        "b": "grad_norm/b",
        "a/inner": "grad_norm/a/inner",
    }
    assert list(log_keys.layer_keys(keys, log_keys.GRAD_NORM, include_global=True)) == [
        "b",
        "a/inner",
        "global",
    ]


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: log_keys.make_key("grad", "dense"),
            r"`quantity` must be one of 'grad_norm'.*quantity='grad'",
        ),
        (lambda: log_keys.make_key(log_keys.GRAD_NORM, ""), r"`layer` must be a non-empty.*layer=''"),
        (lambda: log_keys.layer_keys([], "norm"), r"Received: quantity='norm'"),
    ],
)
def test_rejects_unknown_quantities_and_empty_layers(call, match):
    with pytest.raises(ValueError, match=match):
        call()
