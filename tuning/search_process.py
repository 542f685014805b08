"""A search worker: `python -m kerasforge.tuning.search_process`, started by `WorkerPool`.

A worker imports the backend, KerasTuner and the recipe engine first, and only
then reads its assignment (a pickled dict: the `SearchJob`, its tuner id, the
oracle's address, its threads, its trial limit) from stdin. So `WorkerPool`
can start it before the search is even prepared, and the few seconds its
imports take overlap the parent's own preparation. It then asks the parent's
oracle for trials over KerasTuner's gRPC protocol until the search ends or it
has run `trial_limit` trials, and says which with its exit status.

A worker keeps SIGTERM's default action: it has nothing to clean up, since the
trial it was running runs again when the search resumes. It runs in a session
of its own, so a Ctrl-C at the terminal reaches only the parent, which stops
it: an interrupted search prints one line, not a traceback per worker.

Imports nothing heavy at module level: `WorkerPool` reads the exit statuses.
"""

import os
import pickle
import signal
import sys

from kerasforge.errors import KerasforgeError

EXIT_FINISHED = 0
EXIT_USER_ERROR = 2
EXIT_PAUSED = 3
"""The worker ran its `trial_limit` trials: the pool goes on in a fresh process."""
EXIT_FAILED_IN_A_ROW = 4
"""The oracle stopped the search: `search.max_consecutive_failures` trials failed one after another."""
CONSECUTIVE_FAILURES = "consecutive failures"
"""In the `RuntimeError` KerasTuner's oracle raises when it stops a search for that reason."""
MAX_TRIAL_KILLS = 2
"""A trial whose process is killed this many times (out of memory, a crash in native code) is not
run again: one kill may be the machine's doing (another job's memory), a second one is the trial's."""


def signal_name(number: int) -> str:
    """`SIGKILL` for 9: how a process that died of signal `number` is described."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def main(stdin=None) -> int:
    """Runs the worker whose assignment comes on `stdin` (bytes); returns the exit status.

    Args:
        stdin: A binary file holding the pickled assignment. Defaults to
            `sys.stdin.buffer`.
    """
    from kerasforge.recipes.engine.reproducibility import limit_threads
    from kerasforge.tuning.run_search import SearchStatus, run_trials
    from kerasforge.tuning.search_arguments import parse_address
    from kerasforge.tuning.search_cluster import oracle_environment

    try:
        assignment = pickle.load(stdin or sys.stdin.buffer)
    except EOFError:
        return EXIT_FINISHED  # the parent ended before it needed this worker
    try:
        parse_address(assignment["oracle"])
        # Before the backend's first op, so the pools are made at this size.
        limit_threads(assignment["threads"])
        os.environ["KERASTUNER_TUNER_ID"] = assignment["tuner_id"]
        with oracle_environment("worker", assignment["oracle"]):
            status = run_trials(
                assignment["job"],
                trial_limit=assignment["trial_limit"],
                search_started=assignment["search_started"],
            )
    except KerasforgeError as error:
        print(f"kerasforge: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as error:
        # The oracle raises this in the parent, which answers the worker's request with it.
        if CONSECUTIVE_FAILURES in str(error):
            return EXIT_FAILED_IN_A_ROW
        raise
    return {SearchStatus.PAUSED: EXIT_PAUSED, SearchStatus.FAILED_IN_A_ROW: EXIT_FAILED_IN_A_ROW}.get(
        status, EXIT_FINISHED
    )


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Every file is closed by now: skip the interpreter's and the backend's teardown (seconds,
    # on a busy machine), which the parent would otherwise wait for at the end of the search.
    os._exit(status)
