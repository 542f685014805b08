"""A search's chief or worker process: `python -m kerasforge.tuning.search_process SPEC.json`.

`SearchCluster` starts the chief and the workers of a search on this machine
with this entry point. The spec holds `run_search`'s own keyword arguments
(and the path of the resolved recipe), so a process gets exactly the search
its parent runs, and an argument renamed in `run_search` fails loudly here
instead of being dropped by a command line that no longer knows the flag.

A chief turns SIGINT and SIGTERM into `KeyboardInterrupt`, so it saves the
oracle before it ends. A worker keeps SIGTERM's default action: it has nothing
to clean up, since the trial it was running runs again when the search
resumes. Both end quietly when stopped: the process that started them says so.
"""

import json
import signal
import sys
from pathlib import Path

from kerasforge._stop_signals import STOP_SIGNALS, stop_signals_as_interrupts
from kerasforge.errors import KerasforgeError

EXIT_USER_ERROR = 2


def write_spec(path: Path, recipe_path: Path, **run_search_arguments) -> Path:
    """Writes the spec of a chief or worker process and returns its path.

    Args:
        path: Where to write the spec.
        recipe_path: The resolved recipe the process loads.
        **run_search_arguments: Keyword arguments of `run_search` (`role`,
            `oracle`, `tuner`, ...).
    """
    spec = {"recipe": str(recipe_path), **run_search_arguments}
    path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Runs the chief or worker described by the spec file in `argv[0]`; returns the exit status."""
    (spec_path,) = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    signals = STOP_SIGNALS if spec.get("role") == "chief" else ()
    with stop_signals_as_interrupts(signals):
        try:
            from kerasforge.recipes.schema.loading import load_recipe
            from kerasforge.tuning.run_search import run_search

            run_search(load_recipe(spec.pop("recipe")), **spec)
        except KerasforgeError as error:
            print(f"kerasforge: error: {error}", file=sys.stderr)
            return EXIT_USER_ERROR
        except KeyboardInterrupt as error:
            return 128 + getattr(error, "signum", signal.SIGINT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
