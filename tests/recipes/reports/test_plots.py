"""Every figure: whole-number epoch ticks, one way of saving, no figure for what was not logged."""

import pandas as pd
import pytest
from matplotlib.figure import Figure

from kerasforge.recipes.reports.plots import (
    curve_names,
    label_epochs,
    plot_gradient_heatmap,
    plot_history,
    plot_learning_rate,
    plot_unit_fractions,
    save_figure,
)

SHORT_RUN = pd.DataFrame(
    {
        "loss": [1.0, 0.7, 0.5],
        "val_loss": [1.1, 0.8, 0.7],
        "learning_rate": [1e-3, 5e-4, 1e-4],
        "grad_norm/hidden_1": [0.1, 0.2, 0.3],
        "grad_norm/output": [0.5, 0.4, 0.3],
        "dead_fraction/hidden_1": [0.1, 0.2, 0.2],
    }
)


@pytest.mark.parametrize("plot", [plot_gradient_heatmap, plot_learning_rate, plot_unit_fractions])
def test_epoch_axes_have_whole_number_ticks_only(plot):
    figure = plot(SHORT_RUN)
    figure.canvas.draw()
    ticks = [tick for tick in figure.axes[0].get_xticks() if 1 <= tick <= 3]
    assert ticks and all(float(tick).is_integer() for tick in ticks), ticks


def test_label_epochs_names_the_axis():
    axes = Figure().subplots()
    axes.plot([1, 2, 3], [3, 2, 1])
    label_epochs(axes)
    assert axes.get_xlabel() == "epoch"
    assert all(float(tick).is_integer() for tick in axes.get_xticks())


def test_curves_are_metrics_not_per_layer_keys_or_the_learning_rate():
    assert curve_names(SHORT_RUN) == ["loss"]


def test_plot_history_writes_one_png_per_metric(tmp_path):
    paths = plot_history(SHORT_RUN.to_dict(orient="list"), tmp_path / "plots", title="short")
    assert paths == [tmp_path / "plots" / "loss.png"]
    assert paths[0].read_bytes().startswith(b"\x89PNG")


def test_save_figure_returns_png_bytes_or_writes_into_a_new_folder(tmp_path):
    figure = Figure(figsize=(2, 1))
    figure.subplots().plot([0, 1])
    data = save_figure(figure)
    assert data.startswith(b"\x89PNG")
    path = save_figure(figure, tmp_path / "new" / "line.png")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_nothing_logged_gives_no_figure():
    bare = pd.DataFrame({"loss": [1.0, 0.5]})
    assert plot_gradient_heatmap(bare) is None
    assert plot_learning_rate(bare) is None
    assert plot_unit_fractions(bare) is None
