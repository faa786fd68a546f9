"""Calibrated propensity models trained in time order: gradient boosting against logistic regression.

The training frame holds several cutoffs (column `cutoff_date`). Candidates are fitted on all but the
latest training cutoff, calibrated and compared on the latest one (out of time, never a random split
across cutoffs), and only then scored on the holdout, which never influences a choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ml.metrics import binary_metrics, calibration_table, lift_table

CUTOFF_COLUMN = "cutoff_date"
RFM_FEATURES = ("recency_days", "frequency_365d", "monetary_365d")
CALIBRATION_METHODS = ("isotonic", "sigmoid")
PERMUTATION_SAMPLE_ROWS = 10_000


class FeatureFrame(TransformerMixin, BaseEstimator):
    """Selects the model's feature columns from a wider frame as float64 (pandas NA becomes NaN).

    First step of every pipeline, so a fitted model scores any frame that holds its features
    (extra columns such as customer_key are ignored) and nullable dtypes from DuckDB just work.
    """

    def __init__(self, features: Sequence[str] = ()):
        self.features = features

    def fit(self, X: pd.DataFrame, y: Any = None) -> FeatureFrame:
        self._check_columns(X)
        self.columns_ = list(self.features)
        # A feature without a single value in the training rows (the season index before a year of
        # history, satisfaction where nobody called) cannot be binned or scaled; the model never saw
        # it vary, so it is a constant for the model, also when later rows have values.
        self.never_seen_ = [column for column in self.columns_ if X[column].isna().all()]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._check_columns(X)
        frame = X.loc[:, list(self.features)].astype("float64")
        never_seen = getattr(self, "never_seen_", [])  # models logged before this attribute existed
        if never_seen:
            frame[never_seen] = 0.0
        return frame

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(list(self.features), dtype=object)

    def _check_columns(self, X: pd.DataFrame) -> None:
        if not isinstance(X, pd.DataFrame):
            raise TypeError("the model expects a pandas DataFrame with named feature columns")
        missing = [column for column in self.features if column not in X.columns]
        if missing:
            raise KeyError(f"feature columns missing from the frame: {missing}")


def gradient_boosting_candidate(features: Sequence[str], random_state: int = 0) -> Pipeline:
    """Histogram gradient boosting; NaN handled natively.

    class_weight="balanced" makes the rare positives weigh as much as the negatives, so early trees
    split on what separates buyers instead of predicting "no" everywhere. It inflates the raw scores;
    the calibration on the next cutoff maps them back to real probabilities.
    """
    model = HistGradientBoostingClassifier(
        learning_rate=0.1,
        max_iter=300,
        max_leaf_nodes=31,
        min_samples_leaf=100,
        l2_regularization=1.0,
        class_weight="balanced",
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        random_state=random_state,
    )
    return Pipeline([("features", FeatureFrame(list(features))), ("model", model)])


def logistic_regression_candidate(
    features: Sequence[str], random_state: int = 0, class_weight: str | None = "balanced"
) -> Pipeline:
    """Median imputation with missing-value indicators, standardization, logistic regression."""
    return Pipeline(
        [
            ("features", FeatureFrame(list(features))),
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("scale", StandardScaler()),
            (
                "model",
                LogisticRegression(
                    C=1.0, class_weight=class_weight, max_iter=2000, random_state=random_state
                ),
            ),
        ]
    )


class SeasonAdjusted(ClassifierMixin, BaseEstimator):
    """A fitted, calibrated classifier whose purchase intensity follows the season of the window it
    predicts (docs/ml.md#season).

    Calibrated on one cutoff, a model's level is that cutoff's window's. Trees learn little about a busy
    window from the one or two busy seasons among the training cutoffs (a December predicted as a
    November). The business's own orders a year earlier say how much busier the window is: the season
    index `season_column` (ml.int_ml__cutoffs) against `reference_season`, the calibration cutoff's.
    With a purchase intensity λ, P = 1 - exp(-λ); the window's intensity is λ x season / reference, so
    P = 1 - (1 - p) ** (season / reference). Without both indexes (under a year of history) p stays.
    """

    def __init__(self, estimator: Any = None, season_column: str = "", reference_season: float = np.nan):
        self.estimator = estimator
        self.season_column = season_column
        self.reference_season = reference_season

    def fit(self, X: pd.DataFrame, y: Any = None) -> SeasonAdjusted:
        """The wrapped estimator is fitted already: nothing to learn here."""
        self.classes_ = self.estimator.classes_
        return self

    def season_factor(self, X: pd.DataFrame) -> np.ndarray:
        if self.season_column not in X.columns:
            raise KeyError(f"the season column {self.season_column} is missing from the frame")
        season = X[self.season_column].astype("float64").to_numpy()
        reference = float(self.reference_season)
        known = np.isfinite(season) & (season > 0) & np.isfinite(reference) & (reference > 0)
        return np.where(known, season / (reference if reference > 0 else 1.0), 1.0)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.estimator.predict_proba(X)[:, 1]
        adjusted = 1.0 - (1.0 - p) ** self.season_factor(X)
        return np.column_stack([1.0 - adjusted, adjusted])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


CANDIDATES: dict[str, Callable[[Sequence[str], int], Pipeline]] = {
    "gradient_boosting": gradient_boosting_candidate,
    "logistic_regression": logistic_regression_candidate,
}


@dataclass
class TimeSplit:
    """Rows to fit on (earlier cutoffs), to calibrate and choose on (latest training cutoff), to report on."""

    label: str
    fit: pd.DataFrame
    calibration: pd.DataFrame
    holdout: pd.DataFrame
    fit_cutoffs: list[Any]
    calibration_cutoff: Any
    holdout_cutoffs: list[Any]


@dataclass
class CalibratedCandidate:
    name: str
    estimator: CalibratedClassifierCV | SeasonAdjusted
    calibration_method: str
    selection_metrics: dict[str, float]
    holdout_metrics: dict[str, float]
    holdout_probability: np.ndarray


@dataclass
class PropensityResult:
    """The chosen calibrated model and everything needed to judge it."""

    label: str
    features: list[str]
    name: str
    estimator: CalibratedClassifierCV | SeasonAdjusted
    calibration_method: str
    selection_metrics: dict[str, dict[str, float]]
    holdout_metrics: dict[str, dict[str, float]]
    feature_importance: pd.Series
    calibration_table: pd.DataFrame
    lift_table: pd.DataFrame
    fit_cutoffs: list[Any]
    calibration_cutoff: Any
    holdout_cutoffs: list[Any]
    fit_rows: int
    calibration_rows: int
    holdout_rows: int


@dataclass
class BaselineResult:
    name: str
    estimator: CalibratedClassifierCV
    holdout_metrics: dict[str, float]


def stratified_sample(frame: pd.DataFrame, label: str, max_rows: int, random_state: int = 0) -> pd.DataFrame:
    """At most max_rows rows, the same fraction drawn from each label value."""
    if len(frame) <= max_rows:
        return frame
    fraction = max_rows / len(frame)
    return frame.groupby(label, group_keys=False).sample(frac=fraction, random_state=random_state)


def _labels(frame: pd.DataFrame, label: str) -> np.ndarray:
    return frame[label].astype("float64").to_numpy().astype("int64")


def _describe_cutoffs(cutoffs: Sequence[Any]) -> str:
    return ", ".join(
        str(pd.Timestamp(cutoff).date()) if isinstance(cutoff, date | np.datetime64) else str(cutoff)
        for cutoff in cutoffs
    )


def _require_both_classes(frame: pd.DataFrame, label: str, role: str, cutoffs: Sequence[Any]) -> None:
    classes = set(np.unique(_labels(frame, label)))
    if classes != {0, 1}:
        found = "no rows" if not classes else f"only {label}={sorted(classes)[0]}"
        raise ValueError(
            f"{label}: the {role} rows (cutoff {_describe_cutoffs(cutoffs)}) hold {found}; "
            "a propensity model needs both outcomes"
        )


def split_by_cutoff(
    train: pd.DataFrame, holdout: pd.DataFrame, columns: Sequence[str], label: str
) -> TimeSplit:
    """Training rows of the latest cutoff apart from the earlier ones, after checking the time order.

    Only `columns`, the label and the cutoff are kept; rows with a missing label are left out.
    """
    needed = list(dict.fromkeys([*columns, label, CUTOFF_COLUMN]))
    for name, frame in (("train", train), ("holdout", holdout)):
        missing = [column for column in needed if column not in frame.columns]
        if missing:
            raise KeyError(f"{label}: the {name} frame lacks columns {missing}")
    train = train.loc[train[label].notna(), needed]
    holdout = holdout.loc[holdout[label].notna(), needed]
    cutoffs = sorted(train[CUTOFF_COLUMN].unique())
    if len(cutoffs) < 2:
        raise ValueError(
            f"{label}: training needs at least two cutoffs (fit on the earlier ones, calibrate and choose "
            f"on the latest); got {_describe_cutoffs(cutoffs) or 'none'}"
        )
    holdout_cutoffs = sorted(holdout[CUTOFF_COLUMN].unique())
    if not holdout_cutoffs:
        raise ValueError(f"{label}: the holdout frame has no labelled rows")
    if holdout_cutoffs[0] <= cutoffs[-1]:
        raise ValueError(
            f"{label}: holdout cutoff {_describe_cutoffs(holdout_cutoffs[:1])} is not after the latest "
            f"training cutoff {_describe_cutoffs(cutoffs[-1:])}; evaluation must be out of time"
        )
    latest = cutoffs[-1]
    return TimeSplit(
        label=label,
        fit=train[train[CUTOFF_COLUMN] < latest],
        calibration=train[train[CUTOFF_COLUMN] == latest],
        holdout=holdout,
        fit_cutoffs=list(cutoffs[:-1]),
        calibration_cutoff=latest,
        holdout_cutoffs=list(holdout_cutoffs),
    )


def time_split(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: Sequence[str],
    label: str,
    *,
    max_train_rows: int = 300_000,
    max_calibration_rows: int = 200_000,
    random_state: int = 0,
) -> TimeSplit:
    """`split_by_cutoff` for a binary label: both outcomes required everywhere, stratified subsamples."""
    split = split_by_cutoff(train, holdout, columns, label)
    _require_both_classes(split.fit, label, "fitting", split.fit_cutoffs)
    _require_both_classes(split.calibration, label, "calibration", [split.calibration_cutoff])
    _require_both_classes(split.holdout, label, "holdout", split.holdout_cutoffs)
    split.fit = stratified_sample(split.fit, label, max_train_rows, random_state)
    split.calibration = stratified_sample(split.calibration, label, max_calibration_rows, random_state)
    return split


def _choose_calibration(
    model: Pipeline, X: pd.DataFrame, y: np.ndarray, random_state: int
) -> tuple[str, dict[str, float]]:
    """Method with the lowest out-of-fold log loss on the calibration cutoff (2-fold cross-fitting).

    Scoring a calibrator on the rows it was fitted on would always favour isotonic regression, which
    can follow noise; the out-of-fold predictions judge both methods on rows they did not see. Log loss
    rather than Brier: on a small calibration cutoff isotonic regression gives whole blocks of customers
    a probability of exactly 0 (no buyer among them there), which Brier barely notices and log loss
    punishes as soon as one of them buys in the other fold.
    """
    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=random_state)
    out_of_fold = {}
    for method in CALIBRATION_METHODS:
        probability = np.empty(len(y))
        for fit_index, eval_index in folds.split(X, y):
            calibrator = CalibratedClassifierCV(FrozenEstimator(model), method=method)
            calibrator.fit(X.iloc[fit_index], y[fit_index])
            probability[eval_index] = calibrator.predict_proba(X.iloc[eval_index])[:, 1]
        out_of_fold[method] = probability
    scores = {method: binary_metrics(y, p) for method, p in out_of_fold.items()}
    method = min(scores, key=lambda name: scores[name]["log_loss"])
    metrics = dict(scores[method])
    for name, score in scores.items():
        metrics.update({f"brier_{name}": score["brier"], f"log_loss_{name}": score["log_loss"]})
    return method, metrics


def fit_calibrated(
    name: str,
    model: Pipeline,
    split: TimeSplit,
    features: Sequence[str],
    random_state: int = 0,
    season_column: str | None = None,
) -> CalibratedCandidate:
    """Fits on the earlier cutoffs, calibrates on the latest training cutoff, scores the holdout; with a
    season column, the calibrated model is `SeasonAdjusted` to each window's season."""
    label = split.label
    model.fit(split.fit[list(features)], _labels(split.fit, label))
    X_calibration, y_calibration = split.calibration[list(features)], _labels(split.calibration, label)
    method, selection = _choose_calibration(model, X_calibration, y_calibration, random_state)
    estimator = CalibratedClassifierCV(FrozenEstimator(model), method=method)
    estimator.fit(X_calibration, y_calibration)
    if season_column:
        reference = split.calibration[season_column].astype("float64")
        estimator = SeasonAdjusted(
            estimator, season_column, float(reference.iloc[0]) if len(reference) else np.nan
        )
        estimator.fit(X_calibration)
    columns = [*features, season_column] if season_column else list(features)
    probability = estimator.predict_proba(split.holdout[columns])[:, 1]
    return CalibratedCandidate(
        name=name,
        estimator=estimator,
        calibration_method=method,
        selection_metrics=selection,
        holdout_metrics=binary_metrics(_labels(split.holdout, label), probability),
        holdout_probability=probability,
    )


def rfm_baseline(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    label: str,
    *,
    max_train_rows: int = 300_000,
    random_state: int = 0,
) -> BaselineResult:
    """The issue's baseline: logistic regression on recency, frequency and monetary value only."""
    split = time_split(
        train, holdout, RFM_FEATURES, label, max_train_rows=max_train_rows, random_state=random_state
    )
    return _rfm_baseline_on(split, random_state)


def _rfm_baseline_on(split: TimeSplit, random_state: int) -> BaselineResult:
    model = logistic_regression_candidate(RFM_FEATURES, random_state, class_weight=None)
    candidate = fit_calibrated("rfm_baseline", model, split, RFM_FEATURES, random_state)
    return BaselineResult("rfm_baseline", candidate.estimator, candidate.holdout_metrics)


def train_propensity(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    features: Sequence[str],
    label: str,
    *,
    random_state: int = 0,
    max_train_rows: int = 300_000,
    max_calibration_rows: int = 200_000,
    importance_repeats: int = 2,
    season_column: str | None = None,
) -> PropensityResult:
    """Fits every candidate, keeps the one with the best AUC on the calibration cutoff (out-of-fold
    calibrated probabilities, see `_choose_calibration`).

    The choice is made on the latest training cutoff (which no candidate was fitted on): ranking is
    what calibration cannot repair, while calibration error is fixed by the calibrator itself. The
    holdout only reports, for every candidate and for the RFM baseline when its three columns exist.
    `season_column`: the label window's season index, applied to every candidate as `SeasonAdjusted`
    (not a feature: the models would learn its effect from too few busy seasons).
    """
    features = list(features)
    if len(set(features)) != len(features) or {label, CUTOFF_COLUMN, season_column} & set(features):
        raise ValueError(
            f"{label}: features must be distinct and exclude the label, {CUTOFF_COLUMN} and the season column"
        )
    rfm_present = all(column in train.columns and column in holdout.columns for column in RFM_FEATURES)
    split = time_split(
        train,
        holdout,
        [*features, *(RFM_FEATURES if rfm_present else ()), *([season_column] if season_column else [])],
        label,
        max_train_rows=max_train_rows,
        max_calibration_rows=max_calibration_rows,
        random_state=random_state,
    )
    candidates = [
        fit_calibrated(name, build(features, random_state), split, features, random_state, season_column)
        for name, build in CANDIDATES.items()
    ]
    chosen = max(candidates, key=lambda candidate: candidate.selection_metrics["roc_auc"])
    holdout_metrics = {candidate.name: candidate.holdout_metrics for candidate in candidates}
    if rfm_present:
        holdout_metrics["rfm_baseline"] = _rfm_baseline_on(split, random_state).holdout_metrics

    y_holdout = _labels(split.holdout, label)
    sample = stratified_sample(split.holdout, label, PERMUTATION_SAMPLE_ROWS, random_state)
    importance = permutation_importance(
        # within the holdout cutoff the season factor is one number: it changes no ranking, so no AUC
        chosen.estimator.estimator if isinstance(chosen.estimator, SeasonAdjusted) else chosen.estimator,
        sample[features],
        _labels(sample, label),
        scoring="roc_auc",
        n_repeats=importance_repeats,
        random_state=random_state,
    )
    feature_importance = (
        pd.Series(importance.importances_mean, index=features, name="roc_auc_drop")
        .sort_values(ascending=False)
        .rename_axis("feature")
    )
    return PropensityResult(
        label=label,
        features=features,
        name=chosen.name,
        estimator=chosen.estimator,
        calibration_method=chosen.calibration_method,
        selection_metrics={candidate.name: candidate.selection_metrics for candidate in candidates},
        holdout_metrics=holdout_metrics,
        feature_importance=feature_importance,
        calibration_table=calibration_table(y_holdout, chosen.holdout_probability),
        lift_table=lift_table(y_holdout, chosen.holdout_probability),
        fit_cutoffs=split.fit_cutoffs,
        calibration_cutoff=split.calibration_cutoff,
        holdout_cutoffs=split.holdout_cutoffs,
        fit_rows=len(split.fit),
        calibration_rows=len(split.calibration),
        holdout_rows=len(split.holdout),
    )
