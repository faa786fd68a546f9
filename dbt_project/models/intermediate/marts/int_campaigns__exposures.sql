-- One row per campaign exposure up to the as-of date (grain: exposure_id), treated or control, with
-- the customer's segment as of the exposure, its responses and what it cost.
--
-- Segment: the RFM segment and value tier of int_segments__rfm_scores at the start of the exposure's
-- day/week/month (`segment_snapshot_grain`): orders from before the exposure only, so purchases the
-- campaign caused cannot lift a responder into a better segment. `lapsed`/`prospect` (the seed's
-- names) when the customer bought only before the window / never; `unknown` without a customer_key
-- (an anonymous cookie, email or phone). The customer comes from customer_identity_map.
-- Responses: a response belongs to the exposure of its campaign and recipient (campaign_id,
-- recipient_type, recipient_id), the latest one at or before it when the recipient was exposed
-- twice; it counts from the exposure until `campaign_response_days_after_end` days after the
-- campaign's end date (without an end date: its last exposure so far), and not after the as-of date.
-- The control group received nothing, but the source records its purchases as responses too.
-- Spend: a treated exposure costs the campaign's cost_per_contact plus an equal share of its fixed
-- `cost` (spread over its treated exposures up to the as-of date); a control exposure costs nothing.

{%- set marts = var('marts') %}
{%- set grain = marts['segment_snapshot_grain'] %}
{%- set days_after_end = marts['campaign_response_days_after_end'] | int %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

campaigns as (
    select
        campaign_id,
        campaign_type,
        channel,
        product_line,
        end_date,
        cost,
        cost_per_contact
    from {{ ref('stg_campaigns__campaigns') }}
),

exposures as (
    select
        exposures.exposure_id,
        exposures.campaign_id,
        exposures.recipient_type,
        exposures.recipient_id,
        exposures.channel,
        coalesce(exposures.is_control, false) as is_control,
        exposures.exposed_at,
        cast(exposures.exposed_at as date) as exposure_date
    from {{ ref('stg_campaigns__exposures') }} as exposures
    cross join as_of
    where
        exposures.exposed_at is not null
        and cast(exposures.exposed_at as date) <= as_of.as_of_date
),

campaign_exposures as (
    select
        campaign_id,
        max(exposure_date) as last_exposure_date,
        sum(case when is_control then 0 else 1 end) as treated_exposures
    from exposures
    group by campaign_id
),

campaign_windows as (
    select
        campaign_exposures.campaign_id,
        campaign_exposures.treated_exposures,
        cast({{ dbt.dateadd(
            'day', days_after_end, 'coalesce(campaigns.end_date, campaign_exposures.last_exposure_date)'
        ) }} as date) as response_end_date
    from campaign_exposures
    left join campaigns
        on campaign_exposures.campaign_id = campaigns.campaign_id
),

responses as (
    select
        responses.response_id,
        responses.campaign_id,
        responses.recipient_type,
        responses.recipient_id,
        responses.response_type,
        responses.amount,
        responses.responded_at
    from {{ ref('stg_campaigns__responses') }} as responses
    cross join as_of
    where
        responses.responded_at is not null
        and cast(responses.responded_at as date) <= as_of.as_of_date
),

linked as (
    select
        responses.response_id,
        responses.response_type,
        responses.amount,
        exposures.exposure_id,
        exposures.exposed_at
    from responses
    inner join exposures
        on
            responses.campaign_id = exposures.campaign_id
            and responses.recipient_type = exposures.recipient_type
            and responses.recipient_id = exposures.recipient_id
            and responses.responded_at >= exposures.exposed_at
    inner join campaign_windows
        on
            responses.campaign_id = campaign_windows.campaign_id
            and cast(responses.responded_at as date) <= campaign_windows.response_end_date
),

exposure_of_response as (
    {{ deduplicate('linked', partition_by='response_id', order_by='exposed_at desc, exposure_id') }}
),

exposure_responses as (
    select
        exposure_id,
        max(case when response_type = 'purchase' then 1 else 0 end) = 1 as has_purchase_response,
        max(case when response_type = 'click' then 1 else 0 end) = 1 as has_click_response,
        max(case when response_type = 'coupon_redeemed' then 1 else 0 end) = 1 as has_coupon_response,
        sum(case when response_type = 'purchase' then amount else 0 end) as purchase_response_amount
    from exposure_of_response
    group by exposure_id
),

exposure_customers as (
    select
        source_record_id as exposure_id,
        customer_key
    from {{ ref('customer_identity_map') }}
    where source_system = 'campaigns' and source_table = 'exposures'
),

first_orders as (
    select
        customer_key,
        min(order_date) as first_order_date
    from {{ ref('fct_orders') }}
    where is_revenue and customer_key is not null
    group by customer_key
),

status_segments as (
    select
        buyer_status,
        rfm_segment
    from {{ ref('rfm_segments') }}
    where buyer_status <> 'in_window'
),

segmented as (
    select
        exposures.*,
        exposure_customers.customer_key,
        cast({{ dbt.date_trunc(grain, 'exposures.exposure_date') }} as date) as segment_snapshot_date
    from exposures
    left join exposure_customers
        on exposures.exposure_id = exposure_customers.exposure_id
),

statuses as (
    select
        segmented.*,
        scores.rfm_segment as scored_rfm_segment,
        scores.value_tier as scored_value_tier,
        case
            when segmented.customer_key is null then 'unknown'
            when scores.customer_key is not null then 'in_window'
            when first_orders.first_order_date < segmented.segment_snapshot_date then 'lapsed'
            else 'never_bought'
        end as buyer_status
    from segmented
    left join {{ ref('int_segments__rfm_scores') }} as scores
        on
            segmented.customer_key = scores.customer_key
            and segmented.segment_snapshot_date = scores.snapshot_date
    left join first_orders
        on segmented.customer_key = first_orders.customer_key
)

select
    statuses.exposure_id,
    statuses.campaign_id,
    coalesce(campaigns.campaign_type, 'unknown') as campaign_type,
    coalesce(statuses.channel, campaigns.channel, 'unknown') as channel,
    campaigns.product_line,
    statuses.is_control,
    statuses.exposed_at,
    statuses.exposure_date,
    statuses.customer_key,
    statuses.segment_snapshot_date,
    statuses.buyer_status as buyer_status_at_exposure,
    case
        when statuses.buyer_status = 'unknown' then 'unknown'
        else coalesce(statuses.scored_rfm_segment, status_segments.rfm_segment)
    end as rfm_segment_at_exposure,
    case
        when statuses.buyer_status = 'unknown' then 'unknown'
        else coalesce(statuses.scored_value_tier, '{{ marts["value_tier_non_buyer"] }}')
    end as value_tier_at_exposure,
    coalesce(exposure_responses.has_purchase_response, false) as has_purchase_response,
    coalesce(exposure_responses.has_click_response, false) as has_click_response,
    coalesce(exposure_responses.has_coupon_response, false) as has_coupon_response,
    cast(coalesce(exposure_responses.purchase_response_amount, 0) as {{ dbt.type_numeric() }})
        as purchase_response_amount,
    cast(case
        when statuses.is_control then 0
        else
            coalesce(campaigns.cost_per_contact, 0)
            + coalesce(campaigns.cost, 0) / campaign_windows.treated_exposures
    end as {{ dbt.type_numeric() }}) as spend,
    campaign_windows.response_end_date,
    campaign_windows.response_end_date < as_of.as_of_date as is_measurement_complete
from statuses
cross join as_of
left join campaigns
    on statuses.campaign_id = campaigns.campaign_id
left join campaign_windows
    on statuses.campaign_id = campaign_windows.campaign_id
left join status_segments
    on statuses.buyer_status = status_segments.buyer_status
left join exposure_responses
    on statuses.exposure_id = exposure_responses.exposure_id
