-- One row per customer and training cutoff (grain: customer_key x cutoff_date; the scoring cutoff has no
-- labels): what the customer did in the days after the cutoff, from revenue orders (fct_orders). A
-- window starts the day after the cutoff; a label is NULL while its window is not complete (it would
-- end after the as-of date). churned_180d is defined for the active only (a revenue order in the 365
-- days ending on the cutoff): NULL for the others. purchased_in_store_30d counts store receipts only: those
-- that reach a key carried a loyalty card (or another identifier), which is what the store-purchase model
-- learns from members (docs/ml.md#anonymous-purchases).

{%- set bigint = dbt.type_bigint() %}
{%- set int = dbt.type_int() %}

with

population as (
    select
        population.customer_key,
        population.cutoff_date,
        cutoffs.is_30d_window_complete,
        cutoffs.is_180d_window_complete,
        cutoffs.is_365d_window_complete
    from {{ ref('int_ml__customer_cutoffs') }} as population
    inner join {{ ref('int_ml__cutoffs') }} as cutoffs
        on population.cutoff_date = cutoffs.cutoff_date
    where not cutoffs.is_scoring_cutoff
),

orders as (
    select
        population.customer_key,
        population.cutoff_date,
        cast(orders.revenue as {{ type_double() }}) as revenue,
        cast(orders.margin as {{ type_double() }}) as margin,
        orders.sales_channel,
        {{ dbt.datediff('population.cutoff_date', 'orders.order_date', 'day') }} as days_after_cutoff
    from population
    inner join {{ ref('fct_orders') }} as orders
        on
            population.customer_key = orders.customer_key
            and orders.order_date > {{ dbt.dateadd('day', -365, 'population.cutoff_date') }}
            and orders.order_date <= {{ dbt.dateadd('day', 365, 'population.cutoff_date') }}
    where orders.is_revenue
),

order_counts as (
    select
        customer_key,
        cutoff_date,
        sum(case when days_after_cutoff <= 0 then 1 else 0 end) as orders_past_365d,
        sum(case when days_after_cutoff between 1 and 30 then 1 else 0 end) as orders_next_30d,
        sum(case when days_after_cutoff between 1 and 30 and sales_channel = 'store' then 1 else 0 end)
            as store_orders_next_30d,
        sum(case when days_after_cutoff between 1 and 180 then 1 else 0 end) as orders_next_180d,
        sum(case when days_after_cutoff >= 1 then 1 else 0 end) as orders_next_365d,
        sum(case when days_after_cutoff >= 1 then revenue else 0 end) as revenue_next_365d,
        sum(case when days_after_cutoff >= 1 then margin else 0 end) as margin_next_365d
    from orders
    group by customer_key, cutoff_date
)

select
    population.customer_key,
    population.cutoff_date,
    cast(case
        when population.is_30d_window_complete
            then case when coalesce(order_counts.orders_next_30d, 0) > 0 then 1 else 0 end
    end as {{ int }}) as purchased_30d,
    cast(case
        when population.is_30d_window_complete
            then case when coalesce(order_counts.store_orders_next_30d, 0) > 0 then 1 else 0 end
    end as {{ int }}) as purchased_in_store_30d,
    cast(case
        when population.is_180d_window_complete and coalesce(order_counts.orders_past_365d, 0) > 0
            then case when order_counts.orders_next_180d = 0 then 1 else 0 end
    end as {{ int }}) as churned_180d,
    cast(case
        when population.is_365d_window_complete then coalesce(order_counts.orders_next_365d, 0)
    end as {{ bigint }}) as future_orders_365d,
    cast(case
        when population.is_365d_window_complete then coalesce(order_counts.revenue_next_365d, 0)
    end as {{ type_double() }}) as future_spend_365d,
    cast(case
        when population.is_365d_window_complete then coalesce(order_counts.margin_next_365d, 0)
    end as {{ type_double() }}) as future_margin_365d
from population
left join order_counts
    on
        population.customer_key = order_counts.customer_key
        and population.cutoff_date = order_counts.cutoff_date
