"""`run_search`: a KerasTuner search over a recipe's `search:` space, from start (or resume) to results."""

import contextlib
import enum
import functools
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import keras_tuner as kt

from kerasforge._keras_compat import print_msg
from kerasforge.errors import TuningError
from kerasforge.recipes import Recipe, prepare_data
from kerasforge.recipes.schema.model import head_defaults
from kerasforge.tuning.recipe_hyper_model import RecipeHyperModel
from kerasforge.tuning.recipe_tuner import TRIAL_RECORD, TrialLimitReached, make_tuner
from kerasforge.tuning.search_arguments import DEFAULT_PRUNE, check_search_arguments, search_folder_path
from kerasforge.tuning.search_cluster import STOP_SECONDS, oracle_environment
from kerasforge.tuning.search_files import write_after_trial
from kerasforge.tuning.search_folder import PROJECT_NAME, SearchFolder
from kerasforge.tuning.search_plan import SearchPlan
from kerasforge.tuning.search_process import CONSECUTIVE_FAILURES, MAX_TRIAL_KILLS, signal_name
from kerasforge.tuning.search_result import SearchResult
from kerasforge.tuning.search_space import SearchSpace
from kerasforge.tuning.worker_pool import WorkerPool
from kerasforge.vocabulary import metric_direction


class SearchStatus(enum.Enum):
    """How a process's share of a search ended."""

    FINISHED = "finished"
    """No trial is left to run."""
    PAUSED = "paused"
    """This process ran its `trial_limit` trials and more remain: go on in a fresh process."""
    FAILED_IN_A_ROW = "failed in a row"
    """`search.max_consecutive_failures` trials failed one after another."""


@dataclass(frozen=True)
class SearchJob:
    """What a process needs to run trials of a search: picklable, so a child process gets it whole.

    Attributes:
        recipe: The base recipe.
        space: Its `SearchSpace`.
        tuner: The tuner name (one of `TUNER_NAMES`).
        objective: The KerasTuner objective.
        max_trials: Integer total of trials, or None for Hyperband's whole plan.
        folder: The search folder.
        total_trials: The N of "trial k of N" in the progress lines.
        verbose: Integer. 0 prints nothing.
        prune: One of `PRUNE_MODES`: how trials are stopped early.
    """

    recipe: Recipe
    space: SearchSpace
    tuner: str
    objective: kt.Objective
    max_trials: int | None
    folder: Path
    total_trials: int
    verbose: int
    prune: str = "none"


def _objective(recipe: Recipe, name: str) -> kt.Objective:
    metrics = recipe.model.metrics or list(head_defaults(recipe.model.task)[1])
    available = ["loss", *metrics]
    if recipe.data.split.val > 0:
        available += [f"val_{metric}" for metric in available]
    if name not in available:
        raise TuningError(
            f"--objective {name!r} is not a metric of this recipe; available: {', '.join(available)}"
        )
    return kt.Objective(name, metric_direction(name) or "min")


def job_tuner(job: SearchJob, hypermodel: kt.HyperModel) -> kt.Tuner:
    """The tuner of `job`'s search over `hypermodel`; it reloads the search's oracle when resuming."""
    section = job.space.section
    return make_tuner(
        job.tuner,
        hypermodel,
        job.objective,
        job.max_trials,
        directory=job.folder,
        project_name=PROJECT_NAME,
        seed=job.recipe.seed + 1,
        max_consecutive_failures=section.max_consecutive_failures,
        hyperband_factor=section.hyperband_factor,
        max_epochs=job.recipe.training.epochs,
    )


def save_trials(instance: kt.Tuner) -> None:
    """Saves every trial of the tuner's oracle to its folder.

    KerasTuner stops a search for failures in a row before it saves the last
    failed trial; this saves it, so `trials.csv` shows it.
    """
    for trial in instance.oracle.trials.values():
        trial.save(os.path.join(instance.get_trial_dir(trial.trial_id), "trial.json"))


def run_trials(
    job: SearchJob,
    chief: bool = False,
    trial_limit: int | None = None,
    search_started: float | None = None,
) -> SearchStatus:
    """Runs trials of a search in this process: all of them, or a worker's or the chief's part.

    Args:
        job: The `SearchJob`.
        chief: Boolean. This process serves the oracle of a cluster.
        trial_limit: Integer. Stop with `SearchStatus.PAUSED` after this many trials.
        search_started: `time.time()` when the search started, for the elapsed time.

    Returns:
        The `SearchStatus` this process's part ended with.

    A chief serves the oracle until the search ends or it is interrupted
    (Ctrl-C, SIGTERM); either way it saves the oracle
    last, since KerasTuner's chief saves before it marks the last trial done.
    """
    hypermodel = RecipeHyperModel(
        job.space, prepare_data(job.recipe), keep_checkpoints=job.tuner == "hyperband"
    )
    instance = job_tuner(job, hypermodel)
    instance.total_trials, instance.verbose = job.total_trials, job.verbose
    instance.trial_limit, instance.search_started = trial_limit, search_started
    instance.prune = job.prune
    instance.after_trial = functools.partial(write_after_trial, job.folder, job.space)
    try:
        instance.search()
    except TrialLimitReached:
        # A worker's oracle is a client, without `trials`: its pool decides whether more remain.
        trials = getattr(instance.oracle, "trials", None)
        if job.max_trials is not None and trials is not None and len(trials) >= job.max_trials:
            return SearchStatus.FINISHED
        return SearchStatus.PAUSED
    except KeyboardInterrupt:
        if not chief:
            raise
    except RuntimeError as error:
        if CONSECUTIVE_FAILURES not in str(error):
            raise
        save_trials(instance)
        return SearchStatus.FAILED_IN_A_ROW
    finally:
        if chief:
            instance.oracle.save()
    return SearchStatus.FINISHED


