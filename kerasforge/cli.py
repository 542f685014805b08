"""The `kerasforge` command line.

Only argparse and the standard library are imported at module level, so
`kerasforge --help` answers at once; TensorFlow is imported by the command
that needs it. A user mistake (`KerasforgeError`) prints one line on stderr
and exits with status 2.
"""

import argparse
import json
import os
import sys

from kerasforge import __version__
from kerasforge.errors import BackendMissingError, KerasforgeError

EXIT_USER_ERROR = 2


class _OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, like every other error."""

    def error(self, message):
        self.exit(EXIT_USER_ERROR, f"kerasforge: error: {message} (see `{self.prog} --help`)\n")


def _import_recipes():
    """Imports kerasforge.recipes, turning a missing Keras backend into one clear line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras  # noqa: F401
    except ModuleNotFoundError as error:
        raise BackendMissingError(
            f"no Keras backend is installed ({error.name} is missing); "
            "install one with: pip install 'kerasforge[cpu]' (or [gpu])"
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


def _add_recipe_arguments(parser):
    parser.add_argument("recipe", help="a recipe YAML path or a bundled recipe name (see `kerasforge list`)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe field, e.g. --set training.epochs=5 (value read as YAML; repeatable)",
    )


def _command_train(args):
    recipes = _import_recipes()
    recipe = recipes.load_recipe(args.recipe, args.overrides)
    recipes.train(recipe, run_dir=args.run_dir, verbose=2 if args.quiet else 1)


def _command_validate(args):
    from kerasforge.recipes.schema.loading import load_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    print(
        f"{args.recipe}: valid recipe {recipe.name!r} ({recipe.model.task}, "
        f"hidden {recipe.model.hidden_widths}, {recipe.training.epochs} epochs)"
    )


def _command_list(args):
    from kerasforge.recipes.schema.loading import bundled_recipes, read_yaml

    for name, path in bundled_recipes().items():
        print(f"{name:<28} {read_yaml(path).get('description', '')}")


def _command_schema(args):
    from kerasforge.recipes.schema.recipe import Recipe

    print(json.dumps(Recipe.model_json_schema(), indent=2))


def _command_tune(args):
    _import_recipes()
    from kerasforge.recipes import load_recipe
    from kerasforge.tuning import run_search

    recipe = load_recipe(args.recipe, args.overrides)
    run_search(
        recipe,
        tuner=args.tuner,
        max_trials=args.max_trials,
        objective=args.objective,
        run_dir=args.run_dir,
        overwrite=args.overwrite,
        workers=args.workers,
        role=args.role,
        oracle=args.oracle,
        verbose=1,
    )


def _command_compare(args):
    recipes = _import_recipes()
    recipe = recipes.load_recipe(args.recipe, args.overrides)
    recipes.compare(recipe, run_dir=args.run_dir, verbose=2 if args.quiet else 1, seeds=args.seeds)


def _command_report(args):
    recipes = _import_recipes()
    path = recipes.write_report(args.run_dir)
    print(f"report: {path}")


def _command_lr_find(args):
    recipes = _import_recipes()
    recipe = recipes.load_recipe(args.recipe, args.overrides)
    recipes.find_learning_rate(recipe, run_dir=args.run_dir, steps=args.steps, verbose=1)


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser of the `kerasforge` command."""
    parser = _OneLineParser(
        prog="kerasforge",
        description="Train, diagnose and tune Keras models from YAML recipes.",
    )
    parser.add_argument("--version", action="version", version=f"kerasforge {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    commands.required = True

    train = commands.add_parser("train", help="train a recipe and write a run folder")
    _add_recipe_arguments(train)
    train.add_argument("--run-dir", help="run folder to create (default: runs/NAME-TIMESTAMP)")
    train.add_argument("--quiet", action="store_true", help="one line per epoch instead of a progress bar")
    train.set_defaults(handler=_command_train)

    validate = commands.add_parser("validate", help="check a recipe without training")
    _add_recipe_arguments(validate)
    validate.set_defaults(handler=_command_validate)

    listing = commands.add_parser("list", help="list the bundled recipes")
    listing.set_defaults(handler=_command_list)

    schema = commands.add_parser("schema", help="print the JSON Schema of a recipe")
    schema.set_defaults(handler=_command_schema)

    tune = commands.add_parser("tune", help="KerasTuner search over the recipe's `search:` space")
    _add_recipe_arguments(tune)
    tune.add_argument("--tuner", choices=["random", "hyperband", "bayesian", "grid"], default="random")
    tune.add_argument(
        "--max-trials", type=_positive_int, default=None, help="total trials (default: the recipe's)"
    )
    tune.add_argument("--objective", default=None, help="metric to optimise (default: val_loss)")
    tune.add_argument("--run-dir", help="search folder; running again resumes it")
    tune.add_argument("--overwrite", action="store_true", help="start the search afresh")
    tune.add_argument("--workers", type=_positive_int, default=1, help="parallel workers on this machine")
    tune.add_argument("--role", choices=["chief", "worker"], default=None, help="join a multi-host search")
    tune.add_argument("--oracle", metavar="HOST:PORT", default=None, help="chief address for --role")
    tune.set_defaults(handler=_command_tune)

    compare = commands.add_parser("compare", help="train every variant of a recipe side by side")
    _add_recipe_arguments(compare)
    compare.add_argument("--run-dir", help="comparison folder to create")
    compare.add_argument("--quiet", action="store_true", help="one line per epoch")
    compare.add_argument(
        "--seeds", type=_positive_int, default=1, help="run every variant at N seeds and compare them paired"
    )
    compare.set_defaults(handler=_command_compare)

    report = commands.add_parser("report", help="write the HTML report and diagnosis of a run folder")
    report.add_argument("run_dir", help="a run folder written by train or compare")
    report.set_defaults(handler=_command_report)

    lr_find = commands.add_parser(
        "lr-find", help="learning-rate range test: loss against an exponential LR sweep"
    )
    _add_recipe_arguments(lr_find)
    lr_find.add_argument("--run-dir", help="folder for the plot and the suggestion")
    lr_find.add_argument("--steps", type=_positive_int, default=200, help="updates in the sweep")
    lr_find.set_defaults(handler=_command_lr_find)
    return parser


def main(argv=None) -> int:
    """Runs the command line and returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except KerasforgeError as error:
        print(f"kerasforge: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        # A partial train/compare folder is removed; a search folder stays, to resume.
        print(f"kerasforge: {args.command} interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
