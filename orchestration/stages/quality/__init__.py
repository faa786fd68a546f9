"""Data quality: the Great Expectations suites of the published marts as blocking asset checks."""

import dagster as dg

from orchestration.stages.quality.mart_checks import mart_expectation_checks

defs = dg.Definitions(asset_checks=[mart_expectation_checks()])
