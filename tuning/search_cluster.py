"""`SearchCluster`: a chief and N workers on this machine, on KerasTuner's gRPC oracle."""

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

from kerasforge._keras_compat import print_msg
from kerasforge.errors import TuningError
from kerasforge.recipes import Recipe, recipe_to_yaml
from kerasforge.tuning.search_arguments import parse_address
from kerasforge.tuning.search_process import write_spec

THREADS_VARIABLE = "KERASFORGE_TF_THREADS"
# Seconds a stopped worker gets to end before it is killed.
STOP_SECONDS = 10
CLUSTER_RECIPE = "search_recipe.yaml"


@contextlib.contextmanager
def oracle_environment(role: str, address: str):
    """Sets KerasTuner's `KERASTUNER_*` variables for a chief or a worker, and restores them after.

    A worker keeps a `KERASTUNER_TUNER_ID` it was given (each worker needs
    its own); otherwise it is `worker-HOSTNAME`.
    """
    host, port = parse_address(address)
    tuner_id = (
        "chief"
        if role == "chief"
        else os.environ.get("KERASTUNER_TUNER_ID", f"worker-{socket.gethostname()}")
    )
    if role == "worker" and "chief" in tuner_id:
        raise TuningError(f"a worker's KERASTUNER_TUNER_ID must not contain 'chief'. Received: {tuner_id!r}")
    wanted = {
        "KERASTUNER_TUNER_ID": tuner_id,
        "KERASTUNER_ORACLE_IP": host,
        "KERASTUNER_ORACLE_PORT": str(port),
    }
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class SearchCluster:
    """Runs one search as a chief process and `workers` worker processes on one machine.

    This is KerasTuner's own distributed tuning: the chief serves the oracle
    over gRPC on `127.0.0.1` and each worker asks it for trials, with
    `KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`
    set. Each process is `python -m kerasforge.tuning.search_process SPEC`,
    whose spec holds `run_search`'s arguments and the resolved recipe, saved
    as `search_recipe.yaml` in the search folder. Worker ids are
    `worker0`, `worker1`, ... on every run, so a resumed search gives each
    worker back the trial it was running. Each worker limits TensorFlow's
    thread pools to its share of the cores, so workers do not fight over them.

    Args:
        recipe: The base `Recipe`.
        tuner: The tuner name.
        run_dir: The prepared search folder.
        max_trials: Integer total of trials, or None.
        workers: Integer number of worker processes.
        objective: The objective name.
        verbose: Integer. 0 silences the workers.

    Raises:
        TuningError: if `workers` < 1.

    Example:

    ```python
    stopped = SearchCluster(recipe, "random", "runs/s", 20, workers=2, objective="val_loss").run()
    ```
    """

    def __init__(
        self,
        recipe: Recipe,
        tuner: str,
        run_dir,
        max_trials,
        workers: int,
        objective: str,
        verbose: int = 1,
        prune: str = "none",
    ):
        if workers < 1:
            raise TuningError(f"Argument `workers` must be >= 1. Received: workers={workers}")
        self.recipe = recipe
        self.tuner = tuner
        self.run_dir = Path(run_dir)
        self.max_trials = max_trials
        self.workers = workers
        self.objective = objective
        self.verbose = verbose
        self.prune = prune

    def _command(self, role: str, address: str) -> list[str]:
        spec = write_spec(
            self.run_dir / f"{role}_process.json",
            self.run_dir / CLUSTER_RECIPE,
            tuner=self.tuner,
            max_trials=self.max_trials,
            objective=self.objective,
            run_dir=str(self.run_dir),
            role=role,
            oracle=address,
            verbose=1,
            prune=self.prune,
        )
        return [sys.executable, "-m", "kerasforge.tuning.search_process", str(spec)]

    def _environment(self, tuner_id: str, threads: int) -> dict:
        environment = dict(os.environ, KERASTUNER_TUNER_ID=tuner_id, TF_CPP_MIN_LOG_LEVEL="2")
        environment[THREADS_VARIABLE] = str(threads)
        return environment

    def run(self) -> str | None:
        """Runs the search to its end; returns why it stopped early, or None."""
        (self.run_dir / CLUSTER_RECIPE).write_text(recipe_to_yaml(self.recipe), encoding="utf-8")
        address = f"127.0.0.1:{_free_port('127.0.0.1')}"
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        quiet = None if self.verbose else subprocess.DEVNULL
        with open(self.run_dir / "chief.log", "a", encoding="utf-8") as chief_log:
            # Each in a session of its own: a Ctrl-C at the terminal reaches only this
            # process, which then stops them all (one line, no traceback from each).
            chief = subprocess.Popen(
                self._command("chief", address),
                env=self._environment("chief", 1),
                stdout=chief_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            workers = []
            try:
                for index in range(self.workers):
                    workers.append(
                        subprocess.Popen(
                            self._command("worker", address),
                            env=self._environment(f"worker{index}", threads),
                            stdout=quiet,
                            start_new_session=True,
                        )
                    )
                if self.verbose:
                    print_msg(f"chief on {address}, {self.workers} workers with {threads} TF threads each")
                codes = [worker.wait() for worker in workers]
            finally:
                # Normally every worker has ended here; when this process is
                # interrupted they are stopped, so none runs on without it.
                self._stop_workers(workers)
                self._stop(chief)
        failed = [f"worker{index} exited with status {code}" for index, code in enumerate(codes) if code]
        return "; ".join(failed) or None

    @staticmethod
    def _stop_workers(workers: list[subprocess.Popen]) -> None:
        # SIGTERM's default action ends a worker at once; the trial it was running runs again on resume.
        running = [worker for worker in workers if worker.poll() is None]
        for worker in running:
            worker.terminate()
        for worker in running:
            try:
                worker.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    @staticmethod
    def _stop(chief: subprocess.Popen) -> None:
        # KerasTuner's chief polls for the end only every 20 s; every worker is
        # done, so stop it: SIGTERM interrupts it, and it saves the oracle and exits.
        if chief.poll() is None:
            chief.terminate()
        try:
            chief.wait(timeout=60)
        except subprocess.TimeoutExpired:
            chief.kill()
            chief.wait()
