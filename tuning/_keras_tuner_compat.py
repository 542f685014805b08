"""Every private KerasTuner API kerasforge uses, in one place.

KerasTuner 1.4 keeps some things a search needs outside its public API: the
callback that saves a trial's best epoch, the Hyperband oracle's bracket sizes,
its debug switch, a stray debug `print`, the gRPC servicer that serves an
oracle to other processes, the oracle's queue of trials to run again and its
lock. Each is reached through this module only, so a KerasTuner release that
changes one breaks one function here, and
`tests/tuning/test_keras_tuner_compat.py` fails on it by name. `setup.cfg` caps
keras-tuner below 1.5 until those tests pass on a new release.
"""

from __future__ import annotations

import threading
import warnings
from concurrent import futures
from typing import Any

import keras_tuner as kt
from keras_tuner.src import config as _config
from keras_tuner.src.engine import conditions as _conditions
from keras_tuner.src.engine import oracle as _oracle_module
from keras_tuner.src.engine.tuner_utils import SaveBestEpoch

__all__ = [
    "SaveBestEpoch",
    "build_without_parent_weights",
    "hyperband_brackets",
    "quiet_keras_tuner",
    "release_oracle_lock",
    "serve_oracle",
    "trials_to_retry",
]


def hyperband_brackets(max_epochs: int, factor: int) -> list[list[tuple[int, int]]]:
    """Hyperband's full plan: for each bracket, in the order KerasTuner runs them,
    the `(trials, epochs)` of each of its rounds."""
    oracle = kt.oracles.HyperbandOracle(max_epochs=max_epochs, factor=factor)
    return [
        [
            (oracle._get_size(bracket, round_), oracle._get_epochs(bracket, round_))
            for round_ in range(bracket + 1)
        ]
        for bracket in reversed(range(oracle._get_num_brackets()))
    ]


def build_without_parent_weights(tuner: kt.Tuner, hp: kt.HyperParameters) -> Any:
    """Builds a trial's model as `Tuner._build_hypermodel` does, without Hyperband's weight loading.

    KerasTuner's Hyperband loads a promoted trial's parent's best-epoch
    weights here, without the optimizer state; kerasforge restores the
    parent's whole training state in the fit instead (see `trial_state`).
    """
    return kt.Tuner._build_hypermodel(tuner, hp)


def _discard(*args: Any, **kwargs: Any) -> None:
    return None


def quiet_keras_tuner() -> None:
    """Turns off KerasTuner's own prints that kerasforge replaces with its progress lines.

    Debug mode would print every failed trial's traceback (kerasforge's progress line
    shows the reason and `trial.json` keeps the traceback). keras-tuner 1.4's
    `Parent.to_proto` has a leftover `print(self.values[0])`: in a distributed search
    every trial with conditional hyperparameters printed stray `1`, `2`, `3` lines. It
    is the only print in that module, so it is silenced there alone. A trial whose
    metrics are all NaN (a diverged trial, stopped at once) made its metrics tracker
    warn "All-NaN axis encountered" from NumPy: the trial's line already says why.
    """
    _config.DEBUG = False
    _conditions.print = _discard
    warnings.filterwarnings(
        "ignore", message="All-NaN (slice|axis) encountered", category=RuntimeWarning, module=r"keras_tuner\."
    )


def release_oracle_lock(oracle: kt.Oracle) -> None:
    """Releases the oracle's lock if this thread holds it: call it where an oracle method raised.

    KerasTuner's `synchronized` methods take a per-oracle lock and release it
    only when the method returns, so one that raises (`end_trial` stopping a
    search for consecutive failures) leaves it held, and the next call from
    another thread, a worker's gRPC request, waits forever: the process then
    hangs at exit, joining that thread.
    """
    if _oracle_module.THREADS[oracle] == threading.current_thread().name:
        _oracle_module.THREADS[oracle] = None
        _oracle_module.LOCKS[oracle].release()


def serve_oracle(oracle: kt.Oracle, host: str, threads: int = 1) -> tuple[Any, int]:
    """Serves `oracle` to worker tuners over KerasTuner's gRPC protocol, from threads of this process.

    KerasTuner's own chief (`oracle_chief.start_server`) blocks its process
    until the search ends; this starts the same servicer and returns.

    Args:
        oracle: The `keras_tuner.Oracle` to serve.
        host: The address to listen on, e.g. `127.0.0.1`.
        threads: Integer. Requests served at once (the oracle takes them one at a time).

    Returns:
        The started `grpc.Server` (stop it with `server.stop(None)`) and the free port it chose.
    """
    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    class Servicer(OracleServicer):
        def EndTrial(self, request, context):
            try:
                return super().EndTrial(request, context)
            except RuntimeError as error:
                # The oracle stops the search ("Number of consecutive failures exceeded ..."): the
                # worker gets the message; aborting keeps gRPC from logging a traceback here.
                release_oracle_lock(oracle)
                context.abort(grpc.StatusCode.ABORTED, str(error))

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads))
    protos.get_service_grpc().add_OracleServicer_to_server(Servicer(oracle), server)
    port = server.add_insecure_port(f"{host}:0")
    server.start()
    return server, port


def trials_to_retry(oracle: kt.Oracle) -> int:
    """Trials the oracle will hand out again: those running when the search was last stopped."""
    return len(oracle._retry_queue)
