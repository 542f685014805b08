"""Cost of the per-epoch checkpoint of `kerasforge train`, against the same fit without one.

The same bundled recipe (early stopping off, so every run trains the same
number of epochs) is trained with a run folder, which writes a checkpoint
after every epoch (`train(..., run_dir=...)`), and without one
(`train(..., write=False)`), interleaved in a rotating order `--repeats`
times. What is compared is `TrainingRun.seconds`, the wall time of `fit`
alone: the checkpoints are written inside it, and the run folder's files
(plots, report) are written after it. Printed: the median and minimum fit
times, their ratio, the checkpoint cost per epoch, the time spent writing
each checkpoint (measured inside the fit, so far less disturbed by other
programs than the ratio), and the size of one checkpoint file.

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/checkpoint_overhead.py --recipe digits_mlp --repeats 7

`--without-fsync` adds a third contender whose checkpoints skip `fsync` (atomic
against a killed process, not against a power cut), to show what the flush to
disk costs.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="digits_mlp")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--without-fsync",
        action="store_true",
        help="also time checkpoints written without fsync (not durable across a power cut)",
    )
    args = parser.parse_args()

    from _timing import interleaved

    from kerasforge.recipes import load_recipe, train
    from kerasforge.recipes.engine.checkpoint_files import checkpoint_file_name
    from kerasforge.recipes.engine.training_checkpoint import TrainingCheckpoint

    recipe = load_recipe(
        args.recipe, [f"training.epochs={args.epochs}", "callbacks.early_stopping.enabled=false"]
    )
    # Of each checkpoint as written (published runs drop their checkpoints), per contender.
    sizes, seconds, contender = [], {"checkpoint": [], "no-fsync": []}, ["checkpoint"]
    real_fsync = os.fsync
    save = TrainingCheckpoint.save

    def measured_save(self, epochs_done, kill_halfway=False):
        started = time.perf_counter()
        path = save(self, epochs_done, kill_halfway)
        seconds[contender[0]].append(time.perf_counter() - started)
        sizes.append(path.stat().st_size)
        return path

    TrainingCheckpoint.save = measured_save
    with tempfile.TemporaryDirectory() as root:
        counter = iter(range(10**6))

        def with_checkpoint():
            return train(recipe, run_dir=Path(root) / f"run-{next(counter)}", verbose=0).seconds

        def without_checkpoint():
            return train(recipe, write=False, verbose=0).seconds

        def without_fsync():
            os.fsync, contender[0] = (lambda descriptor: None), "no-fsync"
            try:
                return with_checkpoint()
            finally:
                os.fsync, contender[0] = real_fsync, "checkpoint"

        runners = {"checkpoint": with_checkpoint, "none": without_checkpoint}
        if args.without_fsync:
            runners["no-fsync"] = without_fsync
        without_checkpoint()  # warm-up: imports, the data read once
        results = interleaved(runners, args.repeats)
    if not sizes:
        raise RuntimeError("no checkpoint was written")
    print(
        f"{args.recipe}: {args.epochs} epochs, {args.repeats} interleaved repeats; "
        f"one checkpoint ({checkpoint_file_name(args.epochs)}) is {statistics.median(sizes) / 1e3:.0f} kB"
    )
    for name, values in seconds.items():
        if values:
            print(
                f"  writing one checkpoint ({name}: read the variables, serialise, write, rename): "
                f"median {statistics.median(values) * 1e3:.1f} ms, min {min(values) * 1e3:.1f} ms"
            )
    for name in [name for name in results if name != "none"]:
        for pick in (statistics.median, min):
            ours, base = pick(results[name]), pick(results["none"])
            per_epoch = (ours - base) / args.epochs * 1e3
            print(
                f"  {pick.__name__:6s} fit {ours:7.3f}s {name} / {base:7.3f}s without checkpoints "
                f"= {ours / base:.3f}x ({per_epoch:+.1f} ms per epoch)"
            )


if __name__ == "__main__":
    main()
