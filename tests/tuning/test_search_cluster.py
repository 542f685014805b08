import json
import os
import re

import pytest

from kerasforge.errors import TuningError
from kerasforge.tuning import WorkerPool, run_search
from kerasforge.tuning.search_cluster import oracle_environment, parse_address


@pytest.mark.slow
def test_two_workers_on_loopback_record_every_trial_once(tiny_recipe, tmp_path, capfd):
    recipe = tiny_recipe(search={"max_trials": 4, "layers": [1, 2], "units": [4, 8], "batch_size": [16, 32]})
    result = run_search(recipe, workers=2, run_dir=tmp_path / "s", verbose=1, prune="none")
    # The workers print to this process's stdout. `units_2` exists only when `layers >= 2`:
    # keras-tuner 1.4 printed a stray `1` or `2` line for such a condition in every trial.
    printed = capfd.readouterr().out.splitlines()
    assert not [line for line in printed if line.strip().isdigit()], printed
    assert sum(bool(re.match(r"\[worker[01]\] trial \d of 4 ", line)) for line in printed) == 4
    trials = result.trials
    assert sorted(trials["trial_id"]) == ["0", "1", "2", "3"]
    assert (trials["status"] == "COMPLETED").all()
    assert set(trials["tuner_id"]) <= {"worker0", "worker1"}
    oracle = json.loads((tmp_path / "s" / "keras_tuner" / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == sorted(trials["trial_id"])
    assert oracle["ongoing_trials"] == {}
    for trial_id, status in zip(trials["trial_id"], trials["status"], strict=True):
        trial_file = tmp_path / "s" / "keras_tuner" / f"trial_{trial_id}" / "trial.json"
        assert json.loads(trial_file.read_text())["status"] == status
    assert (tmp_path / "s" / "best_recipe.yaml").exists()


@pytest.mark.parametrize("address", ["localhost", "host:port", ":80", "host:70000"])
def test_oracle_address_must_be_host_and_port(address):
    with pytest.raises(TuningError, match="--oracle must be HOST:PORT"):
        parse_address(address)


def test_worker_environment_is_set_and_restored(monkeypatch):
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "worker7")
    monkeypatch.delenv("KERASTUNER_ORACLE_IP", raising=False)
    with oracle_environment("worker", "10.0.0.2:8000"):
        assert (os.environ["KERASTUNER_TUNER_ID"], os.environ["KERASTUNER_ORACLE_IP"]) == (
            "worker7",
            "10.0.0.2",
        )
    assert "KERASTUNER_ORACLE_IP" not in os.environ


def test_worker_id_must_not_look_like_the_chief(monkeypatch):
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief-2")
    with pytest.raises(TuningError, match="must not contain 'chief'"):
        with oracle_environment("worker", "127.0.0.1:8000"):
            pass


def test_pool_needs_a_worker():
    with pytest.raises(TuningError, match="`workers` must be >= 1. Received: workers=0"):
        WorkerPool(job=None, workers=0)
