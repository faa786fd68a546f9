-- One row per known person and anchor touch (grain: anchor_type x anchor_id x customer_key), with what
-- followed it within `marts.conversion_window_days` days. Anchors are a person's first touch of a content
-- item (anchor_type `content`, anchor_id = fct_interactions.content_id) and their first touch of any
-- content in a calendar month (anchor_type `baseline`, anchor_id = the month's first day): one logic for
-- the items and for the baseline they are compared with. Touches and orders up to the as-of date only.

{%- set window_days = var('marts')['conversion_window_days'] %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

content_touches as (
    select
        interactions.content_id,
        interactions.customer_key,
        interactions.interaction_at
    from {{ ref('fct_interactions') }} as interactions
    cross join as_of
    where
        interactions.content_id is not null
        and interactions.customer_key is not null
        and interactions.interaction_date <= as_of.as_of_date
),

anchors as (
    select
        'content' as anchor_type,
        content_id as anchor_id,
        customer_key,
        min(interaction_at) as first_touch_at
    from content_touches
    group by content_id, customer_key
    union all
    select
        'baseline' as anchor_type,
        cast(cast({{ dbt.date_trunc('month', 'interaction_at') }} as date) as {{ dbt.type_string() }}) as anchor_id,
        customer_key,
        min(interaction_at) as first_touch_at
    from content_touches
    group by
        cast(cast({{ dbt.date_trunc('month', 'interaction_at') }} as date) as {{ dbt.type_string() }}), customer_key
),

orders as (
    select
        orders.customer_key,
        orders.ordered_at
    from {{ ref('fct_orders') }} as orders
    cross join as_of
    where
        orders.customer_key is not null
        and orders.is_revenue
        and orders.order_date <= as_of.as_of_date
),

order_history as (
    select
        anchors.anchor_type,
        anchors.anchor_id,
        anchors.customer_key,
        anchors.first_touch_at,
        sum(case when orders.ordered_at < anchors.first_touch_at then 1 else 0 end) as orders_before,
        min(case when orders.ordered_at > anchors.first_touch_at then orders.ordered_at end) as next_order_at
    from anchors
    left join orders
        on anchors.customer_key = orders.customer_key
    group by
        anchors.anchor_type,
        anchors.anchor_id,
        anchors.customer_key,
        anchors.first_touch_at
),

outcomes as (
    select
        order_history.*,
        coalesce(
            order_history.next_order_at <= {{ dbt.dateadd('day', window_days, 'order_history.first_touch_at') }},
            false
        ) as purchased_in_window,
        -- the whole window lies on or before the as-of date: the outcome is known
        cast({{ dbt.dateadd('day', window_days, 'order_history.first_touch_at') }} as date)
        <= as_of.as_of_date as is_window_complete
    from order_history
    cross join as_of
)

select
    anchor_type,
    anchor_id,
    customer_key,
    first_touch_at,
    cast({{ dbt.date_trunc('month', 'first_touch_at') }} as date) as touch_month,
    cast(orders_before as {{ dbt.type_bigint() }}) as orders_before,
    case
        when orders_before = 0 then 'prospect'
        when orders_before = 1 then 'one_time_buyer'
        else 'repeat_buyer'
    end as buyer_status,
    next_order_at,
    is_window_complete,
    purchased_in_window,
    -- a value step: the first purchase (a prospect becomes a customer) or the first repeat purchase
    -- (a one-time buyer becomes a repeat buyer)
    purchased_in_window and orders_before < 2 as value_step_in_window
from outcomes