def _child(connection, job, options):
    # The child was started with SIGINT blocked (`_sigint_blocked`): ignoring it discards a Ctrl-C
    # that reached it meanwhile, and from now on the parent alone answers one.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    connection.send(run_trials(job, **options))
    connection.close()


@contextlib.contextmanager
def _sigint_blocked():
    """Blocks SIGINT in this thread meanwhile, so a child process started now inherits the block.

    Not ignored: a Ctrl-C while a child starts (which takes as long as the child needs to start
    Python and read its pickled job) would be lost, and the search would run on to its end. A
    blocked one waits, and is delivered when the block ends (or meanwhile to another thread, when
    Python raises it in the main thread all the same).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _run_in_child(job: SearchJob, options: dict) -> SearchStatus:
    """Runs `run_trials` in a fresh (spawned) process, whose memory goes back to the system at its end.

    The child ignores SIGINT (it starts with SIGINT blocked, and ignores it
    first thing), so a Ctrl-C at the terminal (which signals the whole
    process group) reaches only this process; this process then stops the
    child with SIGTERM. So an interrupted search prints one line, not a
    child's traceback, and `kill -INT` to this process stops the child too
    instead of leaving it to run its share of trials.
    """
    context = multiprocessing.get_context("spawn")
    # A pipe, not a queue: a queue's semaphore makes multiprocessing start a
    # resource tracker that warns about "leaked semaphores" when interrupted.
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, job, options))
    try:
        with _sigint_blocked():
            process.start()
        sender.close()
        outcome, answered = receiver.recv(), True
    except EOFError:
        outcome, answered = None, False  # the child died before it answered
    except BaseException:
        if process.pid is not None:
            process.terminate()
            process.join(STOP_SECONDS)
            if process.is_alive():
                process.kill()
        raise
    finally:
        sender.close()
        receiver.close()
    process.join()
    if process.exitcode is not None and process.exitcode < 0:
        raise _TrialProcessKilled(signal_name(-process.exitcode))
    if process.exitcode != 0 or not answered:
        raise RuntimeError(f"the search's trial process exited with status {process.exitcode}")
    return outcome


class _TrialProcessKilled(Exception):
    """The child running a search's trials was killed by a signal (its name is the message)."""


def _run_in_children(job: SearchJob, options: dict) -> SearchStatus:
    """Runs the search's trials in fresh child processes, `trial_limit` at a time, to its end.

    A child killed by a signal (out of memory, a crash in native code) is
    replaced: the oracle the next child reloads hands the trial it was running
    out again. Killed `MAX_TRIAL_KILLS` times with no trial finished between
    the kills, the search stops with one line.

    Raises:
        TuningError: on that second kill.
    """
    status, kills = SearchStatus.PAUSED, 0
    while status is SearchStatus.PAUSED:
        finished = _finished_trials(job.folder)
        try:
            status = _run_in_child(job, options)
        except _TrialProcessKilled as killed:
            kills = kills + 1 if _finished_trials(job.folder) == finished else 1
            if kills >= MAX_TRIAL_KILLS:
                raise TuningError(
                    f"search stopped: its trial process was killed by {killed} {kills} times in the same "
                    "trial (out of memory? a crash in native code?); running the same command again "
                    "resumes the search with that trial"
                ) from None
            if job.verbose:
                print_msg(f"its trial process was killed by {killed}; a fresh one runs that trial again")
    return status


def _finished_trials(folder: Path) -> int:
    return len(list((folder / PROJECT_NAME).glob(f"trial_*/{TRIAL_RECORD}")))


def _failed_in_a_row(space: SearchSpace) -> str:
    return f"{space.section.max_consecutive_failures} trials failed in a row"


