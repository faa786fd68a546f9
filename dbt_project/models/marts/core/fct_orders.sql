-- One row per webshop order or store receipt (grain: order_key), linked to the buyer's customer_key
-- where known. Money is the sum of its lines (revenue = after discounts, excluding shipping); the
-- main product line is the one with the highest revenue in the order.

with

lines as (
    select * from {{ ref('fct_order_lines') }}
),

main_product_line as (
    {{ deduplicate(
        'lines',
        partition_by='order_key',
        order_by='revenue desc nulls last, order_line_key'
    ) }}
),

totals as (
    select
        order_key,
        count(*) as line_count,
        cast(sum(quantity) as {{ dbt.type_bigint() }}) as item_count,
        count(distinct product_line) as product_line_count,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(revenue) as revenue,
        sum(cost) as cost,
        sum(margin) as margin
    from lines
    group by order_key
),

headers as (
    select
        {{ dbt.concat(["'webshop:'", 'order_id']) }} as order_key,
        coupon_code,
        cast(null as {{ dbt.type_string() }}) as payment_method,
        coalesce(shipping_amount, 0) as shipping_amount,
        total_amount
    from {{ ref('stg_webshop__orders') }}
    union all
    select
        {{ dbt.concat(["'pos:'", 'receipt_id']) }} as order_key,
        coupon_code,
        payment_method,
        0 as shipping_amount,
        total_amount
    from {{ ref('stg_pos__receipts') }}
)

select
    main_product_line.order_key,
    main_product_line.order_id,
    main_product_line.customer_key,
    main_product_line.source_system,
    main_product_line.source_table,
    main_product_line.sales_channel,
    main_product_line.store_id,
    main_product_line.product_line as main_product_line,
    headers.coupon_code,
    headers.payment_method,
    main_product_line.order_status,
    main_product_line.is_revenue,
    totals.line_count,
    totals.item_count,
    totals.product_line_count,
    totals.gross_amount,
    totals.discount_amount,
    totals.revenue,
    totals.cost,
    totals.margin,
    headers.shipping_amount,
    headers.total_amount,
    main_product_line.ordered_at,
    main_product_line.order_date
from main_product_line
inner join totals
    on main_product_line.order_key = totals.order_key
left join headers
    on main_product_line.order_key = headers.order_key
