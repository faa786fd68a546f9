-- One row per date at which customers are segmented (grain: snapshot_date): the day after the as-of
-- date (today's segments) and the start of the day, week or month (`segment_snapshot_grain`) of each
-- campaign exposure up to the as-of date (the segment a customer was in when exposed). A snapshot
-- counts the orders before its date: `reference_date`, the day before, is the last day it sees.

{%- set grain = var('marts')['segment_snapshot_grain'] %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

exposure_snapshots as (
    select distinct
        cast({{ dbt.date_trunc(grain, 'cast(exposures.exposed_at as date)') }} as date) as snapshot_date
    from {{ ref('stg_campaigns__exposures') }} as exposures
    cross join as_of
    where cast(exposures.exposed_at as date) <= as_of.as_of_date
),

snapshots as (
    select
        cast({{ dbt.dateadd('day', 1, 'as_of_date') }} as date) as snapshot_date,
        true as is_current
    from as_of
    union all
    select
        snapshot_date,
        false as is_current
    from exposure_snapshots
),

merged as (
    select
        snapshot_date,
        max(case when is_current then 1 else 0 end) = 1 as is_current
    from snapshots
    group by snapshot_date
)

select
    snapshot_date,
    cast({{ dbt.dateadd('day', -1, 'snapshot_date') }} as date) as reference_date,
    is_current
from merged
