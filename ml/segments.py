"""Behavioural segments: k-means on standardized features, k chosen by silhouette, clusters described in words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ml.propensity import FeatureFrame

# Behavioural columns of ml.customer_features worth clustering on (the rest: demographics, raw counts that
# duplicate these, BG/NBD inputs). Callers keep those present in their frame.
SEGMENT_FEATURES = [
    "recency_days",
    "frequency_365d",
    "monetary_365d",
    "avg_order_value_365d",
    "tenure_days",
    "online_order_share_365d",
    "web_sessions_90d",
    "email_click_rate_365d",
    "service_contacts_365d",
    "avg_satisfaction_365d",
    "loyalty_tier_rank",
    "campaign_responses_365d",
    "decayed_engagement_points",
]
# (phrase when the segment is above the average customer, phrase when below).
FEATURE_PHRASES: dict[str, tuple[str, str]] = {
    "recency_days": ("lapsed buyers", "recent buyers"),
    "frequency_365d": ("frequent buyers", "rare buyers"),
    "frequency_90d": ("buying often lately", "not buying lately"),
    "monetary_365d": ("high spend", "low spend"),
    "margin_365d": ("high margin", "low margin"),
    "avg_order_value_365d": ("large baskets", "small baskets"),
    "tenure_days": ("long-standing customers", "new customers"),
    "days_since_first_order": ("long-time buyers", "recent first buyers"),
    "online_order_share_365d": ("online buyers", "store buyers"),
    "web_sessions_90d": ("active on the website", "rarely on the website"),
    "product_views_90d": ("browsing many products", "browsing few products"),
    "email_click_rate_365d": ("email clickers", "rarely click email"),
    "email_opens_90d": ("email readers", "ignore email"),
    "service_contacts_365d": ("frequent service contacts", "few service contacts"),
    "avg_satisfaction_365d": ("satisfied", "dissatisfied"),
    "loyalty_tier_rank": ("high loyalty tier", "low loyalty tier"),
    "loyalty_points_earned_365d": ("earning many loyalty points", "earning few loyalty points"),
    "campaign_responses_365d": ("campaign responders", "campaign-averse"),
    "coupons_redeemed_365d": ("coupon users", "rarely use coupons"),
    "decayed_engagement_points": ("highly engaged", "disengaged"),
    "age_years": ("older", "younger"),
}
# Centroid features at least this many standard deviations from the mean enter the description.
NOTABLE_Z = 0.5
MIN_PHRASES, MAX_PHRASES = 2, 4
SILHOUETTE_SAMPLE_ROWS = 10_000


def log1p_nonnegative(values: np.ndarray) -> np.ndarray:
    """log(1 + x) with negatives (refunds, data errors) read as zero."""
    return np.log1p(np.clip(values, 0.0, None))


def feature_phrase(feature: str, above_average: bool) -> str:
    """The words for a feature far above or below the average customer; a generic phrase if unknown."""
    if feature in FEATURE_PHRASES:
        return FEATURE_PHRASES[feature][0 if above_average else 1]
    return f"{'high' if above_average else 'low'} {feature.replace('_', ' ')}"


def skewed_count_features(frame: pd.DataFrame, features: Iterable[str]) -> list[str]:
    """Features to log-transform: never negative, more than two values, long right tail (skew > 1)."""
    chosen = []
    for feature in features:
        values = frame[feature].astype("float64").dropna()
        if len(values) and values.min() >= 0 and values.nunique() > 2 and values.skew() > 1:
            chosen.append(feature)
    return chosen


def _preprocessing(features: Sequence[str], log_features: Sequence[str]) -> Pipeline:
    transform = ColumnTransformer(
        [
            (
                "log1p",
                FunctionTransformer(log1p_nonnegative, feature_names_out="one-to-one"),
                list(log_features),
            )
        ],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    return Pipeline(
        [
            ("features", FeatureFrame(list(features))),
            ("log", transform),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]
    ).set_output(transform="pandas")


@dataclass
class SegmentModel:
    """A fitted segmentation: `pipeline.predict(frame)` gives segment numbers 0..k-1, 0 the largest."""

    pipeline: Pipeline
    k: int
    features: list[str]
    log_features: list[str]
    silhouette_by_k: dict[int, float]
    centroids: pd.DataFrame
    profiles: pd.DataFrame

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict(frame)

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """segment_id, segment_name and segment_description per row of frame (same index)."""
        segment = self.predict(frame)
        profiles = self.profiles.set_index("segment")
        return pd.DataFrame(
            {
                "segment_id": segment,
                "segment_name": profiles["name"].to_numpy()[segment],
                "segment_description": profiles["description"].to_numpy()[segment],
            },
            index=frame.index,
        )

    def describe(self) -> pd.DataFrame:
        """One row per segment: number, name, description, customers and share at fit time."""
        return self.profiles.copy()


def silhouette_on(model: SegmentModel, frame: pd.DataFrame, random_state: int = 0) -> float:
    """Silhouette of the model's segments on frame in the model's own standardized space.

    NaN when the frame falls into a single segment (the score is undefined there).
    """
    segment = model.predict(frame)
    if len(np.unique(segment)) < 2:
        return float("nan")
    standardized = model.pipeline[:-1].transform(frame)
    sample_size = min(SILHOUETTE_SAMPLE_ROWS, len(frame))
    return float(silhouette_score(standardized, segment, sample_size=sample_size, random_state=random_state))


def describe_centroid(z_scores: pd.Series) -> tuple[str, str]:
    """A short name and a sentence from one centroid's z-scores (features most above/below the mean)."""
    ranked = z_scores.reindex(z_scores.abs().sort_values(ascending=False, kind="stable").index)
    notable = ranked[ranked.abs() >= NOTABLE_Z]
    chosen = ranked.head(max(MIN_PHRASES, min(MAX_PHRASES, len(notable))))
    phrases = [feature_phrase(feature, z > 0) for feature, z in chosen.items()]
    name = ", ".join(phrases[:2])
    details = "; ".join(
        f"{phrase} ({z:+.1f} sd {feature})"
        for phrase, (feature, z) in zip(phrases, chosen.items(), strict=True)
    )
    return name[0].upper() + name[1:], f"Compared with the average customer: {details}."


