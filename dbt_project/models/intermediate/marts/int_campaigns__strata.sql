-- One row per segment, campaign and channel with exposures up to the as-of date (grain:
-- segment_type, segment, campaign_id, channel): treated and control exposures and their responders,
-- the strata within which the control group is a random sample of the same audience. Segments as of
-- the exposure (int_campaigns__exposures): segment_type `all` (segment `all`), `value_tier` and
-- `rfm_segment` (`unknown` for exposures without a customer).

with

exposures as (
    select * from {{ ref('int_campaigns__exposures') }}
),

segmented as (
    select
        'all' as segment_type,
        'all' as segment,
        exposures.*
    from exposures
    union all
    select
        'value_tier' as segment_type,
        value_tier_at_exposure as segment,
        exposures.*
    from exposures
    union all
    select
        'rfm_segment' as segment_type,
        rfm_segment_at_exposure as segment,
        exposures.*
    from exposures
),

flagged as (
    select
        segment_type,
        segment,
        campaign_id,
        channel,
        campaign_type,
        is_measurement_complete,
        case when is_control then 0 else 1 end as is_treated,
        case when is_control then 1 else 0 end as is_held_out,
        case when has_purchase_response then 1 else 0 end as is_responder,
        case when has_click_response then 1 else 0 end as is_clicker,
        case when has_coupon_response then 1 else 0 end as is_coupon_redeemer,
        purchase_response_amount,
        spend
    from segmented
)

select
    segment_type,
    segment,
    campaign_id,
    channel,
    max(campaign_type) as campaign_type,
    min(case when is_measurement_complete then 1 else 0 end) = 1 as is_measurement_complete,
    cast(sum(is_treated) as {{ dbt.type_bigint() }}) as exposures_treated,
    cast(sum(is_held_out) as {{ dbt.type_bigint() }}) as exposures_control,
    cast(sum(is_treated * is_responder) as {{ dbt.type_bigint() }}) as responders_treated,
    cast(sum(is_held_out * is_responder) as {{ dbt.type_bigint() }}) as responders_control,
    cast(sum(is_treated * is_clicker) as {{ dbt.type_bigint() }}) as clickers_treated,
    cast(sum(is_treated * is_coupon_redeemer) as {{ dbt.type_bigint() }}) as coupon_redeemers_treated,
    cast(sum(is_treated * purchase_response_amount) as {{ dbt.type_numeric() }}) as response_amount_treated,
    cast(sum(spend) as {{ dbt.type_numeric() }}) as spend
from flagged
group by segment_type, segment, campaign_id, channel
