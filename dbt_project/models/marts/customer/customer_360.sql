-- One row per customer_key (grain: customer_key): the table BI users start from. The golden profile
-- and consent (dim_customer), demographics of the postcode area, RFM segment and value tier,
-- engagement and relationship stage, loyalty, channel preferences over the product lines, economics,
-- service tier and the one offer that holds in every channel. Each part is computed in its own mart;
-- this table only joins them on customer_key.

with

customers as (
    select * from {{ ref('dim_customer') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

demographics as (
    select * from {{ ref('stg_thirdparty__demographics') }}
),

-- per customer over all product lines: where they research, buy and respond most
channel_lines as (
    select
        customer_key,
        product_line,
        research_touchpoints,
        preferred_research_channel,
        purchases,
        purchases_online,
        purchases_store,
        responses,
        preferred_response_channel,
        is_research_online_buy_offline,
        row_number() over (
            partition by customer_key order by research_touchpoints desc, product_line asc
        ) as research_rank,
        row_number() over (
            partition by customer_key order by responses desc, product_line asc
        ) as response_rank
    from {{ ref('customer_channel_preference') }}
),

channels as (
    select
        customer_key,
        count(*) as active_product_lines,
        max(case when research_rank = 1 and research_touchpoints > 0 then preferred_research_channel end)
            as preferred_research_channel,
        case
            when sum(purchases_online) > sum(purchases_store) then 'online'
            when sum(purchases_store) > sum(purchases_online) then 'store'
            when sum(purchases) > 0 then 'both'
        end as preferred_buy_channel,
        max(case when response_rank = 1 and responses > 0 then preferred_response_channel end)
            as preferred_response_channel,
        {{ sorted_list("case when is_research_online_buy_offline then product_line end", ', ') }}
            as research_online_buy_offline_lines
    from channel_lines
    group by customer_key
)

select
    -- ids
    customers.customer_key,

    -- golden profile (restricted: names and contact details; bi.customer_360 leaves them out)
    customers.is_known,
    customers.first_name,
    customers.surname_infix,
    customers.last_name,
    customers.gender,
    customers.birth_date,
    cast(
        floor({{ dbt.datediff('customers.birth_date', 'as_of.as_of_date', 'day') }} / 365.25)
        as {{ dbt.type_int() }}
    ) as age,
    customers.email,
    customers.phone,
    customers.street,
    customers.house_number,
    customers.house_number_suffix,
    customers.postcode,
    demographics.postcode4,
    customers.city,

    -- consent: the most recent explicit choice per channel
    customers.has_email_consent,
    customers.has_sms_consent,
    customers.has_phone_consent,
    customers.has_post_consent,
    customers.has_social_consent,

    -- demographics of the postcode area (third party, by PC4)
    demographics.municipality,
    demographics.urbanisation,
    demographics.avg_household_size,
    demographics.median_household_income,
    demographics.pct_higher_education,
    demographics.avg_house_value,
    demographics.reference_year as demographics_year,

    -- RFM and value (customer_segments)
    segments.buyer_status,
    segments.first_order_date,
    segments.last_order_date,
    segments.recency_days,
    segments.lifetime_orders,
    segments.orders_in_window,
    segments.revenue_in_window,
    segments.margin_in_window,
    segments.r_score,
    segments.f_score,
    segments.m_score,
    segments.rfm_segment,
    segments.value_tier,
    segments.top_purchase_product_line,
    segments.top_research_product_line,

    -- engagement (customer_engagement)
    engagement.engagement_points,
    engagement.engagement_points_365d,
    engagement.decayed_engagement_points,
    engagement.relationship_stage,
    engagement.last_interaction_at,

    -- loyalty (customer_loyalty)
    loyalty.loyalty_tier,
    loyalty.points_balance as loyalty_points_balance,
    loyalty.points_earned_365d as loyalty_points_earned_365d,
    coalesce(loyalty.active_cards, 0) as loyalty_active_cards,

    -- channel preferences over the product lines (customer_channel_preference)
    coalesce(channels.active_product_lines, 0) as active_product_lines,
    channels.preferred_research_channel,
    channels.preferred_buy_channel,
    channels.preferred_response_channel,
    channels.research_online_buy_offline_lines,
    channels.research_online_buy_offline_lines is not null as is_research_online_buy_offline,

    -- economics (customer_economics)
    economics.acquisition_date,
    economics.acquiring_channel,
    economics.orders,
    economics.revenue,
    economics.margin,
    economics.acquisition_cost,
    economics.service_cost,
    economics.retention_cost,
    economics.contribution,
    economics.is_negative_margin,
    economics.is_negative_contribution,

    -- service tier (customer_service_tier)
    service.service_tier,
    service.queue as service_queue,
    service.routing as service_routing,

    -- the one offer, valid in every channel (customer_offers)
    offers.has_offer,
    offers.offer_type,
    offers.coupon_code as offer_coupon_code,
    offers.discount_pct as offer_discount_pct,
    offers.discount_amount as offer_discount_amount,
    offers.valid_until as offer_valid_until,
    offers.valid_in_channels as offer_valid_in_channels,
    offers.contact_channel,

    -- lineage
    customers.source_systems,
    customers.records_total,
    customers.first_seen_at,
    customers.last_seen_at,
    as_of.as_of_date
from customers
cross join as_of
left join demographics
    on substring(customers.postcode, 1, 4) = demographics.postcode4
left join {{ ref('customer_segments') }} as segments
    on customers.customer_key = segments.customer_key
left join {{ ref('customer_engagement') }} as engagement
    on customers.customer_key = engagement.customer_key
left join {{ ref('customer_loyalty') }} as loyalty
    on customers.customer_key = loyalty.customer_key
left join channels
    on customers.customer_key = channels.customer_key
left join {{ ref('customer_economics') }} as economics
    on customers.customer_key = economics.customer_key
left join {{ ref('customer_service_tier') }} as service
    on customers.customer_key = service.customer_key
left join {{ ref('customer_offers') }} as offers
    on customers.customer_key = offers.customer_key
