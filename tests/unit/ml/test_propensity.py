"""Propensity training on customers drawn from a known logistic truth with about 5 % positives."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from ml.propensity import (
    FeatureFrame,
    SeasonAdjusted,
    _choose_calibration,
    rfm_baseline,
    time_split,
    train_propensity,
)

LABEL = "purchased_30d"
COEFFICIENTS = {"web_visits": 1.0, "email_clicks": 0.6, "store_share": -0.5, "tenure": 0.3, "noise": 0.0}
FEATURES = [*COEFFICIENTS, "recency_days", "frequency_365d", "monetary_365d"]
CUTOFFS = pd.to_datetime(["2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01"])


def synthetic_customers(rows_per_cutoff: int, cutoffs=CUTOFFS, seed: int = 0) -> pd.DataFrame:
    """Purchases from a logistic truth with an interaction; email_clicks missing (and then neutral) for 15 %."""
    rng = np.random.default_rng(seed)
    frames = []
    for cutoff in cutoffs:
        n = rows_per_cutoff
        frame = pd.DataFrame({name: rng.normal(size=n) for name in COEFFICIENTS})
        frame["frequency_365d"] = rng.poisson(2.0, n).astype(float)
        frame["recency_days"] = rng.exponential(120, n).round()
        frame["monetary_365d"] = frame["frequency_365d"] * rng.gamma(4, 20, n)
        logit = -3.9 + 0.35 * np.log1p(frame["frequency_365d"]) - 0.003 * frame["recency_days"]
        for name, coefficient in COEFFICIENTS.items():
            logit += coefficient * frame[name]
        logit += 0.5 * frame["web_visits"] * frame["tenure"]
        unknown_clicks = rng.random(n) < 0.15
        logit -= np.where(unknown_clicks, COEFFICIENTS["email_clicks"] * frame["email_clicks"], 0.0)
        frame.loc[unknown_clicks, "email_clicks"] = np.nan
        frame["true_probability"] = expit(logit)
        frame[LABEL] = (rng.random(n) < frame["true_probability"]).astype(int)
        frame["cutoff_date"] = cutoff
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def split_frames(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    holdout_cutoff = frame["cutoff_date"].max()
    return frame[frame["cutoff_date"] < holdout_cutoff], frame[frame["cutoff_date"] == holdout_cutoff]


@pytest.fixture(scope="module")
def large_world():
    train, holdout = split_frames(synthetic_customers(30_000))
    return train, holdout, train_propensity(train, holdout, FEATURES, LABEL)


def test_positive_rate_is_imbalanced(large_world):
    train, _, _ = large_world
    assert 0.03 < train[LABEL].mean() < 0.08


def test_chosen_model_ranks_nearly_as_well_as_the_truth(large_world):
    _, holdout, result = large_world
    truth_auc = roc_auc_score(holdout[LABEL], holdout["true_probability"])
    chosen = result.holdout_metrics[result.name]
    assert chosen["roc_auc"] > truth_auc - 0.02
    assert chosen["roc_auc"] > result.holdout_metrics["rfm_baseline"]["roc_auc"] + 0.1
    assert set(result.holdout_metrics) == {"gradient_boosting", "logistic_regression", "rfm_baseline"}


def test_chosen_model_is_calibrated(large_world):
    _, _, result = large_world
    chosen = result.holdout_metrics[result.name]
    assert chosen["expected_calibration_error"] < 0.02
    table = result.calibration_table
    assert len(table) == 10
    assert table["n"].sum() == result.holdout_rows
    assert result.calibration_method in {"isotonic", "sigmoid"}
    assert result.lift_table["lift"].iloc[0] == pytest.approx(chosen["top_decile_lift"], rel=0.05)


def test_time_order_of_the_split(large_world):
    _, _, result = large_world
    assert result.fit_cutoffs == list(CUTOFFS[:2])
    assert result.calibration_cutoff == CUTOFFS[2]
    assert result.holdout_cutoffs == [CUTOFFS[3]]
    assert result.fit_rows == 60_000
    assert result.calibration_rows == 30_000


def test_importance_finds_the_strongest_feature(large_world):
    _, _, result = large_world
    importance = result.feature_importance
    assert importance.index[0] == "web_visits"
    assert abs(importance["noise"]) < 0.01
    assert set(importance.index) == set(FEATURES)


def test_estimator_scores_a_wider_frame_with_nullable_dtypes_after_pickling(large_world):
    _, holdout, result = large_world
    sample = holdout.head(500)
    wider = sample.assign(customer_key="KB1")
    wider["frequency_365d"] = wider["frequency_365d"].astype("Int64")
    wider["email_clicks"] = wider["email_clicks"].astype("Float64")
    restored = pickle.loads(pickle.dumps(result.estimator))
    expected = result.estimator.predict_proba(sample[FEATURES])[:, 1]
    np.testing.assert_allclose(restored.predict_proba(wider)[:, 1], expected)


def test_holdout_never_influences_training():
    train, holdout = split_frames(synthetic_customers(3_000, seed=1))
    scrambled = holdout.copy()
    rng = np.random.default_rng(7)
    scrambled[LABEL] = rng.permutation(scrambled[LABEL].to_numpy())
    scrambled["web_visits"] = rng.permutation(scrambled["web_visits"].to_numpy())
    first = train_propensity(train, holdout, FEATURES, LABEL, importance_repeats=1)
    second = train_propensity(train, scrambled, FEATURES, LABEL, importance_repeats=1)
    assert first.name == second.name
    assert first.calibration_method == second.calibration_method
    assert first.selection_metrics == second.selection_metrics
    probe = train[FEATURES].head(1_000)
    np.testing.assert_array_equal(first.estimator.predict_proba(probe), second.estimator.predict_proba(probe))
    # The holdout metrics do see the scrambled labels: the comparison above is not vacuous.
    assert second.holdout_metrics[second.name]["roc_auc"] < first.holdout_metrics[first.name]["roc_auc"] - 0.1


def test_training_rows_are_subsampled_by_stratum():
    train, holdout = split_frames(synthetic_customers(3_000, seed=2))
    split = time_split(train, holdout, FEATURES, LABEL, max_train_rows=1_500)
    fit = train[train["cutoff_date"] < CUTOFFS[2]]
    assert abs(len(split.fit) - 1_500) <= 2
    assert split.fit[LABEL].mean() == pytest.approx(fit[LABEL].mean(), abs=0.002)


def test_rfm_baseline_uses_only_rfm():
    train, holdout = split_frames(synthetic_customers(4_000, seed=3))
    result = rfm_baseline(train.drop(columns=["web_visits"]), holdout.drop(columns=["web_visits"]), LABEL)
    assert 0.5 < result.holdout_metrics["roc_auc"] < 0.8
    assert list(result.estimator.estimator.estimator.named_steps["features"].features) == [
        "recency_days",
        "frequency_365d",
        "monetary_365d",
    ]


def test_one_class_in_fitting_cutoffs_names_label_and_cutoffs():
    train, holdout = split_frames(synthetic_customers(1_000, seed=4))
    train.loc[train["cutoff_date"] < CUTOFFS[2], LABEL] = 0
    with pytest.raises(
        ValueError, match=r"purchased_30d: the fitting rows \(cutoff 2025-01-01, 2025-04-01\)"
    ):
        train_propensity(train, holdout, FEATURES, LABEL)


def test_one_class_in_calibration_cutoff_is_refused():
    train, holdout = split_frames(synthetic_customers(1_000, seed=5))
    train.loc[train["cutoff_date"] == CUTOFFS[2], LABEL] = 1
    with pytest.raises(ValueError, match=r"calibration rows \(cutoff 2025-07-01\) hold only purchased_30d=1"):
        train_propensity(train, holdout, FEATURES, LABEL)


def test_single_training_cutoff_and_overlapping_holdout_are_refused():
    frame = synthetic_customers(1_000, seed=6)
    with pytest.raises(ValueError, match="at least two cutoffs"):
        train_propensity(frame[frame["cutoff_date"] == CUTOFFS[0]], frame, FEATURES, LABEL)
    train = frame[frame["cutoff_date"] <= CUTOFFS[2]]
    with pytest.raises(ValueError, match="not after the latest training cutoff"):
        train_propensity(train, frame[frame["cutoff_date"] == CUTOFFS[2]], FEATURES, LABEL)


def test_missing_labels_are_left_out():
    train, holdout = split_frames(synthetic_customers(2_000, seed=8))
    train = train.astype({LABEL: "float64"})
    train.loc[train.index[:500], LABEL] = np.nan
    split = time_split(train, holdout, FEATURES, LABEL)
    assert len(split.fit) == 4_000 - 500


def test_a_feature_without_values_in_training_is_a_constant_for_the_model():
    # the season index has no value before a year of history, then one at the scoring cutoff
    train, holdout = split_frames(synthetic_customers(3_000, seed=2))
    train = train.assign(season_index_30d=np.nan)
    holdout = holdout.assign(season_index_30d=np.nan)
    features = [*FEATURES, "season_index_30d"]
    result = train_propensity(train, holdout, features, LABEL, importance_repeats=1)
    assert result.holdout_metrics[result.name]["roc_auc"] > 0.7
    scoring = holdout.head(500)
    unseen = result.estimator.predict_proba(scoring[features])[:, 1]
    valued = result.estimator.predict_proba(scoring.assign(season_index_30d=1.5)[features])[:, 1]
    np.testing.assert_array_equal(valued, unseen)


def seasonal_customers(seasons: list[float], rows_per_cutoff: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """`synthetic_customers` whose purchase intensity in each cutoff's window is multiplied by its season
    index: P = 1 - (1 - p) ** season."""
    cutoffs = pd.date_range("2025-01-01", periods=len(seasons), freq="MS")
    frame = synthetic_customers(rows_per_cutoff, cutoffs=cutoffs, seed=seed)
    rng = np.random.default_rng(seed + 1)
    frame["season_index_30d"] = frame["cutoff_date"].map(dict(zip(cutoffs, seasons, strict=True)))
    frame["true_probability"] = 1 - (1 - frame["true_probability"]) ** frame["season_index_30d"]
    frame[LABEL] = (rng.random(len(frame)) < frame["true_probability"]).astype(int)
    return frame


def test_the_season_index_carries_a_calibrated_model_into_a_busy_window():
    # calibrated on an ordinary month (1.0), predicting a December (1.6) it never saw
    train, holdout = split_frames(seasonal_customers([0.9, 1.1, 1.0, 1.6]))
    plain = train_propensity(train, holdout, FEATURES, LABEL, importance_repeats=1)
    seasonal = train_propensity(
        train, holdout, FEATURES, LABEL, importance_repeats=1, season_column="season_index_30d"
    )
    assert isinstance(seasonal.estimator, SeasonAdjusted) and seasonal.estimator.reference_season == 1.0
    actual = holdout[LABEL].mean()
    predicted = seasonal.estimator.predict_proba(holdout)[:, 1]
    assert abs(predicted.mean() - actual) < 0.1 * actual
    plain_predicted = plain.estimator.predict_proba(holdout)[:, 1]
    assert plain_predicted.mean() < 0.8 * actual  # the ordinary month's level
    assert seasonal.holdout_metrics[seasonal.name]["expected_calibration_error"] < (
        plain.holdout_metrics[plain.name]["expected_calibration_error"] / 2
    )
    # one factor for the whole window: the ranking is the plain model's
    assert seasonal.holdout_metrics[seasonal.name]["roc_auc"] == pytest.approx(
        plain.holdout_metrics[plain.name]["roc_auc"], abs=0.01
    )
    # the season is the offset only, never a feature as well
    with pytest.raises(ValueError, match="season column"):
        train_propensity(
            train, holdout, [*FEATURES, "season_index_30d"], LABEL, season_column="season_index_30d"
        )


def test_without_a_season_index_the_probability_stays():
    base = Pipeline([("features", FeatureFrame(["x"])), ("model", LogisticRegression())])
    base.fit(pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]}), [0, 0, 1, 1])
    frame = pd.DataFrame({"x": [0.5, 1.5, 2.5, 2.5], "season_index_30d": [2.0, np.nan, 0.0, 1.0]})
    p = base.predict_proba(frame[["x"]])[:, 1]
    adjusted = SeasonAdjusted(base, "season_index_30d", 1.0).fit(frame).predict_proba(frame)[:, 1]
    np.testing.assert_allclose(adjusted, [1 - (1 - p[0]) ** 2, p[1], p[2], p[3]])
    no_reference = SeasonAdjusted(base, "season_index_30d", np.nan).fit(frame).predict_proba(frame)[:, 1]
    np.testing.assert_allclose(no_reference, p)
    with pytest.raises(KeyError, match="season_index_30d"):
        SeasonAdjusted(base, "season_index_30d", 1.0).fit(frame).predict_proba(frame[["x"]])


def test_calibration_never_says_a_customer_cannot_buy():
    # a small calibration cutoff where 60 % of the customers buy once in a few hundred
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"score": rng.uniform(size=1_200)})
    y = (rng.random(len(x)) < np.where(x["score"] < 0.6, 0.003, 0.25)).astype(int)
    model = LogisticRegression().fit(x, y)
    isotonic = CalibratedClassifierCV(FrozenEstimator(model), method="isotonic").fit(x, y)
    assert (isotonic.predict_proba(x)[:, 1] == 0).mean() > 0.1
    method, metrics = _choose_calibration(model, x, y, random_state=0)
    # Brier would take isotonic regression; its zeros meet the other fold's buyers in the log loss
    assert metrics["brier_isotonic"] < metrics["brier_sigmoid"]
    assert metrics["log_loss_sigmoid"] < metrics["log_loss_isotonic"]
    assert method == "sigmoid"
    assert metrics["log_loss"] == metrics["log_loss_sigmoid"]
