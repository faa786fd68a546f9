-- One row per customer, cutoff date and product line with activity in the line (grain: customer_key x
-- cutoff_date x product_line): research of the line in the 90 days ending on the cutoff, or a revenue
-- purchase in it on or before the cutoff. Research is a touchpoint naming the line whose type is in
-- `marts.research_interaction_types` (service contacts only on `marts.research_service_topics`), as in
-- customer_channel_preference. Lines without a row have zero activity (the ML side fills 0).

{%- set marts = var('marts') %}
{%- set bigint = dbt.type_bigint() %}
{%- set int = dbt.type_int() %}

with

population as (
    select
        customer_key,
        cutoff_date
    from {{ ref('int_ml__customer_cutoffs') }}
),

line_touchpoints as (
    select
        population.customer_key,
        population.cutoff_date,
        interactions.product_line,
        interactions.interaction_type,
        {{ dbt.datediff('interactions.interaction_date', 'population.cutoff_date', 'day') }} as age_days
    from population
    inner join {{ ref('fct_interactions') }} as interactions
        on
            population.customer_key = interactions.customer_key
            and population.cutoff_date >= interactions.interaction_date
            and interactions.interaction_date > {{ dbt.dateadd('day', -90, 'population.cutoff_date') }}
    left join {{ ref('stg_service__contacts') }} as service
        on
            interactions.source_system = 'service'
            and interactions.source_table = 'contacts'
            and interactions.source_record_id = service.contact_id
    where
        interactions.product_line is not null
        and interactions.interaction_type in ({{ "'" ~ marts["research_interaction_types"] | join("', '") ~ "'" }})
        -- a complaint or a return is no research: only the service topics that ask before buying
        and (
            service.contact_id is null
            or service.topic in ({{ "'" ~ marts["research_service_topics"] | join("', '") ~ "'" }})
        )
),

line_research as (
    select
        customer_key,
        cutoff_date,
        product_line,
        count(*) as line_research_90d,
        sum(case when interaction_type = 'product_view' then 1 else 0 end) as line_product_views_90d
    from line_touchpoints
    group by customer_key, cutoff_date, product_line
),

line_purchases as (
    select
        population.customer_key,
        population.cutoff_date,
        lines.product_line,
        count(distinct case
            when lines.order_date > {{ dbt.dateadd('day', -365, 'population.cutoff_date') }} then lines.order_key
        end) as line_orders_365d,
        sum(case
            when lines.order_date > {{ dbt.dateadd('day', -365, 'population.cutoff_date') }} then lines.revenue
            else 0
        end) as line_revenue_365d,
        min({{ dbt.datediff('lines.order_date', 'population.cutoff_date', 'day') }}) as days_since_line_purchase
    from population
    inner join {{ ref('fct_order_lines') }} as lines
        on
            population.customer_key = lines.customer_key
            and population.cutoff_date >= lines.order_date
    where lines.is_revenue and lines.product_line is not null
    group by population.customer_key, population.cutoff_date, lines.product_line
),

active_lines as (
    select
        customer_key,
        cutoff_date,
        product_line
    from line_research
    union
    select
        customer_key,
        cutoff_date,
        product_line
    from line_purchases
)

select
    active_lines.customer_key,
    active_lines.cutoff_date,
    active_lines.product_line,
    cast(coalesce(line_research.line_research_90d, 0) as {{ bigint }}) as line_research_90d,
    cast(coalesce(line_research.line_product_views_90d, 0) as {{ bigint }}) as line_product_views_90d,
    cast(coalesce(line_purchases.line_orders_365d, 0) as {{ bigint }}) as line_orders_365d,
    cast(coalesce(line_purchases.line_revenue_365d, 0) as {{ type_double() }}) as line_revenue_365d,
    cast(line_purchases.days_since_line_purchase as {{ int }}) as days_since_line_purchase
from active_lines
left join line_research
    on
        active_lines.customer_key = line_research.customer_key
        and active_lines.cutoff_date = line_research.cutoff_date
        and active_lines.product_line = line_research.product_line
left join line_purchases
    on
        active_lines.customer_key = line_purchases.customer_key
        and active_lines.cutoff_date = line_purchases.cutoff_date
        and active_lines.product_line = line_purchases.product_line
