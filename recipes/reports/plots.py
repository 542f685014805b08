"""Every figure kerasforge draws: metric curves, gradient heatmaps, learning rate, dead units.

Each `plot_*` function returns a matplotlib `Figure` (or None when the run did
not log what it shows); `save_figure` is the one way figures are written, as PNG
to a path or to bytes, so the report can embed them and `compare`, `lr-find`
and `tune` can write them to `plots/`. Figures are built without pyplot, so
plotting never changes the user's matplotlib backend.
"""

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, MaxNLocator

from kerasforge.recipes.reports.seed_statistics import interval
from kerasforge.vocabulary import log_keys

# Dots per inch of every PNG: sharp on a laptop screen, small enough to embed in a report.
FIGURE_DPI = 100

# Logged every epoch, but drawn by their own figures, not as a metric curve.
_NOT_CURVES = (log_keys.LEARNING_RATE, log_keys.TRAIN_SECONDS)


def save_figure(figure: Figure, path: str | Path | None = None) -> bytes | Path:
    """Writes `figure` as PNG to `path` and returns the path, or returns the PNG bytes.

    Args:
        figure: A matplotlib `Figure`.
        path: Optional file to write; its folder is created. Without it the PNG
            bytes are returned.
    """
    if path is None:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
        return buffer.getvalue()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=FIGURE_DPI)
    return path


def label_epochs(axes) -> None:
    """Labels an x axis of epochs, with whole-number ticks only."""
    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))


def log_y(axes) -> None:
    """A log y axis with plain-text tick labels.

    Matplotlib's default log labels are mathtext (10^-1), and laying them out
    makes a figure about three times slower to save; a run draws several.
    """
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(LogFormatter())
    axes.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.4)))


def curve_names(history) -> list[str]:
    """Returns the metric names that have a training curve (`loss`, `accuracy`, ...)."""
    return [
        key for key in history if "/" not in key and not key.startswith("val_") and key not in _NOT_CURVES
    ]


def plot_history(history: dict[str, list], out_dir: str | Path, title: str = "") -> list[Path]:
    """Writes one PNG per metric with its train and validation curves.

    Args:
        history: `History.history`: metric name -> one value per epoch.
        out_dir: Folder to write into; created if missing.
        title: Prefix for each figure title, e.g. the recipe name.

    Returns:
        The paths written, e.g. `[out_dir/loss.png, out_dir/accuracy.png]`.
    """
    written = []
    for name in curve_names(history):
        figure = Figure(figsize=(6, 4))
        axes = figure.subplots()
        epochs = range(1, len(history[name]) + 1)
        axes.plot(epochs, history[name], label=f"train {name}", marker=".")
        if f"val_{name}" in history:
            axes.plot(epochs, history[f"val_{name}"], label=f"val {name}", marker=".")
        label_epochs(axes)
        axes.set_ylabel(name)
        if name == "loss" and min(history[name]) > 0:
            log_y(axes)
        axes.set_title(f"{title} {name}".strip())
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        written.append(save_figure(figure, Path(out_dir) / f"{name}.png"))
    return written


def _layer_matrix(history: pd.DataFrame, quantity: str):
    columns = log_keys.layer_keys(history.columns, quantity)
    if not columns:
        return None, []
    return history[list(columns.values())].to_numpy(dtype=float).T, list(columns)


def _draw_heatmap(axes, history: pd.DataFrame, quantity: str, title: str):
    matrix, layers = _layer_matrix(history, quantity)
    with np.errstate(divide="ignore", invalid="ignore"):
        logged = np.log10(np.where(matrix > 0, matrix, np.nan))
    image = axes.imshow(
        logged,
        aspect="auto",
        cmap="viridis",
        interpolation="nearest",
        extent=(0.5, matrix.shape[1] + 0.5, len(layers) - 0.5, -0.5),
    )
    axes.set_yticks(range(len(layers)), layers, fontsize=7)
    label_epochs(axes)
    axes.set_title(title, fontsize=9)
    return image


def plot_gradient_heatmap(history: pd.DataFrame, title: str = "", quantity: str = log_keys.GRAD_NORM):
    """Heatmap of log10 per-layer gradient norm (layers down, epochs across), or None."""
    matrix, layers = _layer_matrix(history, quantity)
    if matrix is None:
        return None
    figure = Figure(figsize=(7, 1.2 + 0.3 * len(layers)))
    axes = figure.subplots()
    image = _draw_heatmap(axes, history, quantity, f"{title} log10 {quantity} per layer".strip())
    figure.colorbar(image, ax=axes, label=f"log10 {quantity}")
    figure.tight_layout()
    return figure


