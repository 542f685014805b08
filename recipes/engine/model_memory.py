"""Will a recipe's model fit in memory? An estimate made before any layer is built.

TensorFlow allocates a layer's weights when it is built; a `hidden: [100000000]`
then ends in an out-of-memory traceback, or on a machine without limits in
swapping. `check_model_memory` refuses such a model first, with the numbers.
Imports no TensorFlow, so `kerasforge validate` can run it.
"""

import os
import resource
from dataclasses import dataclass
from pathlib import Path

from kerasforge.errors import RecipeError
from kerasforge.recipes.schema.model import ModelSection
from kerasforge.recipes.schema.recipe import Recipe
from kerasforge.recipes.schema.training import OPTIMIZER_FACTS, TrainingSection

BYTES_PER_VALUE = 4  # float32 weights, gradients, slots and activations
# `optimizer_args` that add one slot per weight when set: sgd and rmsprop
# momentum, adam's amsgrad, rmsprop's centered, an EMA copy, gradient accumulation.
EXTRA_SLOT_ARGUMENTS = ("momentum", "amsgrad", "centered", "use_ema", "gradient_accumulation_steps")


def optimizer_slots(training: TrainingSection) -> int:
    """Slot variables per trained weight for the recipe's optimizer and its `optimizer_args`."""
    extra = sum(1 for key in EXTRA_SLOT_ARGUMENTS if training.optimizer_args.get(key))
    return OPTIMIZER_FACTS[training.optimizer].slots + extra


def count_weights(model: ModelSection, input_dim: int, output_units: int) -> tuple[int, int]:
    """Returns `(all weights, trained weights)` of the network `build_network` makes.

    Counts Dense kernels and biases, BatchNormalization's four vectors (two
    trained), residual projections and the output layer; frozen layers
    (`model.freeze`) train nothing.
    """
    total = trained = 0
    width_in = input_dim
    for index, width in enumerate(model.hidden_widths, start=1):
        layer = width_in * width + (0 if model.batch_norm else width)
        layer_trained = layer
        if model.batch_norm:
            layer += 4 * width
            layer_trained += 2 * width
        if model.residual and width_in != width:
            layer += width_in * width
            layer_trained += width_in * width
        total += layer
        trained += 0 if index <= model.freeze else layer_trained
        width_in = width
    head = width_in * output_units + output_units
    return total + head, trained + head


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a recipe's training needs, by part.

    Attributes:
        weights: Integer. Number of weights.
        slots: Integer. Optimizer slot variables per trained weight.
        weight_bytes, gradient_bytes, slot_bytes: The weights, one gradient
            per trained weight, and the optimizer's slots.
        activation_bytes: Activations of one batch and their gradients.
        data_bytes: The training and validation inputs as copied into the
            input pipeline.
    """

    weights: int
    slots: int
    weight_bytes: int
    gradient_bytes: int
    slot_bytes: int
    activation_bytes: int
    data_bytes: int

    @property
    def total_bytes(self) -> int:
        """Everything above, summed."""
        parts = (self.weight_bytes, self.gradient_bytes, self.slot_bytes, self.activation_bytes)
        return sum(parts) + self.data_bytes


def estimate_memory(recipe: Recipe, input_dim: int, output_units: int, rows: int = 0) -> MemoryEstimate:
    """Estimates the memory training a recipe takes, without building anything.

    A lower bound: TensorFlow's own buffers come on top.

    Args:
        recipe: A validated recipe.
        input_dim: Integer. Input features after encoding.
        output_units: Integer. Units of the output layer.
        rows: Integer. Training plus validation rows fed through the pipeline.

    Returns:
        A `MemoryEstimate`.
    """
    weights, trained = count_weights(recipe.model, input_dim, output_units)
    slots = optimizer_slots(recipe.training)
    widths = sum(recipe.model.hidden_widths)
    # Per row: the inputs, each hidden layer's pre-activation and output, the
    # outputs; each kept for the backward pass, which makes as many gradients.
    per_row = input_dim + 2 * widths + output_units
    return MemoryEstimate(
        weights=weights,
        slots=slots,
        weight_bytes=weights * BYTES_PER_VALUE,
        gradient_bytes=trained * BYTES_PER_VALUE,
        slot_bytes=trained * slots * BYTES_PER_VALUE,
        activation_bytes=2 * recipe.training.batch_size * per_row * BYTES_PER_VALUE,
        data_bytes=rows * input_dim * BYTES_PER_VALUE,
    )


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _meminfo_available() -> int | None:
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def available_memory() -> tuple[int, str] | None:
    """The memory this process may still allocate, and where that figure comes from.

    The smallest of: `MemAvailable` in /proc/meminfo (or free physical pages
    where there is none), the cgroup's limit minus its usage (v2 or v1, as set
    by Docker, Kubernetes or Slurm), and the address-space limit (`ulimit -v`)
    minus this process's size.

    Returns:
        `(bytes, source)`, or None when no figure can be read.
    """
    found = []
    meminfo = _meminfo_available()
    if meminfo is not None:
        found.append((meminfo, "MemAvailable in /proc/meminfo"))
    else:
        try:
            pages = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            found.append((pages, "free physical memory"))
        except (ValueError, OSError, AttributeError):
            pass
    cgroups = (
        (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory.current")),
        (
            Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
            Path("/sys/fs/cgroup/memory/memory.usage_in_bytes"),
        ),
    )
    for limit_path, usage_path in cgroups:
        limit, usage = _read_int(limit_path), _read_int(usage_path)
        # cgroup v1 writes a huge number for "no limit".
        if limit is not None and usage is not None and limit < 2**60:
            found.append((max(0, limit - usage), f"the cgroup limit in {limit_path}"))
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        try:
            size = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            size = 0
        found.append((max(0, soft - size), "the address-space limit (ulimit -v)"))
    return min(found) if found else None


def format_bytes(count: int) -> str:
    """`171.2 GB`, `390.9 kB`: a byte count in decimal units."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def check_model_memory(recipe: Recipe, input_dim: int, output_units: int, rows: int = 0) -> MemoryEstimate:
    """Refuses a model whose training would not fit in the memory available.

    Args:
        recipe: A validated recipe.
        input_dim: Integer. Input features after encoding.
        output_units: Integer. Units of the output layer.
        rows: Integer. Training plus validation rows.

    Returns:
        The `MemoryEstimate`, when it fits (or when no memory figure can be read).

    Raises:
        RecipeError: giving the estimate, its parts and the memory available.

    Example:

    ```python
    data = prepare_data(recipe)
    check_model_memory(recipe, data.input_dim, data.output_units, len(data.x_train))
    ```
    """
    estimate = estimate_memory(recipe, input_dim, output_units, rows)
    available = available_memory()
    if available is None or estimate.total_bytes <= available[0]:
        return estimate
    free, source = available
    optimizer = recipe.training.optimizer
    raise RecipeError(
        f"the model is too big for this machine: `model.hidden` {recipe.model.hidden_widths} on "
        f"{input_dim} inputs is {estimate.weights:,} weights, and training needs at least "
        f"{format_bytes(estimate.total_bytes)} (weights {format_bytes(estimate.weight_bytes)} + gradients "
        f"{format_bytes(estimate.gradient_bytes)} + {optimizer} slots {format_bytes(estimate.slot_bytes)} "
        f"({estimate.slots} per weight) + activations at batch {recipe.training.batch_size} "
        f"{format_bytes(estimate.activation_bytes)} + data {format_bytes(estimate.data_bytes)}), but only "
        f"{format_bytes(free)} is available ({source}). Use fewer or narrower hidden layers"
    )
