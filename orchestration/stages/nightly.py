"""The nightly job over everything, and its schedule (02:00 Europe/Amsterdam, off by default)."""

import dagster as dg

# Assets with their own, slower cadence (model training: weekly) carry this tag and stay out.
CADENCE_TAG = "klantbeeld/cadence"

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all() - dg.AssetSelection.tag(CADENCE_TAG, "weekly"),
    description="Extract every source system, build the dbt project and run its tests, score every "
    "customer with the champion models, publish for BI.",
)

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_at_two",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/Amsterdam",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

defs = dg.Definitions(jobs=[nightly_job], schedules=[nightly_schedule])
