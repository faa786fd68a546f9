"""Stage 2: the dbt project (staging today; identity and marts follow) as Dagster assets."""

import dagster as dg

from orchestration.stages.transform.dbt_assets import dbt_models

defs = dg.Definitions(assets=[dbt_models])
