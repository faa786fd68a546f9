"""Training against a real local MLflow store: a model is logged and registered, the first version
becomes @champion, and a worse version on the same holdout is kept as a challenger."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from ml import features as ft
from ml.registry import CHALLENGER, CHAMPION, DECISION_TAG, MlflowStore, decide_promotion, promote_unevaluated
from ml.training import PURCHASE_MODEL, train_propensity_model

FEATURES = ["recency_days", "frequency_365d", "monetary_365d", "noise"]


def synthetic_frame(seed: int = 0, customers: int = 3000, cutoffs: int = 4) -> ft.ModelFrame:
    """Customers at monthly cutoffs whose 30-day purchase follows a logistic truth in recency and frequency."""
    rng = np.random.default_rng(seed)
    parts = []
    for index in range(cutoffs):
        recency = rng.exponential(90, customers)
        frequency = rng.poisson(2, customers).astype(float)
        logit = -2.5 - recency / 60 + 0.6 * frequency
        parts.append(
            pd.DataFrame(
                {
                    "customer_key": [f"KB{i:010d}" for i in range(customers)],
                    "cutoff_date": pd.Timestamp("2026-01-31") + pd.Timedelta(days=30 * index),
                    "recency_days": recency,
                    "frequency_365d": frequency,
                    "monetary_365d": frequency * rng.gamma(2, 40, customers),
                    "noise": rng.normal(size=customers),
                    ft.PURCHASE_LABEL: (rng.random(customers) < 1 / (1 + np.exp(-logit))).astype(float),
                }
            )
        )
    return ft.ModelFrame(rows=pd.concat(parts, ignore_index=True), feature_columns=FEATURES, product_lines=[])


@pytest.fixture
def store(tmp_path) -> MlflowStore:
    return MlflowStore.under(tmp_path)


def test_promotion_rule_keeps_the_champion_when_the_new_version_is_worse():
    assert decide_promotion("roc_auc", 0.70, None, higher_is_better=True)[0]
    assert decide_promotion("roc_auc", 0.70, 0.70, higher_is_better=True)[0]
    assert not decide_promotion("roc_auc", 0.69, 0.70, higher_is_better=True)[0]
    assert decide_promotion("mae", 10.0, 11.0, higher_is_better=False)[0]
    assert not decide_promotion("mae", 12.0, 11.0, higher_is_better=False)[0]


def test_first_version_becomes_champion_and_a_worse_one_stays_challenger(store):
    client = store.activate()
    frame = synthetic_frame()
    first = train_propensity_model(client, frame, PURCHASE_MODEL, ft.PURCHASE_LABEL, 100_000, 0)
    assert first.skipped is None and first.promotion.promoted
    assert str(client.get_model_version_by_alias(PURCHASE_MODEL, CHAMPION).version) == first.promotion.version
    assert first.metrics["roc_auc"] > 0.75
    run = client.get_run(first.run_id)
    assert {"roc_auc", "pr_auc", "brier", "top_decile_lift", "expected_calibration_error"} <= set(
        run.data.metrics
    )
    artifacts = {artifact.path for artifact in client.list_artifacts(first.run_id, "plots")}
    assert artifacts == {"plots/calibration.png", "plots/lift.png", "plots/feature_importance.png"}

    # the same holdout, but every training label shuffled: the new version predicts worse
    worse = synthetic_frame()
    rows = worse.rows
    holdout_cutoff = rows["cutoff_date"].max()
    training = rows["cutoff_date"] < holdout_cutoff
    rng = np.random.default_rng(1)
    rows.loc[training, ft.PURCHASE_LABEL] = rng.permutation(rows.loc[training, ft.PURCHASE_LABEL].to_numpy())
    second = train_propensity_model(client, worse, PURCHASE_MODEL, ft.PURCHASE_LABEL, 100_000, 0)
    assert not second.promotion.promoted
    assert second.promotion.champion_version == first.promotion.version
    assert second.promotion.metric == "log_loss"
    assert second.promotion.new_value > second.promotion.champion_value
    assert str(client.get_model_version_by_alias(PURCHASE_MODEL, CHAMPION).version) == first.promotion.version
    assert (
        str(client.get_model_version_by_alias(PURCHASE_MODEL, CHALLENGER).version) == second.promotion.version
    )
    decision = client.get_model_version(PURCHASE_MODEL, second.promotion.version).tags[DECISION_TAG]
    assert "worse than the champion" in decision


def test_a_target_without_enough_cutoffs_is_skipped_with_the_reason(store):
    client = store.activate()
    frame = synthetic_frame(cutoffs=2)
    report = train_propensity_model(client, frame, PURCHASE_MODEL, ft.PURCHASE_LABEL, 100_000, 0)
    assert report.promotion is None
    assert "needs two training cutoffs" in report.skipped


def test_a_version_that_cannot_be_evaluated_never_replaces_a_champion(store):
    client = store.activate()
    frame = synthetic_frame()
    first = train_propensity_model(client, frame, PURCHASE_MODEL, ft.PURCHASE_LABEL, 100_000, 0)
    champion = client.get_model_version_by_alias(PURCHASE_MODEL, CHAMPION)
    version = client.get_model_version(PURCHASE_MODEL, first.promotion.version)
    promotion = promote_unevaluated(client, version, champion, "no holdout")
    assert not promotion.promoted and "the champion stays" in promotion.reason
    fresh = promote_unevaluated(client, version, None, "no holdout")
    assert fresh.promoted and "first version" in fresh.reason


def test_activating_a_store_leaves_the_users_tracking_uri_setting_alone(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    MlflowStore.under(tmp_path / "a").activate()
    assert "MLFLOW_TRACKING_URI" not in os.environ
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mine.db'}")
    MlflowStore.under(tmp_path / "b").activate()
    assert os.environ["MLFLOW_TRACKING_URI"] == f"sqlite:///{tmp_path / 'mine.db'}"
