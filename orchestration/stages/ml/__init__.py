"""Stage 4: MLflow-tracked models. Training is its own weekly job (and on demand); the nightly job
scores every customer with the `@champion` models and never trains."""

import dagster as dg

from orchestration.stages.ml.assets import customer_scores, model_training
from orchestration.stages.ml.jobs import ml_scoring_job, ml_training_job, weekly_training_schedule

defs = dg.Definitions(
    assets=[model_training, customer_scores],
    jobs=[ml_training_job, ml_scoring_job],
    schedules=[weekly_training_schedule],
)
