"""The `kerasforge` command line.

Only argparse and the standard library are imported at module level, so
`kerasforge --help` answers at once. Each command first checks everything it
can without TensorFlow (the recipe and its `--set` overrides, the arguments,
that the run folder can be made) and only then imports the backend, so a
mistake is reported in a fraction of a second. A user mistake
(`KerasforgeError`) prints one line on stderr and exits with status 2.

Ctrl-C (SIGINT) and SIGTERM (`timeout`, `docker stop`, Slurm, Kubernetes)
stop a command the same way: one line, the partial run folder removed (a
`train` keeps its checkpoint, and says how to `--resume`), and exit status
130 or 143. TensorFlow's own log lines are kept off stderr (see
`kerasforge._quiet_backend`) unless `-v` or `KERASFORGE_BACKEND_LOGS=1`
asks for them.
"""

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys

from kerasforge import __version__
from kerasforge._backend_environment import set_backend_environment
from kerasforge._quiet_backend import BACKEND_LOGS_VARIABLE, BackendLogFilter, backend_logs_wanted
from kerasforge._stop_signals import STOP_SIGNALS, raise_if_stopping, stop_signals_as_interrupts
from kerasforge.errors import ArgumentError, BackendMissingError, ClusterError, KerasforgeError, RunDirError
from kerasforge.tuning.search_arguments import DEFAULT_PRUNE, PRUNE_MODES, TUNER_NAMES

EXIT_USER_ERROR = 2


class _OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, like every other error."""

    def error(self, message):
        self.exit(EXIT_USER_ERROR, f"kerasforge: error: {message} (see `{self.prog} --help`)\n")


# The extra that installs each backend's package (setup.cfg's extras_require).
_BACKEND_EXTRAS = {"tensorflow": "cpu", "jax": "jax", "jaxlib": "jax", "torch": "torch"}


def _import_recipes():
    """Imports kerasforge.recipes, turning a missing Keras backend into one clear line."""
    set_backend_environment()
    try:
        import keras  # noqa: F401
    except ModuleNotFoundError as error:
        raise BackendMissingError(
            f"the Keras backend is not installed ({error.name} is missing); install it with: "
            f"pip install 'kerasforge[{_BACKEND_EXTRAS.get(error.name or '', 'cpu')}]', "
            "or pick another with KERAS_BACKEND=tensorflow|jax|torch"
        ) from None
    from kerasforge import recipes

    return recipes


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1. Received: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1. Received: {value}")
    return value


def _add_recipe_arguments(parser, optional=False):
    recipe_help = "a recipe YAML path or a bundled recipe name (see `kerasforge list`)"
    if optional:
        parser.add_argument("recipe", nargs="?", help=f"{recipe_help}; with --resume, the killed run's")
    else:
        parser.add_argument("recipe", help=recipe_help)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe field, e.g. --set training.epochs=5 (value read as YAML; repeatable)",
    )


# Checks that need no TensorFlow: each command runs them before it imports the backend.


def _load_recipe(args):
    from kerasforge.recipes.schema.loading import load_recipe

    return load_recipe(args.recipe, args.overrides)


def _check_run_folder(recipe, run_dir, fresh=False) -> None:
    from kerasforge.recipes.engine.run_folder import RunFolder

    RunFolder(recipe.name, run_dir, fresh=fresh).check()


def _resumed_recipe(args):
    """The killed run's recipe; RECIPE and --set, if given, must leave it as it was."""
    from kerasforge.recipes.engine.resume_check import check_same_recipe, checkpoint_recipe
    from kerasforge.recipes.engine.run_folder import RunFolder

    if args.run_dir is not None or args.fresh:
        given = "--run-dir" if args.run_dir is not None else "--fresh"
        raise ArgumentError(f"--resume RUN_DIR names the run folder; leave out {given}")
    RunFolder("", args.resume, resume=True).check()
    recipe = _load_recipe(args) if args.recipe else checkpoint_recipe(args.resume, args.overrides)
    check_same_recipe(recipe, args.resume)
    return recipe


def _cluster(args):
    """The `Cluster` of `--coordinator/--num-processes/--process-id`, or None; checked before the backend."""
    from kerasforge.recipes.engine.run_arguments import check_cluster_arguments

    check_cluster_arguments(args.coordinator, args.num_processes, args.process_id)
    if args.coordinator is None:
        return None
    if args.resume is not None:
        raise ArgumentError("--resume continues a one-process run; leave out --coordinator")
    from kerasforge.recipes.engine.distribute import Cluster

    return Cluster(args.coordinator, args.num_processes, args.process_id)


