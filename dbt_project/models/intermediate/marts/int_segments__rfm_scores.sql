-- One row per segmentation snapshot and customer who bought in the RFM window before it (grain:
-- snapshot_date, customer_key): recency, frequency, monetary value and margin in the
-- `rfm_window_days` days before the snapshot date, the r/f/m scores 1-5, the named RFM segment
-- (seeds/rfm_segments.csv) and the value tier (`value_tiers` by margin).
--
-- Scores are quintiles among the snapshot's buyers: a customer's position is the number of buyers
-- strictly worse than them (rank() - 1, so ties share the position of the first of their group and
-- thus one score), and the score is 1 + the number of fifths of the buyers that position reaches,
-- 1 + #{j in 1..4 : 5 x position >= j x buyers} (macro quantile_score). Recency ranks by the last
-- order date, frequency by the number of orders, monetary by revenue; more recent / more / higher is
-- better. fm_score is the mean of f_score and m_score rounded half up. Value tiers rank the buyers by
-- margin (highest first, unknown margin last): a tier takes the positions below its cumulative top
-- share x buyers (macro value_tier_of_position).

{%- set marts = var('marts') %}
{%- set window_days = marts['rfm_window_days'] | int %}

with

snapshots as (
    select
        snapshot_date,
        reference_date
    from {{ ref('int_segments__snapshot_dates') }}
),

orders as (
    select
        customer_key,
        order_key,
        order_date,
        revenue,
        margin
    from {{ ref('fct_orders') }}
    where is_revenue and customer_key is not null and order_date is not null
),

window_orders as (
    select
        snapshots.snapshot_date,
        snapshots.reference_date,
        orders.customer_key,
        orders.order_key,
        orders.order_date,
        orders.revenue,
        orders.margin
    from snapshots
    inner join orders
        on
            snapshots.snapshot_date > orders.order_date
            and {{ dbt.dateadd('day', -window_days, 'snapshots.snapshot_date') }} <= orders.order_date
),

buyers as (
    select
        snapshot_date,
        customer_key,
        max(reference_date) as reference_date,
        max(order_date) as last_order_date,
        count(distinct order_key) as orders_in_window,
        coalesce(sum(revenue), 0) as revenue_in_window,
        sum(margin) as margin_in_window
    from window_orders
    group by snapshot_date, customer_key
),

ranked as (
    select
        *,
        count(*) over (partition by snapshot_date) as buyers_in_snapshot,
        rank() over (partition by snapshot_date order by last_order_date asc) - 1 as recency_position,
        rank() over (partition by snapshot_date order by orders_in_window asc) - 1 as frequency_position,
        rank() over (partition by snapshot_date order by revenue_in_window asc) - 1 as monetary_position,
        rank() over (
            partition by snapshot_date order by margin_in_window desc nulls last
        ) - 1 as margin_position
    from buyers
),

scored as (
    select
        *,
        {{ quantile_score('recency_position', 'buyers_in_snapshot') }} as r_score,
        {{ quantile_score('frequency_position', 'buyers_in_snapshot') }} as f_score,
        {{ quantile_score('monetary_position', 'buyers_in_snapshot') }} as m_score,
        {{ value_tier_of_position('margin_position', 'buyers_in_snapshot') }} as value_tier
    from ranked
),

combined as (
    select
        *,
        cast(floor((f_score + m_score + 1) / 2.0) as {{ dbt.type_int() }}) as fm_score
    from scored
)

select
    combined.snapshot_date,
    combined.customer_key,
    combined.reference_date,
    combined.last_order_date,
    cast({{ dbt.datediff('combined.last_order_date', 'combined.reference_date', 'day') }} as {{ dbt.type_int() }})
        as recency_days,
    cast(combined.orders_in_window as {{ dbt.type_int() }}) as orders_in_window,
    combined.revenue_in_window,
    combined.margin_in_window,
    cast(combined.r_score as {{ dbt.type_int() }}) as r_score,
    cast(combined.f_score as {{ dbt.type_int() }}) as f_score,
    cast(combined.m_score as {{ dbt.type_int() }}) as m_score,
    combined.fm_score,
    segments.rfm_segment,
    combined.value_tier
from combined
left join {{ ref('rfm_segments') }} as segments
    on
        segments.buyer_status = 'in_window'
        and combined.r_score between segments.r_score_min and segments.r_score_max
        and combined.fm_score between segments.fm_score_min and segments.fm_score_max
