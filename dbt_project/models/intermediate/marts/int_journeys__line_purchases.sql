-- One row per purchase of a product line (grain: order_key x product_line): the revenue orders and
-- receipts of known customers up to the as-of date, split by the product lines of their order lines,
-- with the customer's web research in that line in the `marts.research_window_days` days before the
-- purchase (a store purchase after it is a research-online-buy-offline journey).

{%- set marts = var('marts') %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

line_purchases as (
    select
        lines.order_key,
        lines.product_line,
        lines.customer_key,
        lines.sales_channel,
        lines.store_id,
        lines.ordered_at,
        sum(lines.revenue) as revenue,
        sum(lines.quantity) as items
    from {{ ref('fct_order_lines') }} as lines
    cross join as_of
    where
        lines.customer_key is not null
        and lines.product_line is not null
        and lines.is_revenue
        and lines.order_date <= as_of.as_of_date
    group by
        lines.order_key,
        lines.product_line,
        lines.customer_key,
        lines.sales_channel,
        lines.store_id,
        lines.ordered_at
),

web_research as (
    select
        customer_key,
        product_line,
        interaction_at
    from {{ ref('fct_interactions') }}
    where
        customer_key is not null
        and product_line is not null
        and channel = 'web'
        and interaction_type in ({{ "'" ~ marts["research_interaction_types"] | join("', '") ~ "'" }})
),

researched as (
    select
        line_purchases.order_key,
        line_purchases.product_line,
        count(web_research.interaction_at) as web_research_touchpoints,
        min(web_research.interaction_at) as first_web_research_at
    from line_purchases
    left join web_research
        on
            line_purchases.customer_key = web_research.customer_key
            and line_purchases.product_line = web_research.product_line
            and line_purchases.ordered_at > web_research.interaction_at
            and web_research.interaction_at >= {{ dbt.dateadd(
                'day', -marts['research_window_days'], 'line_purchases.ordered_at'
            ) }}
    group by
        line_purchases.order_key,
        line_purchases.product_line
)

select
    line_purchases.order_key,
    line_purchases.product_line,
    line_purchases.customer_key,
    line_purchases.sales_channel,
    line_purchases.store_id,
    line_purchases.revenue,
    cast(line_purchases.items as {{ dbt.type_bigint() }}) as items,
    cast(researched.web_research_touchpoints as {{ dbt.type_bigint() }}) as web_research_touchpoints,
    researched.web_research_touchpoints > 0 as is_after_web_research,
    researched.first_web_research_at,
    line_purchases.ordered_at
from line_purchases
inner join researched
    on
        line_purchases.order_key = researched.order_key
        and line_purchases.product_line = researched.product_line
