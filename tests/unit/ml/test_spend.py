"""Spend regression on a zero-heavy synthetic world where last year's spend is a noisy signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from ml.spend import train_spend_regressor

FEATURES = [
    "frequency_365d",
    "frequency_3y",
    "monetary_365d",
    "avg_order_value_365d",
    "recency_days",
    "web_visits",
    "noise",
]
CUTOFFS = pd.to_datetime(["2023-01-01", "2023-07-01", "2024-01-01", "2024-07-01"])


def synthetic_spend(rows_per_cutoff: int, seed: int = 0) -> pd.DataFrame:
    """Each customer has a hidden buying rate and basket size; past and next year are draws of them."""
    rng = np.random.default_rng(seed)
    frames = []
    for cutoff in CUTOFFS:
        n = rows_per_cutoff
        web_visits = rng.normal(size=n)
        rate = np.exp(rng.normal(-0.8, 1.0, n) + 0.8 * web_visits)
        basket = rng.gamma(5, 15, n)
        frequency = rng.poisson(rate)
        frame = pd.DataFrame(
            {
                "frequency_365d": frequency.astype(float),
                "monetary_365d": frequency * basket * rng.gamma(20, 1 / 20, n),
                "frequency_3y": (frequency + rng.poisson(2 * rate)).astype(float),
                "recency_days": np.where(frequency > 0, rng.uniform(0, 365 / (frequency + 1)), np.nan),
                "web_visits": web_visits,
                "noise": rng.normal(size=n),
                "cutoff_date": cutoff,
            }
        )
        frame["avg_order_value_365d"] = frame["monetary_365d"] / frame["frequency_365d"].where(frequency > 0)
        # Some customers buy after a quiet year: zero last year does not mean zero next year.
        reactivated = rng.random(n) < expit(-3 + web_visits)
        next_orders = rng.poisson(rate) + reactivated
        frame["future_spend_365d"] = next_orders * basket * rng.gamma(20, 1 / 20, n)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def world():
    frame = synthetic_spend(15_000)
    train, holdout = frame[frame["cutoff_date"] < CUTOFFS[3]], frame[frame["cutoff_date"] == CUTOFFS[3]]
    return train, holdout, train_spend_regressor(train, holdout, FEATURES)


def test_target_is_zero_heavy(world):
    train, _, _ = world
    assert (train["future_spend_365d"] == 0).mean() > 0.4


def test_model_beats_last_year_spend_in_error_and_ranking(world):
    _, _, result = world
    model, naive = result.holdout_metrics["gradient_boosting"], result.holdout_metrics["last_year_spend"]
    assert model["rmse"] < 0.95 * naive["rmse"]
    # No MAE comparison: MAE rewards predicting the median, and the median customer spends nothing.
    assert model["spearman"] > naive["spearman"] + 0.05
    assert abs(model["total_error_share"]) < 0.1


def test_loss_chosen_on_the_latest_training_cutoff(world):
    _, holdout, result = world
    assert set(result.selection_metrics) == {"poisson", "squared_error"}
    assert result.loss == min(
        result.selection_metrics, key=lambda loss: result.selection_metrics[loss]["rmse"]
    )
    assert result.selection_cutoff == CUTOFFS[2]
    assert result.holdout_cutoffs == [CUTOFFS[3]]
    assert result.train_rows == 45_000
    assert (result.estimator.predict(holdout) >= 0).all() or result.loss == "squared_error"


def test_holdout_never_influences_training():
    frame = synthetic_spend(3_000, seed=1)
    train, holdout = frame[frame["cutoff_date"] < CUTOFFS[3]], frame[frame["cutoff_date"] == CUTOFFS[3]]
    scrambled = holdout.assign(future_spend_365d=holdout["future_spend_365d"].to_numpy()[::-1])
    first = train_spend_regressor(train, holdout, FEATURES)
    second = train_spend_regressor(train, scrambled, FEATURES)
    np.testing.assert_array_equal(first.estimator.predict(train), second.estimator.predict(train))
    assert first.holdout_metrics != second.holdout_metrics


def test_negative_spend_is_fitted_as_zero():
    frame = synthetic_spend(2_000, seed=2)
    frame.loc[frame.index[:50], "future_spend_365d"] = -25.0
    train, holdout = frame[frame["cutoff_date"] < CUTOFFS[3]], frame[frame["cutoff_date"] == CUTOFFS[3]]
    result = train_spend_regressor(train, holdout, FEATURES)
    assert np.isfinite(result.holdout_metrics["gradient_boosting"]["rmse"])


def test_holdout_must_follow_training():
    frame = synthetic_spend(500, seed=3)
    with pytest.raises(ValueError, match="future_spend_365d: holdout cutoff 2023-07-01 is not after"):
        train_spend_regressor(frame, frame[frame["cutoff_date"] == CUTOFFS[1]], FEATURES)