def _command_train(args):
    from kerasforge.recipes.engine.run_folder import ResumableRunError

    cluster = _cluster(args)
    if args.resume is not None:
        recipe = _resumed_recipe(args)
    elif args.recipe is None:
        raise ArgumentError("train needs a RECIPE, or --resume RUN_DIR to continue a killed run")
    else:
        recipe = _load_recipe(args)
        # Only process 0 writes the run folder: the others checking it as well would race it for its lock.
        if cluster is None or cluster.process_id == 0:
            try:
                _check_run_folder(recipe, args.run_dir, fresh=args.fresh)
            except ResumableRunError as error:
                raise error.with_fresh_command(f"kerasforge {shlex.join(args.argv)} --fresh") from None
    args.when_stopped = "nothing was written"
    recipes = _import_recipes()
    recipes.train(
        recipe,
        run_dir=args.resume or args.run_dir,
        verbose=2 if args.quiet else 1,
        resume=args.resume is not None,
        fresh=args.fresh,
        cluster=cluster,
    )


def _command_validate(args):
    # Everything `train` checks before it builds a model, without TensorFlow.
    recipe = _load_recipe(args)
    summary = (
        f"{args.recipe}: valid recipe {recipe.name!r} ({recipe.model.task}, "
        f"hidden {recipe.model.hidden_widths}, {recipe.training.epochs} epochs)"
    )
    if not args.no_data:
        from kerasforge.recipes.engine.prepare_data import check_recipe_data

        summary += f"; data: {check_recipe_data(recipe)}"
    print(summary)


def _command_list(args):
    from kerasforge.recipes.schema.loading import bundled_recipes, read_yaml

    for name, path in bundled_recipes().items():
        print(f"{name:<28} {read_yaml(path).get('description', '')}")


def _command_schema(args):
    from kerasforge.recipes.schema.recipe import Recipe

    print(json.dumps(Recipe.model_json_schema(), indent=2))


def _command_tune(args):
    from kerasforge.recipes.engine.run_folder import check_writable
    from kerasforge.tuning.search_arguments import check_search_arguments, search_folder_path

    recipe = _load_recipe(args)
    space = check_search_arguments(
        recipe, args.tuner, args.max_trials, args.workers, args.role, args.oracle, prune=args.prune
    )
    folder = search_folder_path(recipe, args.run_dir)
    check_writable(folder)
    args.when_stopped = f"run the same command again to resume the search in {str(folder)!r}"
    if args.workers > 1 and args.role is None:
        from kerasforge.tuning.worker_pool import start_workers_early

        start_workers_early(args.workers)  # their backend imports overlap this process's
    _import_recipes()
    from kerasforge.tuning import SearchPlan, run_search
    from kerasforge.tuning.search_files import interrupted_message

    total = SearchPlan.build(args.tuner, space, args.max_trials).trials
    try:
        _run_search(run_search, recipe, folder, args)
    except KeyboardInterrupt as error:
        error.when_stopped = interrupted_message(folder, total)
        raise


def _run_search(run_search, recipe, folder, args):
    run_search(
        recipe,
        tuner=args.tuner,
        max_trials=args.max_trials,
        objective=args.objective,
        run_dir=folder,
        overwrite=args.overwrite,
        workers=args.workers,
        role=args.role,
        oracle=args.oracle,
        verbose=1,
        prune=args.prune,
    )


def _command_compare(args):
    from kerasforge.recipes.engine.variant_recipes import variant_recipes

    recipe = _load_recipe(args)
    variant_recipes(recipe)
    _check_run_folder(recipe, args.run_dir)
    args.when_stopped = "nothing was written"
    recipes = _import_recipes()
    recipes.compare(recipe, run_dir=args.run_dir, verbose=2 if args.quiet else 1, seeds=args.seeds)


def _command_report(args):
    recipes = _import_recipes()
    path = recipes.write_report(args.run_dir)
    print(f"report: {path}")


def _command_lr_find(args):
    from kerasforge.recipes.engine.run_arguments import check_sweep_steps

    recipe = _load_recipe(args)
    check_sweep_steps(args.steps)
    _check_run_folder(recipe, args.run_dir)
    args.when_stopped = "nothing was written"
    recipes = _import_recipes()
    recipes.find_learning_rate(recipe, run_dir=args.run_dir, steps=args.steps, verbose=1)


def _command_doctor(args):
    from pathlib import Path

    if Path(args.recipe).is_dir():
        from kerasforge.recipes.reports.run_record import RunRecord

        if args.overrides:
            raise RunDirError(
                f"--set changes a recipe, but {args.recipe!r} is a finished run folder; "
                f"to change it, doctor its recipe: kerasforge doctor {args.recipe}/recipe.yaml --set ..."
            )
        source = RunRecord.read(args.recipe).path
    else:
        source = _load_recipe(args)
    _import_recipes()
    from kerasforge.recipes.engine.doctor import doctor

    doctor(source, rounds=args.rounds, run_dir=args.run_dir, verbose=1)


