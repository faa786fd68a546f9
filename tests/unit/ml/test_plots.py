"""The figures draw what their tables hold: one point per bin, one bar per group or feature."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from ml.metrics import calibration_table, lift_table
from ml.plots import calibration_plot, importance_plot, lift_plot


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    p = rng.random(2_000) * 0.3
    return (rng.random(2_000) < p).astype(int), p


def test_calibration_plot_has_diagonal_and_one_point_per_bin(scores):
    figure = calibration_plot(calibration_table(*scores, bins=8))
    lines = figure.axes[0].get_lines()
    assert isinstance(figure, Figure)
    assert len(lines) == 2
    assert len(lines[1].get_xdata()) == 8
    plt.close(figure)


def test_lift_plot_has_one_bar_per_group(scores):
    table = lift_table(*scores, groups=10)
    figure = lift_plot(table)
    bars = figure.axes[0].patches
    assert len(bars) == 10
    np.testing.assert_allclose([bar.get_height() for bar in bars], table["lift"])
    plt.close(figure)


def test_importance_plot_shows_the_top_features_largest_first():
    importance = pd.Series(
        np.arange(30, dtype=float), index=[f"f{i}" for i in range(30)], name="roc_auc_drop"
    )
    figure = importance_plot(importance, top=5)
    bars = figure.axes[0].patches
    assert len(bars) == 5
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert labels[-1] == "f29"
    assert figure.axes[0].get_xlabel() == "roc_auc_drop"
    plt.close(figure)