def plot_heatmap_grid(histories: dict[str, pd.DataFrame], quantity: str = log_keys.GRAD_NORM):
    """One gradient-norm heatmap per run, side by side on a shared colour scale, or None."""
    usable = {
        name: frame for name, frame in histories.items() if _layer_matrix(frame, quantity)[0] is not None
    }
    if not usable:
        return None
    values = np.concatenate([_layer_matrix(frame, quantity)[0].ravel() for frame in usable.values()])
    values = values[np.isfinite(values) & (values > 0)]
    limits = (math.log10(values.min()), math.log10(values.max())) if len(values) else (None, None)
    rows = max(len(_layer_matrix(frame, quantity)[1]) for frame in usable.values())
    figure = Figure(figsize=(3.8 * len(usable), 1.6 + 0.3 * rows), layout="constrained")
    axes = figure.subplots(1, len(usable), squeeze=False)
    for axis, (name, frame) in zip(axes[0], usable.items(), strict=False):
        image = _draw_heatmap(axis, frame, quantity, name)
        image.set_clim(*limits)
    figure.colorbar(image, ax=list(axes[0]), label=f"log10 {quantity}")
    return figure


def plot_learning_rate(history: pd.DataFrame):
    """The learning rate by epoch, or None when it was not logged or never changed."""
    if log_keys.LEARNING_RATE not in history or history[log_keys.LEARNING_RATE].nunique() < 2:
        return None
    figure = Figure(figsize=(6, 3))
    axes = figure.subplots()
    epochs = range(1, len(history) + 1)
    axes.plot(epochs, history[log_keys.LEARNING_RATE], marker=".")
    label_epochs(axes)
    axes.set_ylabel("learning rate")
    axes.set_title("learning rate")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def plot_unit_fractions(history: pd.DataFrame):
    """Dead (and saturated) unit fractions per layer by epoch, or None when not logged."""
    columns = [
        key
        for quantity in (log_keys.DEAD_FRACTION, log_keys.SATURATED_FRACTION)
        for key in log_keys.layer_keys(history.columns, quantity).values()
    ]
    if not columns:
        return None
    figure = Figure(figsize=(6, 3.5))
    axes = figure.subplots()
    epochs = range(1, len(history) + 1)
    for key in columns:
        axes.plot(
            epochs,
            history[key],
            marker=".",
            label=key,
            linestyle="-" if key.startswith(log_keys.DEAD_FRACTION) else "--",
        )
    axes.set_ylim(-0.02, 1.02)
    label_epochs(axes)
    axes.set_ylabel("fraction of units")
    axes.set_title("dead (solid) and saturated (dashed) units")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    return figure


def _draw_mean_and_band(axes, frames: list[pd.DataFrame], key: str, colour: str, linestyle: str, label: str):
    """One run's curve, or over several seeds the mean curve and its 95% band at each epoch."""
    columns = pd.concat([frame[key].reset_index(drop=True) for frame in frames], axis=1)
    spreads = [interval(row) for row in columns.to_numpy(dtype=float)]
    epochs = np.arange(1, len(columns) + 1)
    means = np.array([spread.mean for spread in spreads])
    axes.plot(epochs, means, color=colour, linestyle=linestyle, marker=".", label=label)
    if len(frames) > 1:
        low, high = np.array([s.low for s in spreads]), np.array([s.high for s in spreads])
        axes.fill_between(epochs, low, high, color=colour, alpha=0.15, linewidth=0)


def plot_overlaid(histories: dict[str, pd.DataFrame | list[pd.DataFrame]], key: str):
    """One curve per run for `key` (solid) and `val_<key>` (dashed), or None if no run has it.

    A run given as a list of histories (one per seed) is drawn as its mean
    curve with a band: the 95% confidence interval of the mean at each epoch.
    """
    runs = {name: frames if isinstance(frames, list) else [frames] for name, frames in histories.items()}
    runs = {name: frames for name, frames in runs.items() if all(key in frame for frame in frames)}
    if not runs:
        return None
    seeds = max(len(frames) for frames in runs.values())
    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    for index, (name, frames) in enumerate(runs.items()):
        colour = f"C{index % 10}"
        _draw_mean_and_band(axes, frames, key, colour, "-", f"{name} train")
        if all(f"val_{key}" in frame for frame in frames):
            _draw_mean_and_band(axes, frames, f"val_{key}", colour, "--", f"{name} val")
    values = pd.concat([frame[key] for frames in runs.values() for frame in frames])
    values = values[np.isfinite(values)]
    if key.endswith("loss") and len(values) and values.min() > 0:
        log_y(axes)
    label_epochs(axes)
    axes.set_ylabel(key)
    title = f"{key}: train (solid) and validation (dashed)"
    if seeds > 1:
        title += f", mean of {seeds} seeds with 95% band"
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    return figure