def _check_new_rows(args, suffixes):
    # Before TensorFlow: the run folder, the data file's suffix and existence, and the output file.
    from kerasforge.data.load_frame import FILE_SUFFIXES, find_data_file
    from kerasforge.errors import DataError
    from kerasforge.recipes.engine.run_model_files import check_output, check_run_model

    check_run_model(args.run_dir)
    if args.out is not None:
        check_output(args.out, suffixes, args.overwrite)
    if not str(args.data).lower().endswith(FILE_SUFFIXES):
        raise DataError(f"DATA must be a {', '.join(FILE_SUFFIXES)} file. Received: {args.data!r}")
    find_data_file(args.data)


def _command_predict(args):
    from kerasforge.recipes.engine.run_model_files import PREDICTION_SUFFIXES

    _check_new_rows(args, PREDICTION_SUFFIXES)
    args.when_stopped = "nothing was written"
    _import_recipes()
    from kerasforge.recipes.engine.use_model import predict_file

    rows = predict_file(args.run_dir, args.data, args.out, overwrite=args.overwrite)
    print(f"predicted {rows} rows: {args.out}")


def _command_evaluate(args):
    _check_new_rows(args, (".json",))
    args.when_stopped = "nothing was written"
    _import_recipes()
    from kerasforge.recipes.engine.use_model import evaluate_file

    metrics = evaluate_file(args.run_dir, args.data, args.out, overwrite=args.overwrite)
    print(", ".join(f"{key}={value:.4f}" for key, value in metrics.items()))
    if args.out is not None:
        print(f"metrics: {args.out}")


