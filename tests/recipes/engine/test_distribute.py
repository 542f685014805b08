"""`training.distribute` and multi-process runs: the checks, 2 logical devices, 2 processes on loopback.

The device runs are real `kerasforge train` processes: splitting the CPU into
logical devices (TensorFlow) or setting JAX's CPU device count only works
before the backend starts. On TensorFlow they train under MirroredStrategy, on
JAX under `keras.distribution.DataParallel`. The multi-process tests run on
JAX only (the one Keras 3 backend whose distribution spans processes); CI runs
this file on its JAX leg with the slow tests (see `.ci/run`).
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import pandas as pd
import pytest

from kerasforge.errors import ArgumentError, RecipeError
from kerasforge.recipes import load_recipe
from kerasforge.recipes.engine.distribute import _resolve_strategy, start_distribution
from kerasforge.recipes.engine.run_arguments import check_cluster_arguments
from kerasforge.recipes.engine.run_folder import RunFolder

BACKEND = keras.backend.backend()

# 300 training rows at a global batch of 32: 9 full batches and one of 12, which splits evenly over 2
# devices or processes, so even the logged mean loss is one device's. No dropout: its masks are drawn
# per device. The schedule's peak is scaled by batch_size / base_batch_size = 2 (the linear rule, on
# the global batch). EarlyStopping stops this run at epoch 9 of 20 on one device.
SMALL = [
    "--set=training.epochs=20",
    "--set=data.max_train_rows=300",
    "--set=model.hidden=[16]",
    "--set=model.dropout=0",
    "--set=training.learning_rate={schedule: cosine, peak: 1.0e-3, warmup_epochs: 1, base_batch_size: 16}",
    "--set=callbacks.early_stopping.patience=2",
    "--set=callbacks.early_stopping.min_delta=0.1",
    "--quiet",
]
# Float32 sums of 2 half-batch gradients differ from the full batch's in the last bits (about 1e-7
# relative per step); over ~90 Adam steps that drift stays well under 1e-4 (measured: about 1e-6).
SAME_RUN = 1e-4
TIMEOUT = 300


def _environment(**extra) -> dict:
    environment = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS",)}
    return {**environment, "KERAS_BACKEND": BACKEND, **extra}


def _train(run_dir: Path, *arguments: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kerasforge", "train", "digits_mlp", "--run-dir", str(run_dir), *arguments],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=timeout,
        check=False,
    )


def _run_record(run_dir: Path) -> tuple[pd.DataFrame, dict]:
    history = pd.read_csv(run_dir / "history.csv")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return history, metrics


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        (("h:1", 2, None), "missing --process-id"),
        ((None, 2, 0), "missing --coordinator"),
        (("localhost", 2, 0), "HOST:PORT.*Received: 'localhost'"),
        (("localhost:70000", 2, 0), "port in 1..65535"),
        (("localhost:1234", 0, 0), "--num-processes must be a whole number >= 1. Received: 0"),
        (("localhost:1234", 2, 2), r"--process-id must be a whole number in 0..1 .*Received: 2"),
    ],
)
def test_cluster_arguments_name_the_flag_and_the_value(arguments, match):
    with pytest.raises(ArgumentError, match=match):
        check_cluster_arguments(*arguments)


def test_no_cluster_arguments_is_one_process():
    check_cluster_arguments(None, None, None)


@pytest.mark.parametrize(
    ("strategy", "backend", "match"),
    [
        ("auto", "torch", "torch backend has no Keras distribution.*Received: 'auto'"),
        ("mirrored", "torch", "torch backend has no Keras distribution.*Received: 'mirrored'"),
        ("mirrored", "jax", "'mirrored' runs on KERAS_BACKEND=tensorflow.*use 'data_parallel'"),
        ("data_parallel", "tensorflow", "'data_parallel' runs on KERAS_BACKEND=jax.*use 'mirrored'"),
    ],
)
def test_a_strategy_the_backend_lacks_is_one_line(strategy, backend, match):
    training = load_recipe("digits_mlp", [f"training.distribute.strategy={strategy}"]).training
    with pytest.raises(RecipeError, match=match):
        _resolve_strategy(training, None, backend)


@pytest.mark.parametrize(("backend", "expected"), [("tensorflow", "mirrored"), ("jax", "data_parallel")])
def test_auto_picks_the_backends_own_strategy(backend, expected):
    training = load_recipe("digits_mlp", ["training.distribute.strategy=auto"]).training
    assert _resolve_strategy(training, None, backend) == expected


def test_multi_process_needs_jax_and_data_parallel():
    from kerasforge.recipes.engine.distribute import Cluster

    cluster = Cluster("localhost:1234", 2, 0)
    training = load_recipe("digits_mlp").training
    with pytest.raises(ArgumentError, match="needs KERAS_BACKEND=jax.*Received: KERAS_BACKEND=tensorflow"):
        _resolve_strategy(training, cluster, "tensorflow")
    mirrored = load_recipe("digits_mlp", ["training.distribute.strategy=mirrored"]).training
    with pytest.raises(
        RecipeError, match="'mirrored' runs on KERAS_BACKEND=tensorflow.*Received: 'mirrored'"
    ):
        _resolve_strategy(mirrored, cluster, "jax")
    # The flags alone make a data-parallel run: the recipe's default `none` needs no edit.
    assert _resolve_strategy(training, cluster, "jax") == "data_parallel"


def test_distribute_on_this_backend_starts_or_says_why_not():
    # On the torch leg of CI this is the real torch path; on the others, `auto` finds one device.
    training = load_recipe("digits_mlp", ["training.distribute.strategy=auto"]).training
    if BACKEND == "torch":
        with pytest.raises(RecipeError, match="torch backend has no Keras distribution"):
            start_distribution(training)
    else:
        distribution = start_distribution(training)
        assert distribution.strategy in ("mirrored", "data_parallel")
        assert distribution.replicas >= 1


def test_command_line_cluster_mistake_is_one_line_before_the_backend(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "kerasforge", "train", "digits_mlp", "--coordinator", "localhost:1234"],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        "kerasforge: error: a multi-process run needs --coordinator HOST:PORT, --num-processes N and "
        "--process-id I together; missing --num-processes, --process-id"
    ]


@pytest.mark.slow
@pytest.mark.skipif(BACKEND == "torch", reason="torch has no Keras distribution (tested above)")
def test_two_devices_train_as_one_device_at_the_same_global_batch(tmp_path):
    one = _train(tmp_path / "one", *SMALL)
    assert one.returncode == 0, one.stderr[-3000:]
    two = _train(
        tmp_path / "two",
        *SMALL,
        "--set=training.distribute.strategy=auto",
        "--set=training.distribute.devices=2",
    )
    assert two.returncode == 0, two.stderr[-3000:]
    expected = "mirrored" if BACKEND == "tensorflow" else "data_parallel"
    assert f"distributed: {expected} over 2 device(s)" in two.stdout
    (history_one, metrics_one), (history_two, metrics_two) = map(
        _run_record, [tmp_path / "one", tmp_path / "two"]
    )
    # EarlyStopping stops both at the same epoch, before the last.
    assert metrics_two["epochs_run"] == metrics_one["epochs_run"] < 20
    # The linear scaling rule read the global batch: peak 1e-3 * 32 / 16 on both.
    assert history_two["learning_rate"].max() == pytest.approx(2e-3, rel=1e-6)
    assert list(history_two["learning_rate"]) == pytest.approx(list(history_one["learning_rate"]), rel=1e-6)
    for column in ["loss", "val_loss", *[c for c in history_one.columns if c.startswith("grad_norm/")]]:
        assert list(history_two[column]) == pytest.approx(list(history_one[column]), rel=SAME_RUN), column
    assert metrics_two["test"]["loss"] == pytest.approx(metrics_one["test"]["loss"], rel=SAME_RUN)


def _free_port() -> int:
    # Below the ephemeral range: while process 0 is still starting, process 1's retried connects to
    # an ephemeral-range port can take that very port as their own source port (a TCP self-connect),
    # and process 0 then cannot bind it.
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.Random(os.getpid() + time.monotonic_ns()).sample(range(10_000, low), 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port below the ephemeral range (from {low})")


def _start_processes(tmp_path: Path, *arguments: str, run_dirs=("run", "run")) -> list[subprocess.Popen]:
    coordinator = f"127.0.0.1:{_free_port()}"
    processes = []
    for process_id, run_dir in enumerate(run_dirs):
        log = (tmp_path / f"process-{process_id}.log").open("w")
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kerasforge",
                    "train",
                    "digits_mlp",
                    "--run-dir",
                    str(tmp_path / run_dir),
                    *arguments,
                    "--coordinator",
                    coordinator,
                    "--num-processes",
                    "2",
                    "--process-id",
                    str(process_id),
                ],
                stdout=log,
                stderr=subprocess.STDOUT if process_id else subprocess.PIPE,
                text=True,
                env=_environment(),
                cwd=tmp_path,
            )
        )
    return processes


def _stop(processes) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


if BACKEND == "jax":

    @pytest.mark.slow
    def test_multi_process_two_processes_on_loopback_train_as_one_process(tmp_path):
        one = _train(tmp_path / "one", *SMALL)
        assert one.returncode == 0, one.stderr[-3000:]
        # Process 1 never touches its --run-dir, not even to check it: here another live run holds it.
        # (When both checked the same folder, one of them could find it locked by the other.)
        with RunFolder("digits_mlp", tmp_path / "taken"):
            processes = _start_processes(tmp_path, *SMALL, run_dirs=("run", "taken"))
            try:
                _, errors = processes[0].communicate(timeout=TIMEOUT)
                # Process 0's own failure, if any, says more than process 1 waiting for it to join.
                assert processes[0].returncode == 0, errors[-3000:]
                processes[1].wait(timeout=TIMEOUT)
            finally:
                _stop(processes)
        assert processes[1].returncode == 0, (tmp_path / "process-1.log").read_text()[-3000:]
        # No checkpoint, since a multi-process run cannot be resumed; nor an offer to resume.
        assert "--resume" not in (tmp_path / "process-0.log").read_text()
        # Only process 0 wrote a run folder; process 1's private one is gone.
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["one", "run"]
        (history_one, metrics_one), (history_two, metrics_two) = map(
            _run_record, [tmp_path / "one", tmp_path / "run"]
        )
        assert metrics_two["epochs_run"] == metrics_one["epochs_run"]
        # Each process trained on its half of every global batch: the same updates as one process.
        for column in ["loss", "val_loss", *[c for c in history_one.columns if c.startswith("grad_norm/")]]:
            assert list(history_two[column]) == pytest.approx(list(history_one[column]), rel=SAME_RUN), column
        assert metrics_two["test"]["loss"] == pytest.approx(metrics_one["test"]["loss"], rel=SAME_RUN)

    @pytest.mark.slow
    def test_multi_process_a_dead_process_stops_the_others_with_one_line(tmp_path):
        processes = _start_processes(
            tmp_path, *SMALL, "--set=callbacks.early_stopping.patience=1000", "--set=training.epochs=1000"
        )
        log = tmp_path / "process-0.log"
        try:
            deadline = time.monotonic() + TIMEOUT
            while "Epoch 3/" not in log.read_text() and time.monotonic() < deadline:
                assert processes[0].poll() is None, processes[0].stderr.read()[-3000:]
                time.sleep(0.5)
            assert "Epoch 3/" in log.read_text()
            killed = time.monotonic()
            processes[1].send_signal(signal.SIGKILL)
            _, errors = processes[0].communicate(timeout=120)
            waited = time.monotonic() - killed
        finally:
            _stop(processes)
        assert processes[0].returncode == 2, errors[-3000:]
        lines = [line for line in errors.splitlines() if line.startswith("kerasforge:")]
        assert len(lines) == 1, errors[-3000:]
        assert lines[0].startswith(
            "kerasforge: error: process 0 of 2 stopped: another process of the run left"
        )
        assert waited < 120
        assert not (tmp_path / "run" / "history.csv").exists()