def fit_segments(
    frame: pd.DataFrame,
    features: Sequence[str],
    k_values: Iterable[int] = range(3, 9),
    sample_rows: int = 20_000,
    random_state: int = 0,
) -> SegmentModel:
    """Fits k-means for every k on a sample, keeps the k with the best silhouette, names the clusters."""
    features = list(features)
    k_values = sorted(set(k_values))
    sample = frame.sample(n=sample_rows, random_state=random_state) if len(frame) > sample_rows else frame
    if len(sample) <= max(k_values):
        raise ValueError(f"{len(sample)} rows cannot form {max(k_values)} segments")
    log_features = skewed_count_features(sample, features)
    preprocessing = _preprocessing(features, log_features).fit(sample)
    standardized = preprocessing.transform(sample)

    scores, fitted = {}, {}
    for k in k_values:
        model = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit(standardized)
        scores[k] = float(
            silhouette_score(
                standardized,
                model.labels_,
                sample_size=min(SILHOUETTE_SAMPLE_ROWS, len(standardized)),
                random_state=random_state,
            )
        )
        fitted[k] = model
    k = max(scores, key=scores.__getitem__)
    kmeans = fitted[k]
    # Number segments by size, largest first, so a retrain on similar data keeps similar numbers;
    # predict() only uses cluster_centers_, so reordering them renumbers every later prediction.
    order = np.argsort(-np.bincount(kmeans.labels_, minlength=k), kind="stable")
    kmeans.cluster_centers_ = kmeans.cluster_centers_[order]
    kmeans.labels_ = np.argsort(order)[kmeans.labels_]

    pipeline = Pipeline([*preprocessing.steps, ("cluster", kmeans)])
    centroids = pd.DataFrame(kmeans.cluster_centers_, columns=standardized.columns).rename_axis("segment")
    centroids = centroids[features]
    sizes = np.bincount(pipeline.predict(frame), minlength=k)
    rows = []
    for segment, z_scores in centroids.iterrows():
        name, description = describe_centroid(z_scores)
        rows.append(
            {"segment": segment, "name": name, "description": description, "customers": sizes[segment]}
        )
    profiles = pd.DataFrame(rows)
    duplicated = profiles["name"].duplicated(keep=False)
    profiles.loc[duplicated, "name"] += " (" + (profiles.loc[duplicated, "segment"] + 1).astype(str) + ")"
    profiles["share"] = profiles["customers"] / profiles["customers"].sum()
    return SegmentModel(
        pipeline=pipeline,
        k=k,
        features=features,
        log_features=log_features,
        silhouette_by_k=scores,
        centroids=centroids,
        profiles=profiles,
    )
