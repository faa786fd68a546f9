-- One row per customer (grain: customer_key of dim_customer) as of int_as_of_date: RFM in the
-- `rfm_window_days` window (revenue orders of fct_orders), r/f/m scores 1-5 and the named RFM segment
-- (int_segments__rfm_scores, seeds/rfm_segments.csv), the value tier by margin, and the product line
-- they buy most and research most in the window.
-- Customers without a purchase in the window have no scores: `lapsed` when they bought before it,
-- `prospect` when never (the seed's rows for those buyer statuses), value tier `value_tier_non_buyer`.

{%- set marts = var('marts') %}
{%- set window_days = marts['rfm_window_days'] | int %}

with

snapshot as (
    select
        snapshot_date,
        reference_date as as_of_date,
        cast({{ dbt.dateadd('day', -window_days, 'snapshot_date') }} as date) as window_start_date
    from {{ ref('int_segments__snapshot_dates') }}
    where is_current
),

customers as (
    select customer_key from {{ ref('dim_customer') }}
),

order_history as (
    select
        orders.customer_key,
        min(orders.order_date) as first_order_date,
        max(orders.order_date) as last_order_date,
        count(*) as lifetime_orders
    from {{ ref('fct_orders') }} as orders
    cross join snapshot
    where
        orders.is_revenue
        and orders.customer_key is not null
        and orders.order_date < snapshot.snapshot_date
    group by orders.customer_key
),

scores as (
    select scores.*
    from {{ ref('int_segments__rfm_scores') }} as scores
    inner join snapshot
        on scores.snapshot_date = snapshot.snapshot_date
),

-- the product line bought most in the window: most orders with it, then most revenue, then by name
line_purchases as (
    select
        lines.customer_key,
        lines.product_line,
        count(distinct lines.order_key) as orders,
        sum(lines.revenue) as revenue
    from {{ ref('fct_order_lines') }} as lines
    cross join snapshot
    where
        lines.is_revenue
        and lines.customer_key is not null
        and lines.product_line is not null
        and lines.order_date >= snapshot.window_start_date
        and lines.order_date < snapshot.snapshot_date
    group by lines.customer_key, lines.product_line
),

top_purchase_line as (
    {{ deduplicate(
        'line_purchases',
        partition_by='customer_key',
        order_by='orders desc, revenue desc nulls last, product_line'
    ) }}
),

-- the product line researched most in the window: touchpoints of `research_interaction_types` with
-- a product line (service contacts only on `research_service_topics`), as customer_channel_preference
line_research as (
    select
        interactions.customer_key,
        interactions.product_line,
        count(*) as touchpoints,
        max(interactions.interaction_at) as last_at
    from {{ ref('fct_interactions') }} as interactions
    cross join snapshot
    left join {{ ref('stg_service__contacts') }} as service
        on
            interactions.source_system = 'service'
            and interactions.source_table = 'contacts'
            and interactions.source_record_id = service.contact_id
    where
        interactions.customer_key is not null
        and interactions.product_line is not null
        and interactions.interaction_date >= snapshot.window_start_date
        and interactions.interaction_date < snapshot.snapshot_date
        and interactions.interaction_type in ('{{ marts["research_interaction_types"] | join("', '") }}') -- noqa: LT05
        and (
            service.contact_id is null
            or service.topic in ('{{ marts["research_service_topics"] | join("', '") }}')
        )
    group by interactions.customer_key, interactions.product_line
),

top_research_line as (
    {{ deduplicate(
        'line_research',
        partition_by='customer_key',
        order_by='touchpoints desc, last_at desc, product_line'
    ) }}
),

statuses as (
    select
        customers.customer_key,
        case
            when scores.customer_key is not null then 'in_window'
            when order_history.customer_key is not null then 'lapsed'
            else 'never_bought'
        end as buyer_status
    from customers
    left join scores
        on customers.customer_key = scores.customer_key
    left join order_history
        on customers.customer_key = order_history.customer_key
),

status_segments as (
    select
        buyer_status,
        rfm_segment
    from {{ ref('rfm_segments') }}
    where buyer_status <> 'in_window'
)

select
    statuses.customer_key,
    snapshot.as_of_date,
    snapshot.window_start_date,
    statuses.buyer_status,
    order_history.first_order_date,
    order_history.last_order_date,
    cast(
        {{ dbt.datediff('order_history.last_order_date', 'snapshot.as_of_date', 'day') }} as {{ dbt.type_int() }}
    ) as recency_days,
    cast(coalesce(order_history.lifetime_orders, 0) as {{ dbt.type_int() }}) as lifetime_orders,
    coalesce(scores.orders_in_window, 0) as orders_in_window,
    cast(coalesce(scores.revenue_in_window, 0) as {{ dbt.type_numeric() }}) as revenue_in_window,
    cast(case
        when scores.customer_key is null then 0 else scores.margin_in_window
    end as {{ dbt.type_numeric() }}) as margin_in_window,
    scores.r_score,
    scores.f_score,
    scores.m_score,
    scores.fm_score,
    case
        when scores.customer_key is not null
            then {{ dbt.concat([
                'cast(scores.r_score as ' ~ dbt.type_string() ~ ')',
                'cast(scores.f_score as ' ~ dbt.type_string() ~ ')',
                'cast(scores.m_score as ' ~ dbt.type_string() ~ ')'
            ]) }}
    end as rfm_cell,
    coalesce(scores.rfm_segment, status_segments.rfm_segment) as rfm_segment,
    segment_order.segment_order as rfm_segment_order,
    coalesce(scores.value_tier, '{{ marts["value_tier_non_buyer"] }}') as value_tier,
    top_purchase_line.product_line as top_purchase_product_line,
    top_research_line.product_line as top_research_product_line
from statuses
cross join snapshot
left join scores
    on statuses.customer_key = scores.customer_key
left join order_history
    on statuses.customer_key = order_history.customer_key
left join status_segments
    on statuses.buyer_status = status_segments.buyer_status
left join {{ ref('rfm_segments') }} as segment_order
    on coalesce(scores.rfm_segment, status_segments.rfm_segment) = segment_order.rfm_segment
left join top_purchase_line
    on statuses.customer_key = top_purchase_line.customer_key
left join top_research_line
    on statuses.customer_key = top_research_line.customer_key