def _add_verbose(parser, default):
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help=f"show TensorFlow's own log lines (the same as {BACKEND_LOGS_VARIABLE}=1)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser of the `kerasforge` command."""
    parser = _OneLineParser(
        prog="kerasforge",
        description="Train, diagnose and tune Keras models from YAML recipes.",
        epilog=f"TensorFlow's own log lines are hidden; -v or {BACKEND_LOGS_VARIABLE}=1 shows them.",
    )
    parser.add_argument("--version", action="version", version=f"kerasforge {__version__}")
    _add_verbose(parser, default=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    commands.required = True
    # `-v` also after the command's name; SUPPRESS keeps one given before it.
    verbose = _OneLineParser(add_help=False)
    _add_verbose(verbose, default=argparse.SUPPRESS)

    train = commands.add_parser("train", parents=[verbose], help="train a recipe and write a run folder")
    _add_recipe_arguments(train, optional=True)
    train.add_argument("--run-dir", help="run folder to create (default: runs/NAME-TIMESTAMP)")
    train.add_argument(
        "--resume", metavar="RUN_DIR", help="continue a killed run from its last complete epoch"
    )
    train.add_argument(
        "--fresh",
        action="store_true",
        help="discard the checkpoint of a killed run in --run-dir; start afresh",
    )
    train.add_argument("--quiet", action="store_true", help="one line per epoch instead of a progress bar")
    cluster = train.add_argument_group("multi-process training (JAX; run the same command on every process)")
    cluster.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address, reachable by all")
    cluster.add_argument("--num-processes", type=_positive_int, metavar="N", help="processes in the run")
    cluster.add_argument("--process-id", type=int, metavar="I", help="this process, 0..N-1; 0 writes the run")
    train.set_defaults(handler=_command_train)

    validate = commands.add_parser(
        "validate", parents=[verbose], help="check a recipe and its data as train would, without training"
    )
    _add_recipe_arguments(validate)
    validate.add_argument(
        "--no-data", action="store_true", help="check the recipe only, without loading its data"
    )
    validate.set_defaults(handler=_command_validate)

    listing = commands.add_parser("list", parents=[verbose], help="list the bundled recipes")
    listing.set_defaults(handler=_command_list)

    schema = commands.add_parser("schema", parents=[verbose], help="print the JSON Schema of a recipe")
    schema.set_defaults(handler=_command_schema)

    tune = commands.add_parser(
        "tune", parents=[verbose], help="KerasTuner search over the recipe's `search:` space"
    )
    _add_recipe_arguments(tune)
    tune.add_argument("--tuner", choices=TUNER_NAMES, default="random")
    tune.add_argument(
        "--max-trials", type=_positive_int, default=None, help="total trials (default: the recipe's)"
    )
    tune.add_argument("--objective", default=None, help="metric to optimise (default: val_loss)")
    tune.add_argument("--run-dir", help="search folder; running again resumes it")
    tune.add_argument("--overwrite", action="store_true", help="start the search afresh")
    tune.add_argument("--workers", type=_positive_int, default=1, help="parallel workers on this machine")
    tune.add_argument("--role", choices=["chief", "worker"], default=None, help="join a multi-host search")
    tune.add_argument("--oracle", metavar="HOST:PORT", default=None, help="chief address for --role")
    tune.add_argument(
        "--prune",
        choices=PRUNE_MODES,
        default=DEFAULT_PRUNE,
        help=f"stop bad trials early: by diagnosis, the median rule, or none (default: {DEFAULT_PRUNE})",
    )
    tune.set_defaults(handler=_command_tune)

    compare = commands.add_parser(
        "compare", parents=[verbose], help="train every variant of a recipe side by side"
    )
    _add_recipe_arguments(compare)
    compare.add_argument("--run-dir", help="comparison folder to create")
    compare.add_argument("--quiet", action="store_true", help="one line per epoch")
    compare.add_argument(
        "--seeds", type=_positive_int, default=1, help="run every variant at N seeds and compare them paired"
    )
    compare.set_defaults(handler=_command_compare)

    report = commands.add_parser(
        "report", parents=[verbose], help="write the HTML report and diagnosis of a run folder"
    )
    report.add_argument("run_dir", help="a run folder written by train or compare")
    report.set_defaults(handler=_command_report)

    lr_find = commands.add_parser(
        "lr-find", parents=[verbose], help="learning-rate range test: loss against an exponential LR sweep"
    )
    _add_recipe_arguments(lr_find)
    lr_find.add_argument("--run-dir", help="folder for the plot and the suggestion")
    lr_find.add_argument("--steps", type=int, default=200, help="updates in the sweep (at least 2)")
    lr_find.set_defaults(handler=_command_lr_find)

    doctor = commands.add_parser(
        "doctor", help="diagnose a run, apply the top fix, retrain and compare, while it helps"
    )
    _add_recipe_arguments(doctor)
    doctor.add_argument("--rounds", type=_positive_int, default=3, help="most fixes to try (default 3)")
    doctor.add_argument("--run-dir", help="doctor folder to create (default: runs/NAME-doctor-TIMESTAMP)")
    doctor.set_defaults(handler=_command_doctor)

    predict = commands.add_parser(
        "predict", parents=[verbose], help="predict new rows (CSV or Parquet) with a run's model"
    )
    predict.add_argument("run_dir", help="a run folder written by train")
    predict.add_argument("data", help="a .csv or .parquet file with the run's feature columns")
    predict.add_argument("--out", default="predictions.csv", help="CSV to write (default: predictions.csv)")
    predict.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    predict.set_defaults(handler=_command_predict)

    evaluate = commands.add_parser(
        "evaluate", parents=[verbose], help="a run's test metrics on a new labelled file"
    )
    evaluate.add_argument("run_dir", help="a run folder written by train")
    evaluate.add_argument("data", help="a .csv or .parquet file with the feature and target columns")
    evaluate.add_argument("--out", default=None, help="also write the metrics to this .json file")
    evaluate.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    evaluate.set_defaults(handler=_command_evaluate)
    return parser


def main(argv=None) -> int:
    """Runs the command line and returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    if args.verbose:
        os.environ[BACKEND_LOGS_VARIABLE] = "1"  # child processes inherit it
    quiet = contextlib.nullcontext() if backend_logs_wanted() else BackendLogFilter()
    with stop_signals_as_interrupts(STOP_SIGNALS), quiet:
        try:
            _run_command(args)
        except KerasforgeError as error:
            print(f"kerasforge: error: {error}", file=sys.stderr)
            if isinstance(error, ClusterError):
                # A dead peer leaves JAX's exit-time shutdown barrier waiting for it, then aborting
                # with pages of logs: this process has said what happened, so it leaves at once.
                sys.stderr.flush()
                sys.stdout.flush()
                os._exit(EXIT_USER_ERROR)
            return EXIT_USER_ERROR
        except KeyboardInterrupt as error:
            signum = getattr(error, "signum", signal.SIGINT)
            # A run that keeps its checkpoint says how to resume (RunFolder sets `when_stopped`).
            after = getattr(error, "when_stopped", None) or getattr(args, "when_stopped", "")
            name = signal.Signals(signum).name
            print(
                f"kerasforge: {args.command} interrupted ({name})" + (f"; {after}" if after else ""),
                file=sys.stderr,
            )
            return 128 + signum
    return 0


def _run_command(args: argparse.Namespace) -> None:
    try:
        args.handler(args)
    except Exception as error:
        raise_if_stopping(error)  # Ctrl-C or SIGTERM that came back as another error
        raise


if __name__ == "__main__":
    sys.exit(main())
