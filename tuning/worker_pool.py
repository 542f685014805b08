"""`WorkerPool`: a search's long-lived worker processes on this machine, and its oracle in this process.

Imports nothing heavy at module level: the command line calls
`start_workers_early` before it imports the backend.
"""

import atexit
import os
import pickle
import subprocess
import sys
import time

from kerasforge.errors import TuningError
from kerasforge.tuning.search_cluster import STOP_SECONDS
from kerasforge.tuning.search_process import (
    CONSECUTIVE_FAILURES,
    EXIT_FAILED_IN_A_ROW,
    EXIT_FINISHED,
    EXIT_PAUSED,
    MAX_TRIAL_KILLS,
    signal_name,
)

ORACLE_HOST = "127.0.0.1"
_REPLACE, _HANDLED = "replace", "handled"
# Seconds between two looks at the workers: short next to a trial, long next to a poll.
_POLL_SECONDS = 0.1
_started_early: list[subprocess.Popen] = []


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _start_process(quiet: bool = False) -> subprocess.Popen:
    # In a session of its own: a Ctrl-C at the terminal reaches only this process,
    # which then stops the workers (one line, no traceback from each).
    return subprocess.Popen(
        [sys.executable, "-m", "kerasforge.tuning.search_process"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL if quiet else None,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
        start_new_session=True,
    )


def _stop(processes) -> None:
    # SIGTERM's default action ends a worker at once; the trial it was running runs again on resume.
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _stop_unused() -> None:
    _stop(_started_early)
    _started_early.clear()


def start_workers_early(count: int) -> None:
    """Starts `count` worker processes now, for the next `WorkerPool` of this process to use.

    Each imports the backend, KerasTuner and the recipe engine meanwhile
    (3-4 s each on two cores), then waits for its assignment. The command
    line calls this before its own imports, so theirs overlap; workers no
    pool takes are stopped when this process exits.

    Args:
        count: Integer number of workers.

    Example:

    ```python
    start_workers_early(2)
    import keras  # while the workers import theirs
    ```
    """
    if not _started_early:
        atexit.register(_stop_unused)
    _started_early.extend(_start_process() for _ in range(count))


class WorkerPool:
    """Runs a search with `workers` long-lived worker processes, its oracle served from this process.

    This process builds the search's KerasTuner oracle (reloading it when the
    search resumes) and serves it over KerasTuner's gRPC protocol on
    127.0.0.1, from a thread: no third, chief process imports TensorFlow. The
    workers (`python -m kerasforge.tuning.search_process`) are started before
    the oracle is built, so their imports overlap this process's work. Each
    runs trials until none is left, with the backend's thread pools limited to
    its share of the cores. After `search.trials_per_process` trials a worker
    ends and a fresh process takes its place under the same id, so memory
    stays bounded as in a one-process search. A worker killed by a signal in a
    trial (out of memory) is replaced the same way and runs that trial again; a
    trial killed `MAX_TRIAL_KILLS` times fails. A worker killed outside a trial
    (while it starts, or between two trials) is replaced too, while trials are
    left, up to `MAX_TRIAL_KILLS` times per worker id. Worker ids are `worker0`,
    `worker1`, ... on every run, so a resumed worker gets back the trial it
    was running, and KerasTuner's oracle gives trials that were running when
    the search was stopped to the next worker that asks.

    Stopping this process (Ctrl-C, SIGTERM: `KeyboardInterrupt` here) stops
    every worker before the exception goes on.

    Args:
        job: The `SearchJob` (see `run_search`).
        workers: Integer number of worker processes.

    Raises:
        TuningError: if `workers` < 1.

    Example:

    ```python
    stopped = WorkerPool(job, workers=2).run()  # None, or why the search stopped early
    ```
    """

    def __init__(self, job, workers: int):
        if workers < 1:
            raise TuningError(f"Argument `workers` must be >= 1. Received: workers={workers}")
        self.job = job
        self.workers = workers
        self.threads = max(1, _cores() // workers)

    def _process(self) -> subprocess.Popen:
        if _started_early:
            return _started_early.pop(0)
        return _start_process(quiet=not self.job.verbose)

    def _assign(self, process: subprocess.Popen, tuner_id: str, address: str, started: float) -> None:
        assignment = {
            "job": self.job,
            "tuner_id": tuner_id,
            "oracle": address,
            "threads": self.threads,
            "trial_limit": self.job.space.section.trials_per_process,
            "search_started": started,
        }
        try:
            process.stdin.write(pickle.dumps(assignment))
            process.stdin.close()
        except BrokenPipeError:
            pass  # it already ended: its exit status says why

    def run(self) -> str | None:
        """Runs the search to its end; returns why it stopped early, or None."""
        from kerasforge._keras_compat import print_msg  # imports keras: not before the workers start
        from kerasforge.tuning._keras_tuner_compat import serve_oracle

        processes, server, oracle = {}, None, None
        failures, failed_in_a_row = [], False
        try:
            # First, so their imports overlap the oracle's preparation.
            for index in range(self.workers):
                processes[f"worker{index}"] = self._process()
            started = time.time()
            tuner = _oracle_tuner(self.job)
            oracle = tuner.oracle
            server, port = serve_oracle(oracle, ORACLE_HOST, threads=self.workers)
            address = f"{ORACLE_HOST}:{port}"
            for tuner_id, process in processes.items():
                self._assign(process, tuner_id, address, started)
            if self.job.verbose:
                print_msg(
                    f"{self.workers} workers with {self.threads} thread(s) each, "
                    f"oracle in this process on {address}"
                )
            running, kills, idle_kills = set(processes), {}, {}
            while running and not failed_in_a_row:
                time.sleep(_POLL_SECONDS)
                for tuner_id in sorted(running):
                    code = processes[tuner_id].poll()
                    if code is None:
                        continue
                    running.discard(tuner_id)
                    after_kill = (
                        self._after_kill(oracle, tuner_id, -code, kills, idle_kills) if code < 0 else None
                    )
                    if (code == EXIT_PAUSED and _trials_left(oracle)) or after_kill == _REPLACE:
                        processes[tuner_id] = _start_process(quiet=not self.job.verbose)
                        self._assign(processes[tuner_id], tuner_id, address, started)
                        running.add(tuner_id)
                    elif code == EXIT_FAILED_IN_A_ROW or after_kill == EXIT_FAILED_IN_A_ROW:
                        failed_in_a_row = True
                    elif code < 0 and after_kill is None:
                        failures.append(
                            f"{tuner_id} was killed by {signal_name(-code)} {idle_kills[tuner_id]} times "
                            "outside a trial, and not started again"
                        )
                    elif code not in (EXIT_FINISHED, EXIT_PAUSED) and after_kill != _HANDLED:
                        failures.append(f"{tuner_id} exited with status {code}")
        finally:
            # Normally every worker has ended here; when this process is
            # interrupted they are stopped, so none runs on without it.
            _stop(processes.values())
            if server is not None:
                server.stop(None)
                oracle.save()
        if failed_in_a_row:
            from kerasforge.tuning.run_search import save_trials

            save_trials(tuner)
            return f"{self.job.space.section.max_consecutive_failures} trials failed in a row"
        return "; ".join(failures) or None

    def _after_kill(
        self, oracle, tuner_id: str, signal_number: int, kills: dict, idle_kills: dict
    ) -> str | int | None:
        """Handles a worker killed by a signal: `_REPLACE` it, `_HANDLED`, `EXIT_FAILED_IN_A_ROW`, or None.

        The trial it was running stays the worker id's in the oracle, so a fresh
        process under that id runs it again; at its `MAX_TRIAL_KILLS`th kill the
        trial fails instead, with the reason in `trials.csv`, and the fresh
        process takes the next trial. A worker killed outside a trial (`kills`
        counts per trial, `idle_kills` per worker id) lost nothing: it is replaced
        while trials are left, but not after its `MAX_TRIAL_KILLS`th such kill
        (its process may not be able to start at all): None, and the search
        reports it when it ends. `_HANDLED`: nothing to start, nothing to report.
        """
        from kerasforge._keras_compat import print_msg

        how = signal_name(signal_number)
        trial = oracle.ongoing_trials.get(tuner_id)
        if trial is None:
            idle_kills[tuner_id] = idle_kills.get(tuner_id, 0) + 1
            if not _trials_left(oracle):
                return _HANDLED
            if idle_kills[tuner_id] >= MAX_TRIAL_KILLS:
                return None
            if self.job.verbose:
                print_msg(f"[{tuner_id}] killed by {how} outside a trial; a fresh process takes its place")
            return _REPLACE
        kills[trial.trial_id] = kills.get(trial.trial_id, 0) + 1
        then = f"a fresh process runs trial {trial.trial_id} again"
        failed = kills[trial.trial_id] >= MAX_TRIAL_KILLS
        if failed:
            trial.status = "FAILED"
            trial.message = (
                f"its worker process was killed by {how} {kills[trial.trial_id]} times "
                "(out of memory? a crash in native code?)"
            )
            then = f"trial {trial.trial_id} failed: {trial.message}"
        if self.job.verbose:
            print_msg(f"[{tuner_id}] killed by {how}; {then}")
        if failed:
            from kerasforge.tuning._keras_tuner_compat import release_oracle_lock

            try:
                oracle.end_trial(trial)
            except RuntimeError as error:
                release_oracle_lock(oracle)
                if CONSECUTIVE_FAILURES not in str(error):
                    raise
                return EXIT_FAILED_IN_A_ROW
        return _REPLACE if _trials_left(oracle) or tuner_id in oracle.ongoing_trials else _HANDLED


def _trials_left(oracle) -> bool:
    from kerasforge.tuning._keras_tuner_compat import trials_to_retry

    return oracle.max_trials is None or len(oracle.trials) < oracle.max_trials or trials_to_retry(oracle) > 0


def _oracle_tuner(job):
    """The search's tuner in this process, for its oracle: declares the space, trains nothing."""
    import keras_tuner as kt

    from kerasforge.tuning.run_search import job_tuner

    class SpaceOnly(kt.HyperModel):
        def build(self, hp):
            job.space.values(hp)  # declares the hyperparameters, conditional ones included

    tuner = job_tuner(job, SpaceOnly(name=job.recipe.name))
    tuner.save()  # so a resumed search reloads this oracle
    return tuner