def run_search(
    recipe: Recipe,
    tuner: str = "random",
    max_trials: int | None = None,
    objective: str | None = None,
    run_dir: str | Path | None = None,
    overwrite: bool = False,
    workers: int = 1,
    role: str | None = None,
    oracle: str | None = None,
    verbose: int = 1,
    prune: str = DEFAULT_PRUNE,
) -> SearchResult | None:
    """Searches the recipe's `search:` space with KerasTuner and writes the results.

    Before it starts it prints the space and the plan (for Hyperband: the
    brackets, the trials and the total epochs). Each trial prints one line:
    trial k of N, its objective, the best so far and the time elapsed. At
    the end it prints the top-5 table. The search folder then holds
    `trials.csv`, `histories.csv`, `best_recipe.yaml` (runnable with
    `kerasforge train`) and `plots/`.

    Running the same search again resumes it: finished trials are kept, a
    trial that was running when the process died runs again, and
    `max_trials` counts the total, so only the missing trials run. The same
    mechanism bounds memory: a search of more than `search.trials_per_process`
    trials runs them in child processes of that many trials each.

    Args:
        recipe: The base `Recipe`; its `search:` section is the space (the
            default space when it has none).
        tuner: `random`, `hyperband`, `bayesian` or `grid`. Defaults to `random`.
        max_trials: Integer total of trials. Defaults to `search.max_trials`
            (Hyperband: its full plan).
        objective: Metric to optimise, e.g. `val_accuracy`. Defaults to `val_loss`.
        run_dir: The search folder. Defaults to `runs/NAME-search`.
        overwrite: Boolean. Delete an earlier search in `run_dir` first.
        workers: Integer. Parallel worker processes on this machine, asking
            this process's oracle for trials (see `WorkerPool`). Defaults to `1`.
        role: None, `chief` or `worker`: join a multi-host search.
        oracle: `HOST:PORT` of the chief, with `role`.
        verbose: Integer. 0 prints nothing, 1 the plan, progress and table.
        prune: `diagnosis`, `median` or `none`: how a trial is stopped
            early (see `TrialPruning`). A pruned trial is `PRUNED` in
            `trials.csv`, with its `prune_kind`, `pruned_epoch` and reason.
            Defaults to `DEFAULT_PRUNE`.

    Returns:
        A `SearchResult`, or None for a worker.

    Raises:
        TuningError: for invalid arguments or search spaces, a `run_dir`
            holding another search, or a search stopped by too many failed
            trials in a row (after writing the results).

    Example:

    ```python
    result = run_search(load_recipe("digits_mlp"), max_trials=10, run_dir="runs/digits-search")
    result.best_recipe, result.trials
    ```
    """
    space = check_search_arguments(recipe, tuner, max_trials, workers, role, oracle, verbose, prune)
    goal = _objective(recipe, objective or "val_loss")
    if max_trials is None and tuner != "hyperband":
        max_trials = space.section.max_trials
    plan = SearchPlan.build(tuner, space, max_trials)
    folder = SearchFolder(
        search_folder_path(recipe, run_dir), recipe, tuner, goal.name, goal.direction, overwrite
    )
    job = SearchJob(recipe, space, tuner, goal, max_trials, folder.path, plan.trials, verbose, prune)
    if role == "worker":
        with oracle_environment("worker", oracle):
            status = run_trials(job)
        if status is SearchStatus.FAILED_IN_A_ROW:
            raise TuningError(f"search stopped: {_failed_in_a_row(space)}")
        return None
    resumed = folder.prepare()
    if verbose:
        for line in plan.lines():
            print_msg(line)
        print_msg(f"pruning: {prune}")
        print_msg(f"search folder: {folder.path}" + (" (resuming)" if resumed else ""))
    started = time.perf_counter()
    if role == "chief":
        with oracle_environment("chief", oracle):
            stopped = (
                _failed_in_a_row(space)
                if run_trials(job, chief=True) is SearchStatus.FAILED_IN_A_ROW
                else None
            )
    elif workers > 1:
        stopped = WorkerPool(job, workers).run()
    else:
        options = {"trial_limit": space.section.trials_per_process, "search_started": time.time()}
        done = len(list(folder.project_dir.glob("trial_*/trial.json")))
        # A search longer than one process's share runs wholly in child processes,
        # so this one does not keep the memory of its own share meanwhile.
        status = (
            SearchStatus.PAUSED if plan.trials - done > options["trial_limit"] else run_trials(job, **options)
        )
        if status is SearchStatus.PAUSED:
            status = _run_in_children(job, options)
        stopped = _failed_in_a_row(space) if status is SearchStatus.FAILED_IN_A_ROW else None
    result = SearchResult.from_folder(folder.path, space, seconds=time.perf_counter() - started)
    if verbose:
        counts = result.trials["status"].value_counts().to_dict()
        shown = ", ".join(f"{count} {status.lower()}" for status, count in sorted(counts.items()))
        print_msg(f"\n{len(result.trials)} trials ({shown}) in {result.seconds:.0f} s")
        if result.best_recipe is not None:
            print_msg(f"top trials by {goal.name}:\n{result.table(5)}")
        pruned = result.pruned_table()
        if pruned:
            print_msg(f"pruned trials:\n{pruned}")
            print_msg(f"best recipe: {folder.path / 'best_recipe.yaml'}")
        print_msg(f"results: {folder.path / 'trials.csv'}, histories.csv, plots/")
    if stopped:
        raise TuningError(f"search stopped: {stopped}; see the reason column of {folder.path / 'trials.csv'}")
    return result
