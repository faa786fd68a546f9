-- One row per campaign that started or exposed anyone up to the as-of date (grain: campaign_id):
-- its settings, exposures and purchase responses of the treated and the control group, the uplift
-- with its confidence interval (macro campaign_uplift_summary; strata: the campaign's channels),
-- spend (fixed cost + cost_per_contact x treated exposures) and cost per incremental response.
-- `is_measurement_complete`: the response window (`campaign_response_days_after_end` days after the
-- end date) closed before the as-of date; running campaigns show their responses so far.

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

strata as (
    select *
    from {{ ref('int_campaigns__strata') }}
    where segment_type = 'all'
),

summary as (
    {{ campaign_uplift_summary('strata', group_by=['campaign_id'], group_names=['campaign_id']) }}
),

windows as (
    select
        campaign_id,
        min(exposed_at) as first_exposed_at,
        max(exposed_at) as last_exposed_at,
        max(response_end_date) as response_end_date
    from {{ ref('int_campaigns__exposures') }}
    group by campaign_id
),

campaigns as (
    select
        campaign_id,
        campaign_name,
        campaign_type,
        channel,
        product_line,
        start_date,
        end_date,
        cost,
        cost_per_contact,
        control_share
    from {{ ref('stg_campaigns__campaigns') }}
),

known as (
    select campaign_id from windows
    union
    select campaigns.campaign_id
    from campaigns
    cross join as_of
    where campaigns.start_date <= as_of.as_of_date
)

select
    known.campaign_id,
    campaigns.campaign_name,
    coalesce(campaigns.campaign_type, 'unknown') as campaign_type,
    campaigns.channel,
    campaigns.product_line,
    campaigns.start_date,
    campaigns.end_date,
    campaigns.control_share,
    windows.first_exposed_at,
    windows.last_exposed_at,
    windows.response_end_date,
    coalesce(windows.response_end_date < as_of.as_of_date, false) as is_measurement_complete,
    cast(coalesce(summary.exposures_treated, 0) as {{ dbt.type_bigint() }}) as exposures_treated,
    cast(coalesce(summary.exposures_control, 0) as {{ dbt.type_bigint() }}) as exposures_control,
    cast(coalesce(summary.responders_treated, 0) as {{ dbt.type_bigint() }}) as responders_treated,
    cast(coalesce(summary.responders_control, 0) as {{ dbt.type_bigint() }}) as responders_control,
    summary.response_rate_treated,
    summary.response_rate_control,
    summary.click_rate_treated,
    summary.coupon_redemption_rate_treated,
    summary.uplift,
    summary.uplift_standard_error,
    summary.uplift_ci_low,
    summary.uplift_ci_high,
    summary.confidence_level,
    coalesce(summary.uplift_ci_low > 0 or summary.uplift_ci_high < 0, false) as is_significant,
    summary.incremental_responders,
    cast(coalesce(summary.response_amount_treated, 0) as {{ dbt.type_numeric() }}) as response_amount_treated,
    cast(coalesce(campaigns.cost, 0) as {{ dbt.type_numeric() }}) as fixed_cost,
    cast(
        coalesce(summary.spend, coalesce(campaigns.cost, 0)) as {{ dbt.type_numeric() }}
    ) as spend,
    summary.cost_per_incremental_response
from known
cross join as_of
left join campaigns
    on known.campaign_id = campaigns.campaign_id
left join windows
    on known.campaign_id = windows.campaign_id
left join summary
    on known.campaign_id = summary.campaign_id
