"""Calibration, lift and feature-importance figures for MLflow (Agg backend: no display needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: a scheduled run has no display

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure


def calibration_plot(table: pd.DataFrame, title: str = "Calibration on the holdout") -> Figure:
    """Observed rate against mean predicted probability per bin (`ml.metrics.calibration_table`)."""
    figure, axes = plt.subplots(figsize=(5, 5))
    upper = float(max(table["mean_predicted"].max(), table["observed_rate"].max(), 1e-9)) * 1.05
    axes.plot([0, upper], [0, upper], linestyle="--", color="grey", label="perfect calibration")
    axes.plot(table["mean_predicted"], table["observed_rate"], marker="o", label="model")
    axes.set(xlabel="mean predicted probability", ylabel="observed rate", title=title)
    axes.set_xlim(0, upper)
    axes.set_ylim(0, upper)
    axes.legend(loc="upper left")
    figure.tight_layout()
    return figure


def lift_plot(table: pd.DataFrame, title: str = "Lift by score decile") -> Figure:
    """Lift per group, highest scores first (`ml.metrics.lift_table`), against the line of no lift."""
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.bar(table["group"].astype(str), table["lift"], color="tab:blue", label="lift")
    axes.axhline(1.0, linestyle="--", color="grey", label="no lift")
    axes.set(xlabel="group (1 = highest scores)", ylabel="positive rate / base rate", title=title)
    axes.legend(loc="upper right")
    figure.tight_layout()
    return figure


def importance_plot(importance: pd.Series, top: int = 20, title: str = "Permutation importance") -> Figure:
    """Horizontal bars of the `top` largest importances, largest at the top."""
    shown = importance.sort_values(ascending=False).head(top).iloc[::-1]
    figure, axes = plt.subplots(figsize=(6, 0.3 * len(shown) + 1.2))
    axes.barh(shown.index.astype(str), shown.to_numpy(), color="tab:green")
    axes.set(xlabel=str(importance.name or "importance"), title=title)
    figure.tight_layout()
    return figure
