-- One row per customer (grain: customer_key of dim_customer): the service tier and the routing it
-- implies (seeds/service_tiers.csv). The margin tier is the customer's value tier of
-- customer_segments (rank of margin in the RFM window among buyers, `value_tiers`), so both marts
-- always agree. With `service_tier_basis: clv` a customer gets the better of the margin tier and the
-- CLV tier (the same top shares applied to the CLV score), unless their contribution is negative:
-- such customers are never upgraded. The CLV is the nightly 12-month CLV of ml.customer_scores; before
-- the first scoring `clv` is NULL and the service tier is the margin tier whatever the basis.

{%- set marts = var('marts') %}
{%- set basis = marts['service_tier_basis'] %}
{%- if basis not in ['margin', 'clv'] %}
    {{ exceptions.raise_compiler_error("var marts.service_tier_basis must be 'margin' or 'clv', not '" ~ basis ~ "'") }}
{%- endif %}

with

segments as (
    select
        customer_key,
        margin_in_window,
        value_tier
    from {{ ref('customer_segments') }}
),

economics as (
    select
        customer_key,
        contribution,
        is_negative_contribution,
        as_of_date
    from {{ ref('customer_economics') }}
),

tiers as (
    select
        tier,
        tier_rank,
        queue,
        first_contact,
        target_response_minutes,
        routing
    from {{ ref('service_tiers') }}
),

-- the nightly CLV scores (ml/scoring.py writes them between the dbt steps)
{%- set scores_source = source('ml', 'customer_scores') %}
clv_scores as (
    {%- if relation_exists(scores_source) %}
        select
            customer_key,
            cast(clv_12m as {{ dbt.type_numeric() }}) as clv
        from {{ scores_source }}
    {%- else %}
        select
            customer_key,
            cast(null as {{ dbt.type_numeric() }}) as clv
        from economics
        where 1 = 0
    {%- endif %}
),

-- the tier shares apply to the customers with a positive CLV, as the margin tiers to the buyers: a
-- crowd of equal (zero) CLVs shares one rank and would otherwise all land in one high tier
clv_ranked as (
    select
        customer_key,
        rank() over (order by clv desc) - 1 as clv_position,
        count(*) over () as valued_customers
    from clv_scores
    where clv > 0
),

clv_tiers as (
    select
        clv_scores.customer_key,
        clv_scores.clv,
        case
            when clv_ranked.customer_key is null then '{{ marts["value_tier_non_buyer"] }}'
            {%- set ns = namespace(cumulative=0) %}
            {%- for tier in marts['value_tiers'] %}
                {%- set ns.cumulative = ns.cumulative + tier['top_share'] %}
                when clv_ranked.clv_position < {{ '%.10f' | format(ns.cumulative) }} * clv_ranked.valued_customers
                    then '{{ tier["tier"] }}'
            {%- endfor %}
            else '{{ marts["value_tier_rest"] }}'
        end as clv_tier
    from clv_scores
    left join clv_ranked
        on clv_scores.customer_key = clv_ranked.customer_key
    where clv_scores.clv is not null
),

combined as (
    select
        economics.customer_key,
        economics.as_of_date,
        segments.margin_in_window,
        segments.value_tier as margin_tier,
        margin_tiers.tier_rank as margin_tier_rank,
        clv_tiers.clv,
        clv_tiers.clv_tier,
        clv_tier_ranks.tier_rank as clv_tier_rank,
        economics.contribution,
        coalesce(economics.is_negative_contribution, false) as is_upgrade_blocked
    from economics
    left join segments
        on economics.customer_key = segments.customer_key
    left join tiers as margin_tiers
        on segments.value_tier = margin_tiers.tier
    left join clv_tiers
        on economics.customer_key = clv_tiers.customer_key
    left join tiers as clv_tier_ranks
        on clv_tiers.clv_tier = clv_tier_ranks.tier
),

chosen as (
    select
        *,
        {%- if basis == 'clv' %}
            coalesce(
                not is_upgrade_blocked and clv_tier_rank < margin_tier_rank, false
            ) as is_upgraded_by_clv
        {%- else %}
            false as is_upgraded_by_clv
        {%- endif %}
    from combined
)

select
    chosen.customer_key,
    chosen.margin_in_window,
    chosen.margin_tier,
    chosen.clv,
    chosen.clv_tier,
    '{{ basis }}' as service_tier_basis,
    case when chosen.is_upgraded_by_clv then chosen.clv_tier else chosen.margin_tier end as service_tier,
    tiers.tier_rank as service_tier_rank,
    tiers.queue,
    tiers.first_contact,
    tiers.target_response_minutes,
    tiers.routing,
    chosen.is_upgraded_by_clv,
    chosen.contribution,
    chosen.is_upgrade_blocked,
    chosen.as_of_date
from chosen
left join tiers
    on case when chosen.is_upgraded_by_clv then chosen.clv_tier else chosen.margin_tier end = tiers.tier
