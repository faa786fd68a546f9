"""Stage 3: publish the marts for BI tools into read-only serving files (docs/serving.md)."""

import dagster as dg

from orchestration.stages.serve.assets import publication_asset

defs = dg.Definitions(assets=[publication_asset()])
