-- fct_orders for BI tools; no direct identifiers.

select
    order_key,
    order_id,
    customer_key,
    source_system,
    source_table,
    sales_channel,
    store_id,
    main_product_line,
    coupon_code,
    payment_method,
    order_status,
    is_revenue,
    line_count,
    item_count,
    product_line_count,
    gross_amount,
    discount_amount,
    revenue,
    cost,
    margin,
    shipping_amount,
    total_amount,
    ordered_at,
    order_date
from {{ ref('fct_orders') }}
