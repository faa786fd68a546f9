"""Stage 2: the dbt project as Dagster assets: the models up to the ML features, and, after the nightly
scores, the models that show them."""

import dagster as dg

from orchestration.stages.transform.dbt_assets import dbt_models, dbt_scored_models

defs = dg.Definitions(assets=[dbt_models, dbt_scored_models])
