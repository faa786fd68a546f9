"""The training asset (weekly, on demand) and the nightly scores. Thin: the work is in `ml/`."""

import dagster as dg

from ml.next_best_action import NbaSettings
from orchestration.resources import MlflowResource, WarehouseResource
from orchestration.stages.nightly import CADENCE_TAG

TRAINING_KEY = dg.AssetKey(["ml", "models"])
SCORES_KEY = dg.AssetKey(["ml", "customer_scores"])
# The dbt models the models learn from and score with (dbt_project/models/ml).
FEATURE_TABLES = [
    dg.AssetKey(["ml", name])
    for name in ("customer_features", "customer_line_features", "customer_labels", "customer_line_labels")
]
# How much of the buying reaches a customer, for the probability of any purchase (ml/visibility.py).
PURCHASE_VISIBILITY = dg.AssetKey(["ml", "int_ml__purchase_visibility"])
# What the next best action needs besides the scores: consent and channel preferences.
ACTION_INPUTS = [
    dg.AssetKey(["identity", "dim_customer"]),
    dg.AssetKey(["marts", "customer_channel_preference"]),
]


class TrainingConfig(dg.Config):
    """Bounds of a training run (the launchpad shows them)."""

    max_train_rows: int = 300_000
    random_state: int = 0


class ScoringConfig(dg.Config):
    """How scores become a next best action (docs/ml.md); defaults from ml/next_best_action.py."""

    churn_threshold: float = NbaSettings.churn_threshold
    retention_clv_share: float = NbaSettings.retention_clv_share
    retention_save_rate: float = NbaSettings.retention_save_rate
    feedback_days: int = NbaSettings.feedback_days
    min_expected_value_eur: float = NbaSettings.min_expected_value


@dg.asset(
    key=TRAINING_KEY,
    group_name="ml",
    deps=FEATURE_TABLES,
    kinds={"mlflow", "scikitlearn"},
    tags={CADENCE_TAG: "weekly"},
    description="Trains the propensity, CLV and segment models on past cutoffs, evaluates them out of "
    "time on a later one, logs them to MLflow and promotes a version to @champion only when it is not "
    "worse than the champion on the same holdout (weekly job `ml_training`, or on demand).",
)
def model_training(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    from ml.training import train_models

    report = train_models(
        warehouse.get_connection,
        mlflow.store(),
        max_train_rows=config.max_train_rows,
        random_state=config.random_state,
        log=context.log.info,
    )
    metadata = {
        "models": dg.MetadataValue.md(report.table()),
        "seconds": round(report.seconds, 1),
        "rows_loaded": report.rows_loaded,
        **report.holdout_metrics(),
    }
    if report.failures:
        # the other models are registered; the run fails so that nobody misses the broken one
        raise dg.Failure(description="Training failed for " + "; ".join(report.failures), metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key=SCORES_KEY,
    group_name="ml",
    deps=[*FEATURE_TABLES, PURCHASE_VISIBILITY, *ACTION_INPUTS],
    kinds={"mlflow", "duckdb"},
    description="Scores every customer_key at the scoring cutoff with the @champion models (purchase, "
    "cross-sell per product line, churn, CLV, segment) and picks a next best action the customer "
    "consented to: `ml.customer_scores`, and every night's rows in `ml.customer_scores_history`. Never "
    "trains: a model without a champion leaves its columns empty.",
)
def customer_scores(
    context: dg.AssetExecutionContext,
    config: ScoringConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    from ml.scoring import score_customers

    settings = NbaSettings(
        churn_threshold=config.churn_threshold,
        retention_clv_share=config.retention_clv_share,
        retention_save_rate=config.retention_save_rate,
        feedback_days=config.feedback_days,
        min_expected_value=config.min_expected_value_eur,
    )
    report = score_customers(warehouse.get_connection, mlflow.store(), settings, run_id=context.run_id)
    for warning in report.warnings:
        context.log.warning(warning)
    return dg.MaterializeResult(
        metadata={
            "score_date": str(report.score_date),
            "customers_scored": dg.MetadataValue.int(report.customers),
            "champions": dg.MetadataValue.md(report.champions_table()),
            "next_best_actions": dg.MetadataValue.json(report.actions),
            "member_purchase_visibility": report.visibility.member,
            "non_member_purchase_visibility": report.visibility.non_member,
            "seconds": round(report.seconds, 1),
            "missing_champions": dg.MetadataValue.json(report.warnings),
        }
    )
