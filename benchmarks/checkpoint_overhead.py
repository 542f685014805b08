"""Cost of the per-epoch checkpoint of `kerasforge train`, against the same fit without one.

The same bundled recipe (early stopping off, so every run trains the same
number of epochs) is trained with a run folder, which writes a checkpoint
after every epoch (`train(..., run_dir=...)`), and without one
(`train(..., write=False)`), interleaved in a rotating order `--repeats`
times. What is compared is `TrainingRun.seconds`, the wall time of `fit`
alone: the checkpoints are written inside it, and the run folder's files
(plots, report) are written after it. Printed: the median and minimum fit
times, their ratio, the checkpoint cost per epoch, and the size of one
checkpoint file.

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/checkpoint_overhead.py --recipe digits_mlp --repeats 5
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="digits_mlp")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from _timing import interleaved

    from kerasforge.recipes import load_recipe, train
    from kerasforge.recipes.engine.checkpoint_files import checkpoint_file_name
    from kerasforge.recipes.engine.training_checkpoint import TrainingCheckpoint

    recipe = load_recipe(
        args.recipe, [f"training.epochs={args.epochs}", "callbacks.early_stopping.enabled=false"]
    )
    sizes = []  # of each checkpoint file, as written (published runs drop their checkpoints)
    save = TrainingCheckpoint.save

    def measured_save(self, epochs_done, kill_halfway=False):
        path = save(self, epochs_done, kill_halfway)
        sizes.append(path.stat().st_size)
        return path

    TrainingCheckpoint.save = measured_save
    with tempfile.TemporaryDirectory() as root:
        counter = iter(range(10**6))

        def with_checkpoint():
            return train(recipe, run_dir=Path(root) / f"run-{next(counter)}", verbose=0).seconds

        def without_checkpoint():
            return train(recipe, write=False, verbose=0).seconds

        without_checkpoint()  # warm-up: imports, the data read once
        results = interleaved({"checkpoint": with_checkpoint, "none": without_checkpoint}, args.repeats)
    if not sizes:
        raise RuntimeError("no checkpoint was written")
    print(
        f"{args.recipe}: {args.epochs} epochs, {args.repeats} interleaved repeats; "
        f"one checkpoint ({checkpoint_file_name(args.epochs)}) is {statistics.median(sizes) / 1e3:.0f} kB"
    )
    for pick in (statistics.median, min):
        ours, base = pick(results["checkpoint"]), pick(results["none"])
        per_epoch = (ours - base) / args.epochs * 1e3
        print(
            f"  {pick.__name__:6s} fit {ours:7.3f}s with checkpoints / {base:7.3f}s without "
            f"= {ours / base:.3f}x ({per_epoch:+.1f} ms per epoch)"
        )


if __name__ == "__main__":
    main()
