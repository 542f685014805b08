"""Loss and metric curves of a Keras history, as PNG files."""

from pathlib import Path

from matplotlib.figure import Figure  # no pyplot: plotting must not change the user's backend

# Keys the callbacks add per layer; they get heatmaps in the report, not curves.
_PER_LAYER_PREFIXES = ("grad_norm", "weight_norm", "update_ratio", "dead_fraction", "saturated_fraction")


# Logged every epoch, but drawn by the report's own figures, not as a metric curve.
_NOT_CURVES = ("learning_rate", "train_seconds")


def curve_names(history: dict[str, list]) -> list[str]:
    """Returns the metric names that have a training curve (`loss`, `accuracy`, ...)."""
    names = []
    for key in history:
        if "/" in key or key.startswith("val_") or key.startswith(_PER_LAYER_PREFIXES):
            continue
        if key in _NOT_CURVES:
            continue
        names.append(key)
    return names


def plot_history(history: dict[str, list], out_dir: str | Path, title: str = "") -> list[Path]:
    """Writes one PNG per metric with its train and validation curves.

    Args:
        history: `History.history`: metric name -> one value per epoch.
        out_dir: Folder to write into; created if missing.
        title: Prefix for each figure title, e.g. the recipe name.

    Returns:
        The paths written, e.g. `[out_dir/loss.png, out_dir/accuracy.png]`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in curve_names(history):
        figure = Figure(figsize=(6, 4))
        axes = figure.subplots()
        epochs = range(1, len(history[name]) + 1)
        axes.plot(epochs, history[name], label=f"train {name}", marker=".")
        if f"val_{name}" in history:
            axes.plot(epochs, history[f"val_{name}"], label=f"val {name}", marker=".")
        axes.set_xlabel("epoch")
        axes.set_ylabel(name)
        if name == "loss" and min(history[name]) > 0:
            axes.set_yscale("log")
        axes.set_title(f"{title} {name}".strip())
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        path = out_dir / f"{name}.png"
        figure.savefig(path, dpi=100)
        written.append(path)
    return written
