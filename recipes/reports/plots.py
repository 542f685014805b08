"""Figures of training health: gradient heatmaps, learning rate, dead units, overlaid runs.

Each function returns a matplotlib `Figure` (or None when the run did not log
what it shows); `save_figure` writes one as PNG to a path or to bytes, so the
report can embed it and `compare` can write it to `plots/`.
"""

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # no pyplot: plotting must not change the user's backend


def save_figure(figure, path: str | Path | None = None) -> bytes | Path:
    """Writes `figure` as PNG to `path` (returned), or returns the PNG bytes; closes it."""
    target = io.BytesIO() if path is None else Path(path)
    figure.savefig(target, format="png", dpi=90)
    return target.getvalue() if path is None else target


def _layer_matrix(history: pd.DataFrame, prefix: str):
    columns = [key for key in history.columns if key.startswith(f"{prefix}/") and not key.endswith("/global")]
    if not columns:
        return None, []
    return history[columns].to_numpy(dtype=float).T, [key.split("/", 1)[1] for key in columns]


def _draw_heatmap(axes, history: pd.DataFrame, prefix: str, title: str):
    matrix, layers = _layer_matrix(history, prefix)
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
    axes.set_xlabel("epoch")
    axes.set_title(title, fontsize=9)
    return image


def plot_gradient_heatmap(history: pd.DataFrame, title: str = "", prefix: str = "grad_norm"):
    """Heatmap of log10 per-layer gradient norm (layers down, epochs across), or None."""
    matrix, layers = _layer_matrix(history, prefix)
    if matrix is None:
        return None
    figure = Figure(figsize=(7, 1.2 + 0.3 * len(layers)))
    axes = figure.subplots()
    image = _draw_heatmap(axes, history, prefix, f"{title} log10 {prefix} per layer".strip())
    figure.colorbar(image, ax=axes, label=f"log10 {prefix}")
    figure.tight_layout()
    return figure


def plot_heatmap_grid(histories: dict[str, pd.DataFrame], prefix: str = "grad_norm"):
    """One gradient-norm heatmap per run, side by side on a shared colour scale, or None."""
    usable = {name: frame for name, frame in histories.items() if _layer_matrix(frame, prefix)[0] is not None}
    if not usable:
        return None
    values = np.concatenate([_layer_matrix(frame, prefix)[0].ravel() for frame in usable.values()])
    values = values[np.isfinite(values) & (values > 0)]
    limits = (math.log10(values.min()), math.log10(values.max())) if len(values) else (None, None)
    rows = max(len(_layer_matrix(frame, prefix)[1]) for frame in usable.values())
    figure = Figure(figsize=(3.8 * len(usable), 1.6 + 0.3 * rows), layout="constrained")
    axes = figure.subplots(1, len(usable), squeeze=False)
    for axis, (name, frame) in zip(axes[0], usable.items(), strict=False):
        image = _draw_heatmap(axis, frame, prefix, name)
        image.set_clim(*limits)
    figure.colorbar(image, ax=list(axes[0]), label=f"log10 {prefix}")
    return figure


def plot_learning_rate(history: pd.DataFrame):
    """The learning rate by epoch, or None when it was not logged or never changed."""
    if "learning_rate" not in history or history["learning_rate"].nunique() < 2:
        return None
    figure = Figure(figsize=(6, 3))
    axes = figure.subplots()
    epochs = range(1, len(history) + 1)
    axes.plot(epochs, history["learning_rate"], marker=".")
    axes.set_xlabel("epoch")
    axes.set_ylabel("learning rate")
    axes.set_title("learning rate")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def plot_unit_fractions(history: pd.DataFrame):
    """Dead (and saturated) unit fractions per layer by epoch, or None when not logged."""
    columns = [key for key in history.columns if key.startswith(("dead_fraction/", "saturated_fraction/"))]
    if not columns:
        return None
    figure = Figure(figsize=(6, 3.5))
    axes = figure.subplots()
    epochs = range(1, len(history) + 1)
    for key in columns:
        axes.plot(
            epochs, history[key], marker=".", label=key, linestyle="-" if key.startswith("dead") else "--"
        )
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("epoch")
    axes.set_ylabel("fraction of units")
    axes.set_title("dead (solid) and saturated (dashed) units")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    return figure


def plot_overlaid(histories: dict[str, pd.DataFrame], key: str):
    """One curve per run for `key` (solid) and `val_<key>` (dashed), or None if no run has it."""
    if not any(key in frame for frame in histories.values()):
        return None
    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    for index, (name, frame) in enumerate(histories.items()):
        if key not in frame:
            continue
        colour = f"C{index % 10}"
        epochs = range(1, len(frame) + 1)
        axes.plot(epochs, frame[key], color=colour, marker=".", label=f"{name} train")
        if f"val_{key}" in frame:
            axes.plot(epochs, frame[f"val_{key}"], color=colour, linestyle="--", label=f"{name} val")
    values = pd.concat([frame[key] for frame in histories.values() if key in frame])
    values = values[np.isfinite(values)]
    if key.endswith("loss") and len(values) and values.min() > 0:
        axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel(key)
    axes.set_title(f"{key}: train (solid) and validation (dashed)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    return figure
