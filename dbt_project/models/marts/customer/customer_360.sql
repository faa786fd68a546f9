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

channels as (
    select * from {{ ref('int_customers__channel_summary') }}
),

-- the nightly scores (ml/scoring.py writes them between the dbt steps; before the first scoring the
-- table does not exist and the score columns are NULL)
{%- set scores_source = source('ml', 'customer_scores') %}
scores as (
    {%- if relation_exists(scores_source) %}
        select * from {{ scores_source }}
    {%- else %}
        select
            cast(null as {{ dbt.type_string() }}) as customer_key,
            cast(null as date) as score_date,
            cast(null as {{ type_double() }}) as purchase_propensity_30d,
            cast(null as {{ type_double() }}) as purchase_propensity_30d_incl_anonymous,
            cast(null as {{ type_double() }}) as churn_risk_180d,
            cast(null as {{ dbt.type_string() }}) as top_crosssell_product_line,
            cast(null as {{ type_double() }}) as top_crosssell_propensity_90d,
            cast(null as {{ type_double() }}) as expected_transactions_12m,
            cast(null as {{ type_double() }}) as p_alive,
            cast(null as {{ type_double() }}) as clv_12m,
            cast(null as {{ type_double() }}) as contribution_clv_12m,
            cast(null as {{ dbt.type_string() }}) as segment_name,
            cast(null as {{ dbt.type_string() }}) as next_best_action,
            cast(null as {{ dbt.type_string() }}) as action_product_line,
            cast(null as {{ dbt.type_string() }}) as action_channel,
            cast(null as {{ type_double() }}) as action_expected_value_eur
        where 1 = 0
    {%- endif %}
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

    -- nightly scores of the @champion models (ml.customer_scores; model versions and runs there)
    scores.score_date as scores_date,
    scores.purchase_propensity_30d,
    scores.purchase_propensity_30d_incl_anonymous,
    scores.churn_risk_180d,
    scores.top_crosssell_product_line,
    scores.top_crosssell_propensity_90d,
    scores.expected_transactions_12m,
    scores.p_alive,
    scores.clv_12m,
    scores.contribution_clv_12m,
    scores.segment_name as behavioural_segment,
    scores.next_best_action,
    scores.action_product_line,
    scores.action_channel,
    scores.action_expected_value_eur,

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
left join scores
    on customers.customer_key = scores.customer_key
