-- One row per segment, campaign type and channel (grain: segment_type, segment, campaign_type,
-- channel; `all` rows roll up all campaign types and/or all channels): exposures, purchase responses,
-- response rates and the uplift against the random control group with its confidence interval,
-- spend and cost per incremental response, over the campaigns whose response window has closed.
-- The segment is the customer's as of the exposure (int_campaigns__exposures); uplift arithmetic in
-- macro campaign_uplift_summary (strata: campaign x channel x segment).

with

strata as (
    select *
    from {{ ref('int_campaigns__strata') }}
    where is_measurement_complete
),

rollups as (
    select
        false as all_types,
        false as all_channels
    union all
    select
        true as all_types,
        false as all_channels
    union all
    select
        false as all_types,
        true as all_channels
    union all
    select
        true as all_types,
        true as all_channels
),

expanded as (
    select
        strata.*,
        case when rollups.all_types then 'all' else strata.campaign_type end as type_cut,
        case when rollups.all_channels then 'all' else strata.channel end as channel_cut
    from strata
    cross join rollups
),

summary as (
    {{ campaign_uplift_summary(
        'expanded',
        group_by=['segment_type', 'segment', 'type_cut', 'channel_cut'],
        group_names=['segment_type', 'segment', 'campaign_type', 'channel']
    ) }}
)

select
    segment_type,
    segment,
    campaign_type,
    channel,
    cast(campaigns as {{ dbt.type_int() }}) as campaigns,
    cast(exposures_treated as {{ dbt.type_bigint() }}) as exposures_treated,
    cast(exposures_control as {{ dbt.type_bigint() }}) as exposures_control,
    cast(responders_treated as {{ dbt.type_bigint() }}) as responders_treated,
    cast(responders_control as {{ dbt.type_bigint() }}) as responders_control,
    response_rate_treated,
    response_rate_control,
    click_rate_treated,
    coupon_redemption_rate_treated,
    cast(measured_exposures_treated as {{ dbt.type_bigint() }}) as measured_exposures_treated,
    cast(measured_exposures_control as {{ dbt.type_bigint() }}) as measured_exposures_control,
    baseline_response_rate,
    uplift,
    uplift_standard_error,
    uplift_ci_low,
    uplift_ci_high,
    confidence_level,
    coalesce(uplift_ci_low > 0 or uplift_ci_high < 0, false) as is_significant,
    incremental_responders,
    cast(response_amount_treated as {{ dbt.type_numeric() }}) as response_amount_treated,
    cast(spend as {{ dbt.type_numeric() }}) as spend,
    cost_per_incremental_response
from summary
