"""Segments on well-separated synthetic customer groups: k recovered, clusters described by the right features."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from ml.segments import describe_centroid, feature_phrase, fit_segments, silhouette_on, skewed_count_features

FEATURES = ["frequency_365d", "monetary_365d", "recency_days", "garden_views"]
# Four groups of distinct sizes: (share, orders a year, spend per order, days since last order, garden views).
GROUPS = {
    "loyal": (0.4, 12, 60, 15, 1),
    "lapsed": (0.3, 1, 50, 300, 1),
    "gardeners": (0.2, 2, 55, 90, 40),
    "big_spenders": (0.1, 4, 4000, 150, 1),
}


def synthetic_groups(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for name, (share, orders, basket, recency, views) in GROUPS.items():
        n = int(rows * share)
        frequency = 1 + rng.poisson(orders - 1, n)  # everyone here bought at least once
        frames.append(
            pd.DataFrame(
                {
                    "group": name,
                    "frequency_365d": frequency.astype(float),
                    "monetary_365d": frequency * basket * rng.lognormal(0, 0.1, n),
                    "recency_days": rng.normal(recency, recency * 0.15, n).clip(0),
                    "garden_views": rng.poisson(views, n).astype(float),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    frame.loc[frame.sample(frac=0.02, random_state=seed).index, "recency_days"] = np.nan
    return frame


@pytest.fixture(scope="module")
def fitted():
    frame = synthetic_groups(12_000)
    return frame, fit_segments(frame, FEATURES, k_values=range(2, 7), sample_rows=6_000)


def test_number_of_groups_is_recovered(fitted):
    frame, model = fitted
    assert model.k == 4
    assert set(model.silhouette_by_k) == {2, 3, 4, 5, 6}
    assert max(model.silhouette_by_k, key=model.silhouette_by_k.get) == 4
    assert adjusted_rand_score(frame["group"], model.predict(frame)) > 0.95
    assert silhouette_on(model, frame) == pytest.approx(model.silhouette_by_k[4], abs=0.03)


def test_segments_are_numbered_by_size(fitted):
    frame, model = fitted
    assert model.profiles["customers"].tolist() == sorted(model.profiles["customers"], reverse=True)
    assert model.profiles["customers"].sum() == len(frame)
    assignment = model.predict(frame)
    assert (frame.loc[assignment == 0, "group"] == "loyal").mean() > 0.95
    assert (frame.loc[assignment == 3, "group"] == "big_spenders").mean() > 0.95


def test_descriptions_name_the_distinguishing_features(fitted):
    frame, model = fitted
    assignment = model.assign(frame)["segment_id"]
    descriptions = {}
    for group in GROUPS:
        segment = assignment[frame["group"] == group].mode()[0]
        descriptions[group] = model.profiles.set_index("segment").loc[segment, "description"]
    assert "frequent buyers" in descriptions["loyal"]
    assert "lapsed buyers" in descriptions["lapsed"]
    assert "high garden views" in descriptions["gardeners"]
    assert "high spend" in descriptions["big_spenders"]
    assert model.profiles["name"].is_unique


def test_heavy_tailed_counts_are_log_transformed_and_flags_are_not():
    frame = pd.DataFrame(
        {
            "orders": np.r_[np.zeros(90), np.arange(1, 11) ** 3],
            "flag": np.r_[np.zeros(95), np.ones(5)],
            "balance": np.linspace(-5, 5, 100),
        }
    )
    assert skewed_count_features(frame, ["orders", "flag", "balance"]) == ["orders"]


def test_fitted_pipeline_pickles_and_scores_new_rows(fitted):
    _, model = fitted
    restored = pickle.loads(pickle.dumps(model.pipeline))
    fresh = synthetic_groups(400, seed=9).assign(customer_key="KB1")
    np.testing.assert_array_equal(restored.predict(fresh), model.predict(fresh))
    assigned = model.assign(fresh)
    assert assigned.index.equals(fresh.index)
    profiles = model.describe().set_index("segment")
    first = assigned.iloc[0]
    assert first["segment_name"] == profiles.loc[first["segment_id"], "name"]
    assert first["segment_description"] == profiles.loc[first["segment_id"], "description"]


def test_phrases_and_names():
    assert feature_phrase("frequency_365d", True) == "frequent buyers"
    assert feature_phrase("web_views_garden", False) == "low web views garden"
    name, description = describe_centroid(
        pd.Series({"frequency_365d": 1.5, "monetary_365d": 0.9, "x_y": 0.1})
    )
    assert name == "Frequent buyers, high spend"
    assert "x y" not in description
    # Fewer than two notable features still yields two phrases.
    name, _ = describe_centroid(
        pd.Series({"frequency_365d": 0.1, "monetary_365d": -0.2, "tenure_days": 0.05})
    )
    assert name == "Low spend, frequent buyers"
