"""The nightly job over everything, and its schedule (02:00 Europe/Amsterdam, off by default)."""

import dagster as dg

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    description="Extract every source system, then build the dbt project and run its tests.",
)

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_at_two",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/Amsterdam",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

defs = dg.Definitions(jobs=[nightly_job], schedules=[nightly_schedule])
