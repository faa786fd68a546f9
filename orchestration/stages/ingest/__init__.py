"""Stage 1: one asset per source table, landing it in the warehouse's `raw` schema."""

import dagster as dg

from orchestration.stages.ingest.assets import extraction_assets

defs = dg.Definitions(assets=extraction_assets())
