"""Holdout metrics for binary propensities and spend regressions, as plain dicts and frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

# Probabilities are clipped this far from 0 and 1 so one confident miss gives a large, finite log loss.
LOG_LOSS_EPSILON = 1e-15


def _binary_arrays(y_true, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype="float64").ravel()
    prob = np.asarray(p, dtype="float64").ravel()
    if y.shape != prob.shape:
        raise ValueError(f"y_true has {y.size} values but p has {prob.size}")
    if y.size == 0:
        raise ValueError("no rows to evaluate")
    if np.isnan(y).any() or not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must hold only 0 and 1 (no missing labels)")
    if np.isnan(prob).any() or (prob < 0).any() or (prob > 1).any():
        raise ValueError("p must hold probabilities in [0, 1] (no missing values)")
    return y, prob


def top_fraction_positive_rate(y_true, p, fraction: float = 0.1) -> float:
    """Positive rate among the `fraction` of rows with the highest p.

    Rows tied with the cut-off score enter in proportion (the expected rate under a random tie-break),
    so a constant score gives exactly the base rate.
    """
    y, prob = _binary_arrays(y_true, p)
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    take = fraction * y.size
    order = np.argsort(-prob, kind="stable")
    cut_score = prob[order[int(np.ceil(take)) - 1]]
    above = prob > cut_score
    tied = prob == cut_score
    from_ties = take - above.sum()
    positives = y[above].sum() + y[tied].sum() * from_ties / tied.sum()
    return float(positives / take)


def calibration_table(y_true, p, bins: int = 10) -> pd.DataFrame:
    """Equal-count bins by p (ascending): rows, mean predicted probability and observed rate per bin."""
    y, prob = _binary_arrays(y_true, p)
    order = np.argsort(prob, kind="stable")
    rows = []
    for number, index in enumerate(np.array_split(order, min(bins, y.size)), start=1):
        rows.append(
            {
                "bin": number,
                "n": index.size,
                "p_min": prob[index].min(),
                "p_max": prob[index].max(),
                "mean_predicted": prob[index].mean(),
                "observed_rate": y[index].mean(),
            }
        )
    return pd.DataFrame(rows)


def expected_calibration_error(y_true, p, bins: int = 10) -> float:
    """Row-weighted mean of |mean predicted - observed rate| over equal-count bins."""
    table = calibration_table(y_true, p, bins)
    gap = (table["mean_predicted"] - table["observed_rate"]).abs()
    return float((gap * table["n"]).sum() / table["n"].sum())


def lift_table(y_true, p, groups: int = 10) -> pd.DataFrame:
    """Equal-count groups by p (group 1 = highest scores) with rate, lift and cumulative gain.

    Rows with equal scores at a group boundary are split by their original order; the tie-aware
    figure for the top decile is `top_decile_lift` in `binary_metrics`.
    """
    y, prob = _binary_arrays(y_true, p)
    base_rate = y.mean()
    order = np.argsort(-prob, kind="stable")
    rows = []
    for number, index in enumerate(np.array_split(order, min(groups, y.size)), start=1):
        rows.append(
            {
                "group": number,
                "n": index.size,
                "positives": y[index].sum(),
                "mean_predicted": prob[index].mean(),
                "positive_rate": y[index].mean(),
            }
        )
    table = pd.DataFrame(rows)
    table["lift"] = table["positive_rate"] / base_rate if base_rate > 0 else np.nan
    total_positives = table["positives"].sum()
    table["cumulative_share_of_positives"] = (
        table["positives"].cumsum() / total_positives if total_positives > 0 else np.nan
    )
    table["cumulative_lift"] = (
        table["positives"].cumsum() / table["n"].cumsum() / base_rate if base_rate > 0 else np.nan
    )
    return table


def binary_metrics(y_true, p, bins: int = 10) -> dict[str, float]:
    """AUC, PR-AUC, Brier, log loss, top-decile lift and calibration error of probabilities p.

    Ranking metrics are NaN when y_true holds one class only (they are undefined there).
    """
    y, prob = _binary_arrays(y_true, p)
    base_rate = float(y.mean())
    both_classes = 0 < base_rate < 1
    clipped = np.clip(prob, LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON)
    return {
        "roc_auc": float(roc_auc_score(y, prob)) if both_classes else np.nan,
        "pr_auc": float(average_precision_score(y, prob)) if both_classes else np.nan,
        "brier": float(np.mean((prob - y) ** 2)),
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        "top_decile_lift": top_fraction_positive_rate(y, prob, 0.1) / base_rate if base_rate > 0 else np.nan,
        "expected_calibration_error": expected_calibration_error(y, prob, bins),
        "base_rate": base_rate,
        "n": float(y.size),
    }


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """MAE, RMSE, Spearman rank correlation and total error share (sum predicted / sum actual - 1)."""
    actual = np.asarray(y_true, dtype="float64").ravel()
    predicted = np.asarray(y_pred, dtype="float64").ravel()
    if actual.shape != predicted.shape:
        raise ValueError(f"y_true has {actual.size} values but y_pred has {predicted.size}")
    if actual.size == 0:
        raise ValueError("no rows to evaluate")
    if np.isnan(actual).any() or np.isnan(predicted).any():
        raise ValueError("y_true and y_pred must not hold missing values")
    error = predicted - actual
    constant = np.ptp(actual) == 0 or np.ptp(predicted) == 0
    total_actual = actual.sum()
    return {
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "spearman": np.nan if constant else float(spearmanr(actual, predicted).statistic),
        "total_error_share": float(predicted.sum() / total_actual - 1) if total_actual != 0 else np.nan,
        "n": float(actual.size),
    }
