"""Gradient-boosted regressor of future spend, trained in time order like the propensity models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline

from ml.metrics import regression_metrics
from ml.propensity import FeatureFrame, split_by_cutoff

SPEND_LABEL = "future_spend_365d"
# Poisson loss predicts a mean through a log link: never negative and suited to a target that is zero for
# most customers with a long tail; squared error is the plain alternative. The latest cutoff chooses.
LOSSES = ("poisson", "squared_error")
# Last year's spend, the naive baseline a spend model must beat.
LAST_YEAR_SPEND = "monetary_365d"


@dataclass
class SpendResult:
    label: str
    features: list[str]
    loss: str
    estimator: Pipeline
    selection_metrics: dict[str, dict[str, float]]
    holdout_metrics: dict[str, dict[str, float]]
    fit_cutoffs: list[Any]
    selection_cutoff: Any
    holdout_cutoffs: list[Any]
    train_rows: int
    holdout_rows: int


def spend_regressor(features: Sequence[str], loss: str, random_state: int = 0) -> Pipeline:
    model = HistGradientBoostingRegressor(
        loss=loss,
        learning_rate=0.1,
        max_iter=300,
        max_leaf_nodes=31,
        min_samples_leaf=100,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        random_state=random_state,
    )
    return Pipeline([("features", FeatureFrame(list(features))), ("model", model)])


def _sample(frame: pd.DataFrame, max_rows: int, random_state: int) -> pd.DataFrame:
    return frame.sample(n=max_rows, random_state=random_state) if len(frame) > max_rows else frame


def _target(frame: pd.DataFrame, label: str) -> np.ndarray:
    # Refunds can make a year's spend negative; the Poisson loss needs y >= 0 and a spend forecast
    # below zero is not useful, so the fit sees zero there (the metrics still see the real value).
    return np.clip(frame[label].astype("float64").to_numpy(), 0.0, None)


def train_spend_regressor(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    features: Sequence[str],
    label: str = SPEND_LABEL,
    *,
    random_state: int = 0,
    max_train_rows: int = 300_000,
) -> SpendResult:
    """Chooses the loss by RMSE on the latest training cutoff (models fitted on the earlier ones), then
    refits that loss on all training cutoffs and reports on the holdout, with last year's spend as
    baseline when the frame has it. RMSE, not MAE: MAE rewards predicting the median, zero here.
    """
    features = list(features)
    extra = [LAST_YEAR_SPEND] if LAST_YEAR_SPEND in holdout.columns else []
    split = split_by_cutoff(train, holdout, [*features, *extra], label)
    if split.fit.empty or split.calibration.empty:
        raise ValueError(f"{label}: no labelled training rows in some cutoff")
    fit = _sample(split.fit, max_train_rows, random_state)
    selection = {}
    for loss in LOSSES:
        model = spend_regressor(features, loss, random_state).fit(fit[features], _target(fit, label))
        predicted = model.predict(split.calibration[features])
        selection[loss] = regression_metrics(split.calibration[label], predicted)
    loss = min(LOSSES, key=lambda name: selection[name]["rmse"])

    all_training = _sample(pd.concat([split.fit, split.calibration]), max_train_rows, random_state)
    estimator = spend_regressor(features, loss, random_state)
    estimator.fit(all_training[features], _target(all_training, label))
    actual = split.holdout[label].astype("float64")
    holdout_metrics = {
        "gradient_boosting": regression_metrics(actual, estimator.predict(split.holdout[features]))
    }
    if extra:
        last_year = split.holdout[LAST_YEAR_SPEND].astype("float64").fillna(0.0)
        holdout_metrics["last_year_spend"] = regression_metrics(actual, last_year)
    return SpendResult(
        label=label,
        features=features,
        loss=loss,
        estimator=estimator,
        selection_metrics=selection,
        holdout_metrics=holdout_metrics,
        fit_cutoffs=[*split.fit_cutoffs, split.calibration_cutoff],
        selection_cutoff=split.calibration_cutoff,
        holdout_cutoffs=split.holdout_cutoffs,
        train_rows=len(all_training),
        holdout_rows=len(split.holdout),
    )
