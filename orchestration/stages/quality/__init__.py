"""Data quality: the Great Expectations suites of the published marts as blocking asset checks, and
the job that re-validates quarantined rows after a fix."""

import dagster as dg

from orchestration.stages.quality.mart_checks import mart_expectation_checks
from orchestration.stages.quality.reprocess import reprocess_quarantine

defs = dg.Definitions(asset_checks=[mart_expectation_checks()], jobs=[reprocess_quarantine])
