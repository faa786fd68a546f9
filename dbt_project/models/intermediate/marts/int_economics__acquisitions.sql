-- One row per customer with a revenue order up to the as-of date (grain: customer_key): the first
-- order and the channel that acquired the customer, by the first rule that applies:
--   1. before_history: the first order falls within `acquisition_lead_in_days` of the earliest order
--      in the warehouse (the customer may have bought before the history starts): no acquisition;
--   2. campaign_response: a response of a treated contact (purchase or coupon redemption) names the
--      first order: that campaign's channel (a redeemed coupon first, then the latest contact);
--   3. web_visit: the latest web visit with campaign tags (utm) of the customer at most
--      `acquisition_lookback_days` before the first order: the tagged campaign's channel, else the
--      utm_medium mapped by `utm_medium_channels`;
--   4. none: 'store' for a first purchase in a store, 'direct' for one in the webshop.

{%- set marts = var('marts') %}
{%- set medium_channels = marts['utm_medium_channels'] or {} %}
{%- set lookback_start = dbt.dateadd('day', -marts['acquisition_lookback_days'], 'first_orders.ordered_at') %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

history as (
    select min(order_date) as first_order_date
    from {{ ref('fct_orders') }}
),

orders as (
    select
        orders.order_key,
        orders.order_id,
        orders.customer_key,
        orders.sales_channel,
        orders.ordered_at,
        orders.order_date
    from {{ ref('fct_orders') }} as orders
    cross join as_of
    where
        orders.customer_key is not null
        and orders.is_revenue
        and orders.order_date <= as_of.as_of_date
),

first_orders as (
    {{ deduplicate('orders', partition_by='customer_key', order_by='ordered_at, order_key') }}
),

campaigns as (
    select
        campaign_id,
        channel
    from {{ ref('stg_campaigns__campaigns') }}
),

-- responses of treated contacts that name a first order, with the contact's latest exposure before it
treated_responses as (
    select
        first_orders.customer_key,
        responses.campaign_id,
        responses.response_type,
        max(exposures.exposed_at) as last_exposed_at
    from first_orders
    inner join {{ ref('stg_campaigns__responses') }} as responses
        on first_orders.order_id = responses.order_reference
    inner join {{ ref('stg_campaigns__exposures') }} as exposures
        on
            responses.campaign_id = exposures.campaign_id
            and responses.recipient_type = exposures.recipient_type
            and responses.recipient_id = exposures.recipient_id
            and not coalesce(exposures.is_control, false)
            and first_orders.ordered_at >= exposures.exposed_at
    where responses.response_type in ('purchase', 'coupon_redeemed')
    group by
        first_orders.customer_key,
        responses.campaign_id,
        responses.response_type
),

response_touch as (
    {{ deduplicate(
        'treated_responses',
        partition_by='customer_key',
        order_by="case when response_type = 'coupon_redeemed' then 0 else 1 end, last_exposed_at desc, campaign_id"
    ) }}
),

web_visits as (
    select
        identity_map.customer_key,
        events.event_id,
        events.event_at,
        events.utm_medium,
        events.utm_campaign
    from {{ ref('stg_web__events') }} as events
    inner join {{ ref('customer_identity_map') }} as identity_map
        on
            identity_map.source_system = 'web'
            and identity_map.source_table = 'events'
            and events.event_id = identity_map.source_record_id
    where
        identity_map.customer_key is not null
        and (events.utm_medium is not null or events.utm_campaign is not null)
),

tagged_visits as (
    select
        first_orders.customer_key,
        web_visits.event_id,
        web_visits.event_at,
        web_visits.utm_campaign,
        coalesce(
            campaigns.channel,
            case lower(web_visits.utm_medium)
                {%- for medium, channel in medium_channels.items() %}
                    when '{{ medium }}' then '{{ channel }}'
                {%- endfor %}
                else lower(web_visits.utm_medium)
            end
        ) as channel,
        campaigns.campaign_id
    from first_orders
    inner join web_visits
        on
            first_orders.customer_key = web_visits.customer_key
            and web_visits.event_at between {{ lookback_start }} and first_orders.ordered_at
    left join campaigns
        on web_visits.utm_campaign = campaigns.campaign_id
),

visit_touch as (
    {{ deduplicate('tagged_visits', partition_by='customer_key', order_by='event_at desc, event_id') }}
),

attributed as (
    select
        first_orders.customer_key,
        first_orders.order_key,
        first_orders.sales_channel,
        first_orders.ordered_at,
        first_orders.order_date,
        case
            when
                first_orders.order_date
                < {{ dbt.dateadd('day', marts['acquisition_lead_in_days'], 'history.first_order_date') }}
                then 'before_history'
            when response_touch.customer_key is not null then 'campaign_response'
            when visit_touch.customer_key is not null and visit_touch.channel is not null then 'web_visit'
            else 'none'
        end as acquisition_source,
        response_touch.campaign_id as response_campaign_id,
        response_campaign.channel as response_channel,
        visit_touch.campaign_id as visit_campaign_id,
        visit_touch.channel as visit_channel
    from first_orders
    cross join history
    left join response_touch
        on first_orders.customer_key = response_touch.customer_key
    left join campaigns as response_campaign
        on response_touch.campaign_id = response_campaign.campaign_id
    left join visit_touch
        on first_orders.customer_key = visit_touch.customer_key
)

select
    customer_key,
    order_key as first_order_key,
    sales_channel as first_order_sales_channel,
    ordered_at as first_ordered_at,
    order_date as acquisition_date,
    cast({{ dbt.date_trunc('month', 'order_date') }} as date) as acquisition_month,
    acquisition_source,
    case acquisition_source
        when 'before_history' then 'before_history'
        when 'campaign_response' then coalesce(response_channel, 'unknown')
        when 'web_visit' then visit_channel
        else case when sales_channel = 'store' then 'store' else 'direct' end
    end as acquiring_channel,
    case acquisition_source
        when 'campaign_response' then response_campaign_id
        when 'web_visit' then visit_campaign_id
    end as acquiring_campaign_id,
    acquisition_source <> 'before_history' as is_acquisition
from attributed
