"""The weekly training job and its schedule, and a scoring job for right after a training."""

import dagster as dg

from orchestration.stages.ml.assets import SCORES_KEY, TRAINING_KEY

ml_training_job = dg.define_asset_job(
    "ml_training",
    selection=dg.AssetSelection.assets(TRAINING_KEY),
    description="Train every model on the point-in-time features of past cutoffs, log it to MLflow and "
    "promote it to @champion only when it is not worse than the champion on the same holdout.",
)

ml_scoring_job = dg.define_asset_job(
    "ml_scoring",
    selection=dg.AssetSelection.assets(SCORES_KEY).downstream(),
    description="Score every customer with the @champion models and rebuild what shows the scores "
    "(customer_360, the bi views, the publication); the nightly job does the same after its dbt build.",
)

weekly_training_schedule = dg.ScheduleDefinition(
    name="ml_training_weekly",
    job=ml_training_job,
    # Sunday 04:00, after Sunday's nightly run (02:00) has built the features
    cron_schedule="0 4 * * 0",
    execution_timezone="Europe/Amsterdam",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
